/**
 * The sandbox's web server at http://127.0.0.1:3000:
 *   GET  /                        the page: the approval and monitoring channels, a change form
 *   GET  /sandbox/slack/messages  every posted message, latest state: [{channel, ts, text, blocks}]
 *   GET  /sandbox/events          server-sent events: a message posted or updated, a log line
 *   GET  /sandbox/groups          the security groups and their rules (the form, the live rules)
 *   POST /sandbox/change          make a change as alice or sso-bob (through the EC2 endpoint);
 *                                 `untracked: true` makes it with no CloudTrail event (missed);
 *                                 a bad field is a 400 whose error names it in plain English
 *   POST /sandbox/sweep           every member's drift check, now: {groups, drift, …} when done
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
import * as z from "zod";
import { UNTRACKED_HEADER } from "./ec2-proxy.js";
import { type LocalStack, SANDBOX } from "./stack.js";

const MAX_BODY = 256 * 1024;
const PAGE = new URL("./page.html", import.meta.url);

/** The sandbox's channels: the two configured ones and policy.example.json's #sg-prod. */
const CHANNEL_NAMES: Record<string, string> = {
  C0APPROVAL: "sg-approvals",
  C0MONITORING: "sg-monitoring",
  C0SGPROD001: "sg-prod",
};

export const SANDBOX_USERS = [
  { id: "U0ALICE", name: "alice", note: "the requester" },
  { id: "U0BOB", name: "bob", note: "approver" },
  { id: "U0CAROL", name: "carol", note: "approver" },
  { id: "U0MALLORY", name: "mallory", note: "not an approver" },
] as const;

/** Who may make a change from the form, by the access key the EC2 endpoint reads the caller from. */
export const CHANGE_IDENTITIES = [
  "alice",
  "sso-bob",
  "ci-deploy",
  "admin",
  "staging-dev",
  "staging-admin",
] as const;

/** "" or null in a form field means "not given". */
const blankToUndefined = (v: unknown) => (v === "" || v === null ? undefined : v);
const port = z.preprocess(blankToUndefined, z.coerce.number().int().min(-1).max(65535).optional());

const changeSchema = z
  .object({
    identity: z.enum(CHANGE_IDENTITIES),
    action: z.enum(["add", "remove"]),
    direction: z.enum(["ingress", "egress"]),
    groupId: z.string().regex(/^sg-[0-9a-f]+$/),
    protocol: z.enum(["tcp", "udp", "icmp", "-1"]),
    fromPort: port,
    toPort: port,
    cidr: z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/),
    description: z.preprocess(blankToUndefined, z.string().max(255).optional()),
    /** Made with x-sandbox-untracked: carried out, but CloudTrail "misses" it. */
    untracked: z.boolean().default(false),
  })
  .superRefine((c, ctx) => {
    if (c.protocol === "-1") return;
    if (c.fromPort === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["fromPort"],
        message: "From port is required for TCP, UDP and ICMP (a number from -1 to 65535)",
      });
    else if (c.toPort !== undefined && c.toPort !== -1 && c.toPort < c.fromPort)
      ctx.addIssue({
        code: "custom",
        path: ["toPort"],
        message: "To port must not be below From port",
      });
  });

/** What a bad field of the form means, in the words of the page's labels. */
const FIELD_MESSAGES: Record<string, string> = {
  identity: `As must be one of ${CHANGE_IDENTITIES.join(", ")}`,
  action: "Action must be add or remove",
  direction: "Direction must be ingress or egress",
  groupId: "Group must be a security group id like sg-0123456789abcdef0",
  protocol: "Protocol must be tcp, udp, icmp or -1 (all traffic)",
  fromPort: "From port must be a number from -1 to 65535",
  toPort: "To port must be a number from -1 to 65535",
  cidr: "CIDR must be an address range like 203.0.113.0/24 or ::/0",
  description: "Description must be text of at most 255 characters",
  untracked: "untracked must be true or false",
  user: `user must be one of the sandbox's Slack users (${SANDBOX_USERS.map((u) => u.id).join(", ")})`,
  actionId: "actionId must be approve or deny",
  requestId: "requestId must be the request id of the button",
  channel: "channel must be the channel id of the message",
  ts: "ts must be the timestamp of the message",
};

/** A failed parse as plain English: one sentence per bad field, each naming the field. */
function plainErrors(error: z.ZodError): string {
  const messages = error.issues.map((issue) => {
    const field = String(issue.path[0] ?? "");
    if (issue.code === "custom") return issue.message;
    return FIELD_MESSAGES[field] ?? (field ? `${field}: ${issue.message}` : issue.message);
  });
  return [...new Set(messages)].join("; ");
}

const clickSchema = z.object({
  user: z.enum(SANDBOX_USERS.map((u) => u.id) as [string, ...string[]]),
  actionId: z.enum(["approve", "deny"]),
  requestId: z.string(),
  channel: z.string(),
  ts: z.string(),
});

/** The JSON body of a request, or undefined when it is not JSON. */
async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const raw = await readBody(req);
  try {
    return JSON.parse(raw || "{}");
  } catch {
    return undefined;
  }
}
const NOT_JSON = { error: "The request body must be a JSON object" };

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
  const ec2For = (identity: string, untracked = false) => {
    const client = new EC2Client({
      endpoint: stack.ec2Endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: identity, secretAccessKey: "sandbox" },
      maxAttempts: 1,
    });
    if (untracked) {
      client.middlewareStack.add(
        (next) => async (args) => {
          const request = args.request as { headers?: Record<string, string> };
          if (request.headers) request.headers[UNTRACKED_HEADER] = "1";
          return next(args);
        },
        { step: "build", name: "sandboxUntracked" },
      );
    }
    return client;
  };
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
      const perAccount = await Promise.all(
        stack.members.map(async ({ member }) => {
          const reader = ec2For(member.adminAccessKey);
          const [{ SecurityGroups = [] }, { SecurityGroupRules = [] }] = await Promise.all([
            reader.send(new DescribeSecurityGroupsCommand({})),
            reader.send(new DescribeSecurityGroupRulesCommand({})),
          ]);
          return SecurityGroups.map((g) => ({
            account: member.account,
            alias: member.alias,
            groupId: g.GroupId,
            groupName: g.GroupName,
            rules: SecurityGroupRules.filter((r) => r.GroupId === g.GroupId),
          }));
        }),
      );
      send(res, 200, perAccount.flat());
    },
    "POST /sandbox/change": async (req, res) => {
      const input = await jsonBody(req);
      if (input === undefined) return send(res, 400, NOT_JSON);
      const parsed = changeSchema.safeParse(input);
      if (!parsed.success) return send(res, 400, { error: plainErrors(parsed.error) });
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
      const call = { GroupId: c.groupId, IpPermissions: [perm] };
      const ec2 = ec2For(c.identity, c.untracked);
      try {
        if (c.action === "add" && c.direction === "ingress")
          await ec2.send(new AuthorizeSecurityGroupIngressCommand(call));
        else if (c.action === "add") await ec2.send(new AuthorizeSecurityGroupEgressCommand(call));
        else if (c.direction === "ingress")
          await ec2.send(new RevokeSecurityGroupIngressCommand(call));
        else await ec2.send(new RevokeSecurityGroupEgressCommand(call));
        send(res, 200, { ok: true });
      } catch (err) {
        send(res, 400, {
          error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        });
      }
    },
    "POST /sandbox/click": async (req, res) => {
      const input = await jsonBody(req);
      if (input === undefined) return send(res, 400, NOT_JSON);
      const parsed = clickSchema.safeParse(input);
      if (!parsed.success) return send(res, 400, { error: plainErrors(parsed.error) });
      const { user, actionId, requestId, channel, ts } = parsed.data;
      const who = SANDBOX_USERS.find((u) => u.id === user);
      const payload = {
        type: "block_actions",
        user: { id: user, username: who?.name, name: who?.name, team_id: SANDBOX.teamId },
        api_app_id: SANDBOX.appId,
        token: "sandbox-verification-token",
        container: { type: "message", message_ts: ts, channel_id: channel, is_ephemeral: false },
        trigger_id: `${Date.now()}.sandbox`,
        team: { id: SANDBOX.teamId, domain: "sandbox" },
        channel: { id: channel, name: CHANNEL_NAMES[channel] ?? channel },
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
    "POST /sandbox/sweep": async (_req, res) => {
      const { groups, drift, ...rest } = await stack.sweep();
      send(res, 200, { groups, drift, ...rest });
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
