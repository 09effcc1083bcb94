/**
 * The sandbox's web server at http://127.0.0.1:3000:
 *   GET  /                        the page: the approval and monitoring channels, a change form
 *   GET  /sandbox/slack/messages  every posted message, latest state: [{channel, ts, text, blocks}]
 *   GET  /sandbox/events          server-sent events: a message posted or updated, a log line
 *   GET  /sandbox/groups          the security groups and their rules (for the form)
 *   POST /sandbox/change          make a change as alice or sso-bob (through the EC2 endpoint)
 *   POST /sandbox/click           a button click by a chosen Slack user: sent as Slack would,
 *                                 a signed form-encoded block_actions request to /slack/actions
 *   POST /slack/actions           the real buttonClick handler (API Gateway's route)
 */
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  type IpPermission,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import { z } from "zod";
import type { LocalStack } from "./stack.js";

const MAX_BODY = 256 * 1024;
const PAGE = new URL("./page.html", import.meta.url);

export const SANDBOX_USERS = [
  { id: "U0ALICE", name: "alice", note: "the requester" },
  { id: "U0BOB", name: "bob", note: "approver" },
  { id: "U0CAROL", name: "carol", note: "approver" },
  { id: "U0MALLORY", name: "mallory", note: "not an approver" },
] as const;

/** Who may make a change from the form, by the access key the EC2 endpoint reads the caller from. */
export const CHANGE_IDENTITIES = ["alice", "sso-bob", "admin"] as const;

const changeSchema = z.object({
  identity: z.enum(CHANGE_IDENTITIES),
  action: z.enum(["add", "remove"]),
  direction: z.enum(["ingress", "egress"]),
  groupId: z.string().regex(/^sg-[0-9a-f]+$/),
  protocol: z.enum(["tcp", "udp", "icmp", "-1"]),
  fromPort: z.coerce.number().int().min(-1).max(65535).optional(),
  toPort: z.coerce.number().int().min(-1).max(65535).optional(),
  cidr: z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, "a CIDR like 203.0.113.0/24 or ::/0"),
  description: z.string().max(255).optional(),
});

const clickSchema = z.object({
  user: z.enum(SANDBOX_USERS.map((u) => u.id) as [string, ...string[]]),
  actionId: z.enum(["approve", "deny"]),
  requestId: z.string(),
  channel: z.string(),
  ts: z.string(),
});

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error("body too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

const send = (res: ServerResponse, status: number, body: unknown, type = "application/json") => {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
};

export interface SandboxServer {
  url: string;
  port: number;
  /** Pushes a line to every open page (the flow log). */
  broadcast(event: { type: string; [k: string]: unknown }): void;
  stop(): Promise<void>;
}

export interface SandboxServerOptions {
  stack: LocalStack;
  port: number;
  host?: string;
}

export async function startSandboxServer({
  stack,
  port,
  host = "127.0.0.1",
}: SandboxServerOptions): Promise<SandboxServer> {
  const clients = new Set<ServerResponse>();
  const broadcast = (event: { type: string; [k: string]: unknown }) => {
    const data = `data: ${JSON.stringify(event)}\n\n`;
    for (const c of clients) c.write(data);
  };
  const unsubscribe = stack.slack.state.subscribe((e) => {
    if (e.type === "message_posted" || e.type === "message_updated") {
      const { channel, ts, text, blocks } = e.message;
      broadcast({ type: "message", message: { channel, ts, text, blocks } });
    } else if (e.type === "ephemeral_posted") {
      broadcast({ type: "ephemeral", ephemeral: e.ephemeral });
    }
  });
  const ec2For = (identity: string) =>
    new EC2Client({
      endpoint: stack.ec2Endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: identity, secretAccessKey: "sandbox" },
      maxAttempts: 1,
    });
  const reader = ec2For("admin");
  let self = "";

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>> = {
    "GET /": async (_req, res) =>
      send(res, 200, await readFile(PAGE, "utf8"), "text/html; charset=utf-8"),
    "GET /sandbox/slack/messages": async (_req, res) =>
      send(
        res,
        200,
        stack.slack.state
          .messages()
          .map(({ channel, ts, text, blocks }) => ({ channel, ts, text, blocks })),
      ),
    "GET /sandbox/users": async (_req, res) => send(res, 200, SANDBOX_USERS),
    "GET /sandbox/events": async (req, res) => {
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        connection: "keep-alive",
      });
      res.write(": connected\n\n");
      clients.add(res);
      req.on("close", () => clients.delete(res));
    },
    "GET /sandbox/groups": async (_req, res) => {
      const [{ SecurityGroups = [] }, { SecurityGroupRules = [] }] = await Promise.all([
        reader.send(new DescribeSecurityGroupsCommand({})),
        reader.send(new DescribeSecurityGroupRulesCommand({})),
      ]);
      send(
        res,
        200,
        SecurityGroups.map((g) => ({
          groupId: g.GroupId,
          groupName: g.GroupName,
          rules: SecurityGroupRules.filter((r) => r.GroupId === g.GroupId),
        })),
      );
    },
    "POST /sandbox/change": async (req, res) => {
      const parsed = changeSchema.safeParse(JSON.parse((await readBody(req)) || "{}"));
      if (!parsed.success)
        return send(res, 400, {
          error: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
        });
      const c = parsed.data;
      const v6 = c.cidr.includes(":");
      const perm: IpPermission = {
        IpProtocol: c.protocol,
        ...(c.protocol === "-1" ? {} : { FromPort: c.fromPort, ToPort: c.toPort ?? c.fromPort }),
        ...(v6
          ? {
              Ipv6Ranges: [
                { CidrIpv6: c.cidr, ...(c.description ? { Description: c.description } : {}) },
              ],
            }
          : {
              IpRanges: [
                { CidrIp: c.cidr, ...(c.description ? { Description: c.description } : {}) },
              ],
            }),
      };
      const input = { GroupId: c.groupId, IpPermissions: [perm] };
      const ec2 = ec2For(c.identity);
      try {
        if (c.action === "add" && c.direction === "ingress")
          await ec2.send(new AuthorizeSecurityGroupIngressCommand(input));
        else if (c.action === "add") await ec2.send(new AuthorizeSecurityGroupEgressCommand(input));
        else if (c.direction === "ingress")
          await ec2.send(new RevokeSecurityGroupIngressCommand(input));
        else await ec2.send(new RevokeSecurityGroupEgressCommand(input));
        send(res, 200, { ok: true });
      } catch (err) {
        send(res, 400, {
          error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        });
      }
    },
    "POST /sandbox/click": async (req, res) => {
      const parsed = clickSchema.safeParse(JSON.parse((await readBody(req)) || "{}"));
      if (!parsed.success) return send(res, 400, { error: parsed.error.issues[0]?.message });
      const { user, actionId, requestId, channel, ts } = parsed.data;
      const who = SANDBOX_USERS.find((u) => u.id === user);
      const payload = {
        type: "block_actions",
        user: { id: user, username: who?.name, name: who?.name, team_id: "T0SANDBOX" },
        api_app_id: "A0SANDBOX",
        token: "sandbox-verification-token",
        container: { type: "message", message_ts: ts, channel_id: channel, is_ephemeral: false },
        trigger_id: `${Date.now()}.sandbox`,
        team: { id: "T0SANDBOX", domain: "sandbox" },
        channel: { id: channel, name: channel === "C0APPROVAL" ? "sg-approvals" : "sg-monitoring" },
        message: stack.slack.state.message(channel, ts) ?? {},
        response_url: `${self}/sandbox/response-url`,
        actions: [
          {
            action_id: actionId,
            block_id: `decision:${requestId}`,
            type: "button",
            value: requestId,
            action_ts: `${Date.now() / 1000}`,
          },
        ],
      };
      const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
      // Sent over HTTP to our own /slack/actions, signed, exactly as Slack sends it.
      const signedRequest = stack.signedRequest(body);
      const answer = await fetch(`${self}/slack/actions`, {
        method: "POST",
        headers: signedRequest.headers,
        body,
      });
      send(res, 200, { status: answer.status, body: await answer.text() });
    },
    "POST /slack/actions": async (req, res) => {
      const rawBody = await readBody(req);
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [
          k,
          Array.isArray(v) ? v.join(",") : (v ?? ""),
        ]),
      );
      const result = await stack.buttonClick({ body: rawBody, headers });
      res.writeHead(result.statusCode, { ...(result.headers as Record<string, string>) });
      res.end(result.body);
    },
  };

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const route = routes[`${req.method} ${path}`];
    if (!route) return send(res, 404, { error: `no route ${req.method} ${path}` });
    route(req, res).catch((err: unknown) => {
      if (!res.headersSent)
        send(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  self = `http://${host}:${actual}`;
  return {
    url: self,
    port: actual,
    broadcast,
    stop: async () => {
      unsubscribe();
      for (const c of clients) c.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}
