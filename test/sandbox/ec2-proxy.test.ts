/**
 * The sandbox's EC2 proxy against real moto server and the real AWS SDK v3 EC2 client: calls pass
 * through unchanged, and each security-group write becomes the CloudTrail event AWS would send,
 * which our own parser turns back into exactly the change that was made.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  EC2Client,
  ModifySecurityGroupRulesCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroupRule,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AddChange, ModifyChange, RemoveChange } from "../../src/domain/change.js";
import { matchesGovernedPattern, parseCloudTrailEvent } from "../../src/domain/cloudtrail.js";
import { ruleFromSecurityGroupRule } from "../../src/domain/rule.js";
import { parseXml, XmlParseError } from "../../src/sandbox/cloudtrail/xml.js";
import {
  defaultIdentities,
  type Ec2Proxy,
  type EventBridgeEvent,
  startEc2Proxy,
} from "../../src/sandbox/ec2-proxy.js";
import { type MotoServer, startMoto } from "../../src/sandbox/moto.js";

const ACCOUNT = "111122223333";
const REGION = "us-east-1";
const FIXTURES = new URL("../fixtures/cloudtrail/", import.meta.url);
const fixture = (path: string): EventBridgeEvent =>
  JSON.parse(readFileSync(new URL(path, FIXTURES), "utf8")) as EventBridgeEvent;

type Json = Record<string, unknown>;

/** The structure of a JSON value: keys (sorted) and value types, recursively. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length ? [shape(value[0])] : [];
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, shape((value as Json)[k])]),
    );
  }
  return value === null ? "null" : typeof value;
}

/** Collects a proxy's events and waits for them. */
class Events {
  readonly all: EventBridgeEvent[] = [];
  private waiters: (() => void)[] = [];
  readonly push = (e: EventBridgeEvent) => {
    this.all.push(e);
    for (const w of this.waiters.splice(0)) w();
  };
  /** The next `n` events after the ones already taken. */
  async take(n = 1, timeoutMs = 3_000): Promise<EventBridgeEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.all.length < this.taken + n) {
      if (Date.now() > deadline) throw new Error(`expected ${n} more event(s)`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    const out = this.all.slice(this.taken, this.taken + n);
    this.taken += n;
    return out;
  }
  async one(): Promise<EventBridgeEvent> {
    const [e] = await this.take(1);
    if (!e) throw new Error("no event");
    return e;
  }
  /** Asserts nothing more arrives within `ms`. */
  async none(ms = 150): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    expect(this.all.slice(this.taken)).toEqual([]);
  }
  private taken = 0;
}

let moto: MotoServer;
let proxy: Ec2Proxy;
let failedProxy: Ec2Proxy;
const events = new Events();
const failedEvents = new Events();
const T0 = new Date("2026-05-21T09:15:00.123Z");

const client = (accessKeyId: string, endpoint = proxy.url) =>
  new EC2Client({
    region: REGION,
    endpoint,
    credentials: { accessKeyId, secretAccessKey: "x" },
    maxAttempts: 1,
  });
let alice: EC2Client;
let bob: EC2Client;
let vpcId: string;

async function newGroup(name: string): Promise<string> {
  const out = await alice.send(
    new CreateSecurityGroupCommand({ GroupName: name, Description: name, VpcId: vpcId }),
  );
  if (!out.GroupId) throw new Error("no group id");
  // CreateSecurityGroup is governed too (its default egress): its event comes first.
  const created = await events.one();
  expect(created.detail).toMatchObject({
    eventName: "CreateSecurityGroup",
    requestParameters: { groupName: name },
    responseElements: { groupId: out.GroupId },
  });
  return out.GroupId;
}

async function rulesOf(groupId: string): Promise<SecurityGroupRule[]> {
  const out = await alice.send(
    new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "group-id", Values: [groupId] }] }),
  );
  return out.SecurityGroupRules ?? [];
}

function parsed(event: EventBridgeEvent) {
  const result = parseCloudTrailEvent(event);
  if (result.ignored) throw new Error(`ignored: ${result.reason}`);
  return result.change;
}

beforeAll(async () => {
  moto = await startMoto();
  [proxy, failedProxy] = await Promise.all([
    startEc2Proxy({
      upstream: moto.endpoint,
      account: ACCOUNT,
      region: REGION,
      identities: defaultIdentities(ACCOUNT),
      onEvent: events.push,
      clock: () => T0,
      pinUpstreamAccount: true,
    }),
    startEc2Proxy({
      upstream: moto.endpoint,
      account: ACCOUNT,
      region: REGION,
      identities: defaultIdentities(ACCOUNT),
      onEvent: failedEvents.push,
      emitFailed: true,
      pinUpstreamAccount: true,
    }),
  ]);
  alice = client("alice");
  bob = client("sso-bob");
  const vpcs = await alice.send(new DescribeVpcsCommand({}));
  vpcId = vpcs.Vpcs?.[0]?.VpcId ?? "";
});

afterAll(async () => {
  await Promise.all([proxy?.stop(), failedProxy?.stop()]);
  await moto?.stop();
});

describe("forwarding", () => {
  let upstream: Server;
  let seen: { method?: string; url?: string; headers: string[]; body: Buffer }[] = [];
  let fake: Ec2Proxy;
  const fakeEvents = new Events();

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        seen.push({
          method: req.method,
          url: req.url,
          headers: req.rawHeaders,
          body: Buffer.concat(chunks),
        });
        res.writeHead(418, "I'm a teapot", { "x-answer": "42", "content-type": "text/odd" });
        res.write("first,");
        setTimeout(() => res.end("second"), 10);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
    fake = await startEc2Proxy({
      upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      account: ACCOUNT,
      region: REGION,
      onEvent: fakeEvents.push,
      emitFailed: true,
    });
  });
  afterAll(async () => {
    await fake.stop();
    await new Promise((r) => upstream.close(r));
  });

  const send = (method: string, path: string, headers: Record<string, string>, body?: Buffer) =>
    new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
      (resolve, reject) => {
        const req = request(`${fake.url}${path}`, { method, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString(),
            }),
          );
        });
        req.on("error", reject);
        req.end(body);
      },
    );

  it("passes method, path, headers and body through, and the answer back, for any service", async () => {
    seen = [];
    const json = Buffer.from(JSON.stringify({ TableName: "t" }));
    const big = Buffer.from(`Action=SendMessage&MessageBody=${"x".repeat(1_200_000)}`);
    const headers = { "X-Amz-Target": "DynamoDB_20120810.ListTables", "X-Odd": "a b" };
    const answers = [
      await send(
        "POST",
        "/some/path?x=1&y=%20",
        { ...headers, "content-type": "application/x-amz-json-1.0" },
        json,
      ),
      await send("PUT", "/bucket/key", { "content-type": "application/octet-stream" }, big),
      await send("POST", "/", { "content-type": "application/x-www-form-urlencoded" }, big),
      await send("GET", "/?Action=DescribeVpcs&Version=2016-11-15", {}),
    ];
    for (const a of answers) {
      expect(a).toMatchObject({ status: 418, body: "first,second" });
      expect(a.headers).toMatchObject({ "x-answer": "42", "content-type": "text/odd" });
    }
    expect(seen.map((s) => [s.method, s.url, s.body.length])).toEqual([
      ["POST", "/some/path?x=1&y=%20", json.length],
      ["PUT", "/bucket/key", big.length],
      ["POST", "/", big.length],
      ["GET", "/?Action=DescribeVpcs&Version=2016-11-15", 0],
    ]);
    expect(seen[0]?.body.equals(json)).toBe(true);
    expect(seen[1]?.body.equals(big)).toBe(true);
    expect(seen[0]?.headers).toEqual(
      expect.arrayContaining(["X-Amz-Target", "DynamoDB_20120810.ListTables", "X-Odd", "a b"]),
    );
    await fakeEvents.none(50);
  });

  it("forwards a governed call unchanged too, and answers its failure as the upstream did", async () => {
    seen = [];
    const body = Buffer.from(
      "Action=AuthorizeSecurityGroupIngress&Version=2016-11-15&GroupId=sg-1",
    );
    const auth =
      "AWS4-HMAC-SHA256 Credential=alice/20260521/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00";
    const answer = await send(
      "POST",
      "/",
      { "content-type": "application/x-www-form-urlencoded; charset=utf-8", authorization: auth },
      body,
    );
    expect(answer).toMatchObject({ status: 418, body: "first,second" });
    expect(seen[0]?.body.equals(body)).toBe(true);
    expect(seen[0]?.headers).toEqual(expect.arrayContaining(["authorization", auth]));
    const failed = await fakeEvents.one();
    expect(failed.detail).toMatchObject({ errorCode: "Client.Http418", responseElements: null });
  });
});

describe("one queue per group", () => {
  /** Calls the upstream has received, as "group:port", in arrival order. */
  const arrived: string[] = [];
  /** A group's calls stall at the upstream until its gate opens. */
  const gates = new Map<string, Promise<void>>();
  let upstream: Server;
  let queued: Ec2Proxy;
  const queuedEvents = new Events();

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", async () => {
        const form = new URLSearchParams(Buffer.concat(chunks).toString());
        const group = form.get("GroupId") ?? `name:${form.get("GroupName")}`;
        arrived.push(`${group}:${form.get("IpPermissions.1.FromPort")}`);
        await gates.get(group);
        res.writeHead(418, { "content-type": "text/plain" });
        res.end("no");
      });
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
    queued = await startEc2Proxy({
      upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      account: ACCOUNT,
      region: REGION,
      onEvent: queuedEvents.push,
      // Failed calls are recorded too: the upstream needs to answer no EC2 XML.
      emitFailed: true,
    });
  });
  afterAll(async () => {
    await queued.stop();
    await new Promise((r) => upstream.close(r));
  });

  /** One AuthorizeSecurityGroupIngress on a group (by id, or "name:<name>"), told by its port. */
  const authorize = (group: string, port: number) =>
    new Promise<number>((resolve, reject) => {
      const target: Record<string, string> = group.startsWith("name:")
        ? { GroupName: group.slice(5) }
        : { GroupId: group };
      const body = new URLSearchParams({
        Action: "AuthorizeSecurityGroupIngress",
        Version: "2016-11-15",
        ...target,
        "IpPermissions.1.IpProtocol": "tcp",
        "IpPermissions.1.FromPort": String(port),
        "IpPermissions.1.ToPort": String(port),
        "IpPermissions.1.IpRanges.1.CidrIp": "10.0.0.0/8",
      }).toString();
      const req = request(
        `${queued.url}/`,
        {
          method: "POST",
          headers: {
            "content-type": "application/x-www-form-urlencoded; charset=utf-8",
            authorization:
              "AWS4-HMAC-SHA256 Credential=alice/20260521/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00",
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end(body);
    });

  const until = async (check: () => boolean) => {
    const deadline = Date.now() + 3_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  it("a slow call on one group holds neither another group's call nor a call by name; one group's calls keep their order, and so do its events", async () => {
    let open = () => {};
    gates.set("sg-0aaaaaaaaaaaaaaa1", new Promise<void>((r) => (open = r)));
    const done: string[] = [];
    const track = (label: string, call: Promise<number>) =>
      call.then((status) => {
        done.push(label);
        return status;
      });

    const a1 = track("a1", authorize("sg-0aaaaaaaaaaaaaaa1", 1));
    await until(() => arrived.includes("sg-0aaaaaaaaaaaaaaa1:1"));
    const a2 = track("a2", authorize("sg-0aaaaaaaaaaaaaaa1", 2));
    const a3 = track("a3", authorize("sg-0aaaaaaaaaaaaaaa1", 3));
    // Other groups go on while the first group's call is stalled upstream.
    expect(await authorize("sg-0bbbbbbbbbbbbbbb2", 10)).toBe(418);
    expect(await authorize("name:web", 20)).toBe(418);
    expect(done).toEqual([]);
    // The first group's next calls wait for its first call's answer (and event).
    await new Promise((r) => setTimeout(r, 50));
    expect(arrived).toEqual(["sg-0aaaaaaaaaaaaaaa1:1", "sg-0bbbbbbbbbbbbbbb2:10", "name:web:20"]);

    open();
    expect(await Promise.all([a1, a2, a3])).toEqual([418, 418, 418]);
    expect(done).toEqual(["a1", "a2", "a3"]);
    expect(arrived.slice(3)).toEqual(["sg-0aaaaaaaaaaaaaaa1:2", "sg-0aaaaaaaaaaaaaaa1:3"]);

    const events = await queuedEvents.take(5);
    const described = events.map((e) => {
      const p = e.detail.requestParameters as {
        groupId?: string;
        groupName?: string;
        ipPermissions?: { items?: { fromPort?: number }[] };
      };
      return `${p.groupId ?? `name:${p.groupName}`}:${p.ipPermissions?.items?.[0]?.fromPort}`;
    });
    expect(described).toEqual([
      "sg-0bbbbbbbbbbbbbbb2:10",
      "name:web:20",
      "sg-0aaaaaaaaaaaaaaa1:1",
      "sg-0aaaaaaaaaaaaaaa1:2",
      "sg-0aaaaaaaaaaaaaaa1:3",
    ]);
    await queuedEvents.none(50);
  });
});

describe("moto through the proxy", () => {
  it("answers Describe calls (no event), in the proxy's account", async () => {
    const out = await alice.send(new DescribeSecurityGroupsCommand({}));
    expect(out.SecurityGroups?.length).toBeGreaterThan(0);
    expect(out.SecurityGroups?.every((g) => g.OwnerId === ACCOUNT)).toBe(true);
    await events.none();
  });

  it("authorize ingress, several peers in two permissions: the event carries every rule with moto's ids", async () => {
    const group = await newGroup("web");
    const peer = await newGroup("peer");
    const out = await alice.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: group,
        IpPermissions: [
          {
            IpProtocol: "tcp",
            FromPort: 22,
            ToPort: 22,
            IpRanges: [{ CidrIp: "10.0.0.0/8", Description: "ssh" }],
            Ipv6Ranges: [{ CidrIpv6: "2001:db8::/32" }],
            UserIdGroupPairs: [{ GroupId: peer, Description: "from peer" }],
          },
          { IpProtocol: "-1", PrefixListIds: [{ PrefixListId: "pl-0c2d4e6f8a0b1c3d5" }] },
        ],
      }),
    );
    const event = await events.one();
    expect(matchesGovernedPattern(event)).toBe(true);

    // The envelope and the record, as the fixtures have them (TLS details aside: plain HTTP).
    const real = fixture("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json");
    expect(Object.keys(event)).toEqual(Object.keys(real));
    const {
      tlsDetails: _t,
      sessionCredentialFromConsole: _s,
      ...realDetail
    } = real.detail as unknown as Json;
    expect(Object.keys(event.detail)).toEqual(Object.keys(realDetail));
    expect(event).toMatchObject({
      version: "0",
      "detail-type": "AWS API Call via CloudTrail",
      source: "aws.ec2",
      account: ACCOUNT,
      time: "2026-05-21T09:15:00Z",
      region: REGION,
      resources: [],
      detail: {
        eventVersion: "1.09",
        eventTime: "2026-05-21T09:15:00Z",
        eventSource: "ec2.amazonaws.com",
        eventName: "AuthorizeSecurityGroupIngress",
        awsRegion: REGION,
        sourceIPAddress: "127.0.0.1",
        userAgent: expect.stringMatching(/^aws-sdk-js\/3\./),
        requestID: out.$metadata.requestId,
        readOnly: false,
        eventType: "AwsApiCall",
        managementEvent: true,
        recipientAccountId: ACCOUNT,
        eventCategory: "Management",
      },
    });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.detail.eventID).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.detail.requestParameters).toEqual({
      groupId: group,
      ipPermissions: {
        items: [
          {
            ipProtocol: "tcp",
            fromPort: 22,
            toPort: 22,
            groups: { items: [{ groupId: peer, description: "from peer" }] },
            ipRanges: { items: [{ cidrIp: "10.0.0.0/8", description: "ssh" }] },
            ipv6Ranges: { items: [{ cidrIpv6: "2001:db8::/32" }] },
            prefixListIds: {},
          },
          {
            ipProtocol: "-1",
            groups: {},
            ipRanges: {},
            ipv6Ranges: {},
            prefixListIds: { items: [{ prefixListId: "pl-0c2d4e6f8a0b1c3d5" }] },
          },
        ],
      },
    });

    // moto answered only the last permission's rule; the event lists all four, as EC2 does.
    expect(out.SecurityGroupRules).toHaveLength(1);
    const made = await rulesOf(group);
    const ingress = made.filter((r) => !r.IsEgress);
    expect(ingress).toHaveLength(4);
    const response = event.detail.responseElements as Json;
    expect(response).toMatchObject({ requestId: out.$metadata.requestId, _return: true });
    const items = (response.securityGroupRuleSet as { items: Json[] }).items;
    expect(items.map((i) => i.securityGroupRuleId).sort()).toEqual(
      ingress.map((r) => r.SecurityGroupRuleId).sort(),
    );
    const byPeer = (key: string) => items.find((i) => key in i) as Json;
    expect(byPeer("referencedGroupInfo")).toEqual({
      groupOwnerId: ACCOUNT,
      groupId: group,
      securityGroupRuleId: expect.stringMatching(/^sgr-/),
      description: "from peer",
      isEgress: false,
      ipProtocol: "tcp",
      fromPort: 22,
      toPort: 22,
      referencedGroupInfo: { userId: ACCOUNT, groupId: peer },
      securityGroupRuleArn: `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group-rule/${byPeer("referencedGroupInfo").securityGroupRuleId}`,
    });
    expect(byPeer("prefixListId")).toMatchObject({ ipProtocol: "-1", fromPort: -1, toPort: -1 });
    expect(shape(byPeer("cidrIpv4"))).toEqual(
      shape({
        ...(real.detail.responseElements as { securityGroupRuleSet: { items: Json[] } })
          .securityGroupRuleSet.items[0],
        description: "",
      }),
    );

    // Our parser reads back exactly the rules made, with their real ids.
    const change = parsed(event) as AddChange;
    expect(change).toMatchObject({
      kind: "add",
      direction: "ingress",
      groupId: group,
      account: ACCOUNT,
    });
    expect(change.rules).toEqual(
      expect.arrayContaining(
        ingress.map((r) => {
          const rule = ruleFromSecurityGroupRule(r);
          // The request named the group without its owner; moto drops the descriptions of group
          // and prefix-list peers, which EC2 (and the event) keep.
          return r.ReferencedGroupInfo
            ? { ...rule, peer: { kind: "group", groupId: peer }, description: "from peer" }
            : rule;
        }),
      ),
    );
    expect(change.rules).toHaveLength(4);
  });

  it("authorize egress as an SSO session: AssumedRole identity and one rule per peer", async () => {
    const group = await newGroup("egress");
    const peer = await newGroup("egress-peer");
    await bob.send(
      new AuthorizeSecurityGroupEgressCommand({
        GroupId: group,
        IpPermissions: [
          {
            IpProtocol: "udp",
            FromPort: 53,
            ToPort: 53,
            IpRanges: [{ CidrIp: "10.1.0.0/16" }],
            UserIdGroupPairs: [{ GroupId: peer, UserId: ACCOUNT }],
          },
        ],
      }),
    );
    const event = await events.one();
    const created = (await rulesOf(group)).filter((r) => r.IsEgress && r.IpProtocol === "udp");
    expect(event.detail.userIdentity).toEqual({
      type: "AssumedRole",
      principalId: expect.stringMatching(/^AROA[A-Z2-7]{17}:bob@example\.com$/),
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/bob@example.com`,
      accountId: ACCOUNT,
      accessKeyId: "sso-bob",
      sessionContext: {
        sessionIssuer: {
          type: "Role",
          principalId: expect.stringMatching(/^AROA[A-Z2-7]{17}$/),
          arn: `arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123456789abcdef`,
          accountId: ACCOUNT,
          userName: "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
        },
        webIdFederationData: {},
        attributes: { creationDate: "2026-05-21T09:15:00Z", mfaAuthenticated: "false" },
      },
    });
    expect(shape(event.detail.userIdentity)).toEqual(
      shape(fixture("AuthorizeSecurityGroupIngress/assumed-role-sso.json").detail.userIdentity),
    );
    const change = parsed(event) as AddChange;
    expect(change.requester).toMatchObject({
      type: "AssumedRole",
      name: "bob@example.com",
      roleArn: `arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123456789abcdef`,
      sso: true,
    });
    expect(change.direction).toBe("egress");
    expect(change.rules.map((r) => r.ruleId).sort()).toEqual(
      created.map((r) => r.SecurityGroupRuleId).sort(),
    );
    expect(change.rules.map((r) => r.peer)).toEqual([
      { kind: "cidrIpv4", cidr: "10.1.0.0/16" },
      { kind: "group", groupId: peer, userId: ACCOUNT },
    ]);
  });

  it("revoke by permissions: revokedSecurityGroupRuleSet names the removed rules", async () => {
    const group = await newGroup("revoke-perms");
    await alice.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: group,
        IpPermissions: [
          {
            IpProtocol: "tcp",
            FromPort: 443,
            ToPort: 443,
            IpRanges: [{ CidrIp: "0.0.0.0/0" }, { CidrIp: "10.9.0.0/16" }],
          },
        ],
      }),
    );
    await events.one();
    const before = (await rulesOf(group)).filter((r) => !r.IsEgress);
    await alice.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: group,
        IpPermissions: [
          { IpProtocol: "tcp", FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
        ],
      }),
    );
    const event = await events.one();
    const gone = before.find((r) => r.CidrIpv4 === "0.0.0.0/0");
    expect(event.detail.requestParameters).toEqual({
      groupId: group,
      ipPermissions: {
        items: [
          {
            ipProtocol: "tcp",
            fromPort: 443,
            toPort: 443,
            groups: {},
            ipRanges: { items: [{ cidrIp: "0.0.0.0/0" }] },
            ipv6Ranges: {},
            prefixListIds: {},
          },
        ],
      },
    });
    expect(event.detail.responseElements).toEqual({
      requestId: expect.any(String),
      _return: true,
      revokedSecurityGroupRuleSet: {
        items: [
          {
            securityGroupRuleId: gone?.SecurityGroupRuleId,
            groupId: group,
            isEgress: false,
            ipProtocol: "tcp",
            fromPort: 443,
            toPort: 443,
            cidrIpv4: "0.0.0.0/0",
          },
        ],
      },
    });
    const change = parsed(event) as RemoveChange;
    expect(change).toMatchObject({ kind: "remove", direction: "ingress", ruleIds: [] });
    expect(change.rules).toEqual([
      { ...ruleFromSecurityGroupRule(gone ?? {}), ruleId: gone?.SecurityGroupRuleId },
    ]);
  });

  it("revoke egress by rule ids: the rules come back from the event alone", async () => {
    const group = await newGroup("revoke-ids");
    const peer = await newGroup("revoke-ids-peer");
    await alice.send(
      new AuthorizeSecurityGroupEgressCommand({
        GroupId: group,
        IpPermissions: [
          {
            IpProtocol: "tcp",
            FromPort: 5432,
            ToPort: 5432,
            UserIdGroupPairs: [{ GroupId: peer }],
          },
          {
            IpProtocol: "tcp",
            FromPort: 443,
            ToPort: 443,
            Ipv6Ranges: [{ CidrIpv6: "2001:db8:1234::/48", Description: "v6" }],
          },
        ],
      }),
    );
    await events.one();
    const rules = (await rulesOf(group)).filter((r) => r.IsEgress && r.IpProtocol === "tcp");
    expect(rules).toHaveLength(2);
    const ids = rules.map((r) => r.SecurityGroupRuleId ?? "");
    await alice.send(
      new RevokeSecurityGroupEgressCommand({ GroupId: group, SecurityGroupRuleIds: ids }),
    );
    const event = await events.one();
    expect(event.detail.requestParameters).toEqual({
      groupId: group,
      ipPermissions: {},
      securityGroupRuleIds: { items: ids.map((securityGroupRuleId) => ({ securityGroupRuleId })) },
    });
    const revoked = (
      event.detail.responseElements as { revokedSecurityGroupRuleSet: { items: Json[] } }
    ).revokedSecurityGroupRuleSet.items;
    expect(revoked).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ referencedGroupId: peer, isEgress: true, fromPort: 5432 }),
        expect.objectContaining({ cidrIpv6: "2001:db8:1234::/48", description: "v6" }),
      ]),
    );
    const real = fixture("RevokeSecurityGroupIngress/by-rule-ids.json");
    expect(shape(event.detail.requestParameters)).toEqual(shape(real.detail.requestParameters));
    expect(Object.keys(event.detail.responseElements ?? {})).toEqual(
      Object.keys(real.detail.responseElements ?? {}),
    );

    const change = parsed(event) as RemoveChange;
    expect(change).toMatchObject({ kind: "remove", direction: "egress", ruleIds: ids });
    expect(change.rules.map((r) => r.ruleId)).toEqual(ids);
    expect(change.rules.map((r) => r.peer)).toEqual(
      expect.arrayContaining([
        { kind: "group", groupId: peer },
        { kind: "cidrIpv6", cidr: "2001:db8:1234::/48" },
      ]),
    );
    expect(await rulesOf(group)).toHaveLength(1); // the default egress rule
  });

  it("revoke by the ids of rules it has seen: written from memory, no snapshot; forgotten after a change it cannot follow", async () => {
    // A relay in front of moto that notes each call's Action: what the proxy asked moto.
    const asked: string[] = [];
    const relay = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        asked.push(new URLSearchParams(body.toString()).get("Action") ?? "?");
        const up = request(
          `${moto.endpoint}${req.url}`,
          { method: req.method, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        up.end(body);
      });
    });
    await new Promise<void>((r) => relay.listen(0, "127.0.0.1", () => r()));
    const relayed = new Events();
    const remembering = await startEc2Proxy({
      upstream: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`,
      account: ACCOUNT,
      region: REGION,
      onEvent: relayed.push,
      pinUpstreamAccount: true,
    });
    try {
      const viaRelay = client("alice", remembering.url);
      const group = await newGroup("remembered");
      const authorize = async (port: number, description: string) => {
        const out = await viaRelay.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: group,
            IpPermissions: [
              {
                IpProtocol: "tcp",
                FromPort: port,
                ToPort: port,
                IpRanges: [{ CidrIp: "10.1.0.0/16", Description: description }],
              },
            ],
          }),
        );
        await relayed.one();
        return out.SecurityGroupRules?.[0]?.SecurityGroupRuleId ?? "";
      };
      const revoke = async (id: string) => {
        await viaRelay.send(
          new RevokeSecurityGroupIngressCommand({ GroupId: group, SecurityGroupRuleIds: [id] }),
        );
        const event = await relayed.one();
        return (event.detail.responseElements as { revokedSecurityGroupRuleSet: { items: Json[] } })
          .revokedSecurityGroupRuleSet.items;
      };

      // Seen in the Authorize's answer: the Revoke costs moto one call, and says what EC2 would.
      const first = await authorize(8080, "web");
      asked.length = 0;
      expect(await revoke(first)).toEqual([
        expect.objectContaining({
          securityGroupRuleId: first,
          groupId: group,
          fromPort: 8080,
          cidrIpv4: "10.1.0.0/16",
          description: "web",
        }),
      ]);
      expect(asked).toEqual(["RevokeSecurityGroupIngress"]);

      // Changed through the proxy by ModifySecurityGroupRules: the group's rules are read again.
      const second = await authorize(8081, "old");
      await viaRelay.send(
        new ModifySecurityGroupRulesCommand({
          GroupId: group,
          SecurityGroupRules: [
            {
              SecurityGroupRuleId: second,
              SecurityGroupRule: {
                IpProtocol: "tcp",
                FromPort: 8081,
                ToPort: 8081,
                CidrIpv4: "10.1.0.0/16",
                Description: "new",
              },
            },
          ],
        }),
      );
      await relayed.one();
      asked.length = 0;
      expect(await revoke(second)).toEqual([
        expect.objectContaining({ securityGroupRuleId: second, description: "new" }),
      ]);
      expect(asked).toEqual([
        "DescribeSecurityGroupRules",
        "RevokeSecurityGroupIngress",
        "DescribeSecurityGroupRules",
      ]);

      // Changed where no event follows (an untracked call): everything is read again.
      const third = await authorize(8082, "before");
      const untracked = client("alice", `${remembering.url}/untracked`);
      await untracked.send(
        new ModifySecurityGroupRulesCommand({
          GroupId: group,
          SecurityGroupRules: [
            {
              SecurityGroupRuleId: third,
              SecurityGroupRule: {
                IpProtocol: "tcp",
                FromPort: 8082,
                ToPort: 8082,
                CidrIpv4: "10.1.0.0/16",
                Description: "after",
              },
            },
          ],
        }),
      );
      await relayed.none();
      asked.length = 0;
      expect(await revoke(third)).toEqual([
        expect.objectContaining({ securityGroupRuleId: third, description: "after" }),
      ]);
      expect(asked[0]).toBe("DescribeSecurityGroupRules");
    } finally {
      await remembering.stop();
      await new Promise((r) => relay.close(r));
    }
  });

  it("modify, one rule and several: CloudTrail's PascalCase request and response", async () => {
    const group = await newGroup("modify");
    const peer = await newGroup("modify-peer");
    await alice.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: group,
        IpPermissions: [
          {
            IpProtocol: "tcp",
            FromPort: 22,
            ToPort: 22,
            IpRanges: [{ CidrIp: "10.0.0.0/8" }, { CidrIp: "10.2.0.0/16" }],
          },
        ],
      }),
    );
    await events.one();
    const [a, b] = (await rulesOf(group))
      .filter((r) => !r.IsEgress)
      .map((r) => r.SecurityGroupRuleId ?? "");
    await alice.send(
      new ModifySecurityGroupRulesCommand({
        GroupId: group,
        SecurityGroupRules: [
          {
            SecurityGroupRuleId: a,
            SecurityGroupRule: {
              IpProtocol: "tcp",
              FromPort: 22,
              ToPort: 22,
              CidrIpv4: "0.0.0.0/0",
              Description: "temporary SSH",
            },
          },
        ],
      }),
    );
    const one = await events.one();
    const real = fixture("ModifySecurityGroupRules/single-rule.json");
    expect(one.detail.requestParameters).toEqual({
      ModifySecurityGroupRulesRequest: {
        GroupId: group,
        SecurityGroupRule: {
          SecurityGroupRuleId: a,
          tag: 1,
          SecurityGroupRule: {
            CidrIpv4: "0.0.0.0/0",
            FromPort: 22,
            ToPort: 22,
            IpProtocol: "tcp",
            Description: "temporary SSH",
          },
        },
      },
    });
    expect(JSON.stringify(shape(one.detail.requestParameters))).toBe(
      JSON.stringify(shape(real.detail.requestParameters)),
    );
    expect(one.detail.responseElements).toEqual({
      ModifySecurityGroupRulesResponse: {
        xmlns: "http://ec2.amazonaws.com/doc/2016-11-15/",
        requestId: one.detail.requestID,
        return: true,
      },
    });

    await alice.send(
      new ModifySecurityGroupRulesCommand({
        GroupId: group,
        SecurityGroupRules: [
          {
            SecurityGroupRuleId: a,
            SecurityGroupRule: {
              IpProtocol: "tcp",
              FromPort: 443,
              ToPort: 443,
              CidrIpv4: "0.0.0.0/0",
            },
          },
          {
            SecurityGroupRuleId: b,
            SecurityGroupRule: {
              IpProtocol: "tcp",
              FromPort: 5432,
              ToPort: 5433,
              ReferencedGroupId: peer,
            },
          },
        ],
      }),
    );
    const several = await events.one();
    const request = (several.detail.requestParameters as { ModifySecurityGroupRulesRequest: Json })
      .ModifySecurityGroupRulesRequest;
    expect(request.SecurityGroupRule).toEqual([
      {
        SecurityGroupRuleId: a,
        tag: 1,
        SecurityGroupRule: { CidrIpv4: "0.0.0.0/0", FromPort: 443, ToPort: 443, IpProtocol: "tcp" },
      },
      {
        SecurityGroupRuleId: b,
        tag: 2,
        SecurityGroupRule: {
          ReferencedGroupId: peer,
          FromPort: 5432,
          ToPort: 5433,
          IpProtocol: "tcp",
        },
      },
    ]);
    const change = parsed(several) as ModifyChange;
    expect(change.kind).toBe("modify");
    expect(change.modifications).toEqual([
      {
        ruleId: a,
        rule: {
          protocol: "tcp",
          fromPort: 443,
          toPort: 443,
          peer: { kind: "cidrIpv4", cidr: "0.0.0.0/0" },
        },
      },
      {
        ruleId: b,
        rule: {
          protocol: "tcp",
          fromPort: 5432,
          toPort: 5433,
          peer: { kind: "group", groupId: peer },
        },
      },
    ]);
  });

  it("a failed call (duplicate) emits nothing; with emitFailed, CloudTrail's error record", async () => {
    const group = await newGroup("dup");
    const ssh = {
      IpProtocol: "tcp",
      FromPort: 22,
      ToPort: 22,
      IpRanges: [{ CidrIp: "203.0.113.0/24" }],
    };
    await alice.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: group, IpPermissions: [ssh] }),
    );
    await events.one();
    await expect(
      alice.send(
        new AuthorizeSecurityGroupIngressCommand({ GroupId: group, IpPermissions: [ssh] }),
      ),
    ).rejects.toMatchObject({ name: "InvalidPermission.Duplicate" });
    await events.none();

    const viaFailed = client("alice", failedProxy.url);
    await expect(
      viaFailed.send(
        new AuthorizeSecurityGroupIngressCommand({ GroupId: group, IpPermissions: [ssh] }),
      ),
    ).rejects.toMatchObject({ name: "InvalidPermission.Duplicate" });
    const event = await failedEvents.one();
    expect(event.detail).toMatchObject({
      errorCode: "Client.InvalidPermission.Duplicate",
      errorMessage: expect.stringContaining("already exists"),
      responseElements: null,
    });
    const real = fixture("AuthorizeSecurityGroupIngress/failed-call.json");
    const { tlsDetails: _t, ...realDetail } = real.detail as unknown as Json;
    expect(Object.keys(event.detail)).toEqual(Object.keys(realDetail));
    expect(matchesGovernedPattern(event)).toBe(false);
    expect(parseCloudTrailEvent(event)).toMatchObject({ ignored: true });
  });

  it("identities: alice is an IAM user, admin the break-glass role, unknown keys IAM users", async () => {
    const group = await newGroup("who");
    const callers = ["alice", "admin", "secgroup-approval-member", "carol-key"];
    for (const [i, key] of callers.entries()) {
      await client(key).send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: group,
          IpPermissions: [
            {
              IpProtocol: "tcp",
              FromPort: 1000 + i,
              ToPort: 1000 + i,
              IpRanges: [{ CidrIp: "192.0.2.0/24" }],
            },
          ],
        }),
      );
    }
    const [a, admin, system, unknown] = await events.take(callers.length);
    expect(a?.detail.userIdentity).toEqual({
      type: "IAMUser",
      principalId: expect.stringMatching(/^AIDA[A-Z2-7]{17}$/),
      arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
      accountId: ACCOUNT,
      accessKeyId: "alice",
      userName: "alice",
    });
    expect(shape(a?.detail.userIdentity)).toEqual(
      shape(fixture("AuthorizeSecurityGroupIngress/failed-call.json").detail.userIdentity),
    );
    expect(parsed(a as EventBridgeEvent).requester).toMatchObject({
      type: "IAMUser",
      name: "alice",
    });
    expect(parsed(admin as EventBridgeEvent).requester).toMatchObject({
      type: "AssumedRole",
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/BreakGlassAdmin/admin`,
      roleArn: `arn:aws:iam::${ACCOUNT}:role/BreakGlassAdmin`,
    });
    expect(parsed(system as EventBridgeEvent).requester).toMatchObject({
      type: "AssumedRole",
      roleArn: `arn:aws:iam::${ACCOUNT}:role/secgroup-approval-member`,
    });
    expect(unknown?.detail.userIdentity).toMatchObject({
      type: "IAMUser",
      arn: `arn:aws:iam::${ACCOUNT}:user/carol-key`,
      userName: "carol-key",
    });
  });

  it("concurrent calls: one event each, in the order moto applied them", async () => {
    const group = await newGroup("burst");
    const ports = Array.from({ length: 8 }, (_, i) => 2000 + i);
    await Promise.all(
      ports.map((p) =>
        alice.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: group,
            IpPermissions: [
              {
                IpProtocol: "tcp",
                FromPort: p,
                ToPort: p,
                IpRanges: [{ CidrIp: "198.51.100.0/24" }],
              },
            ],
          }),
        ),
      ),
    );
    const burst = await events.take(ports.length);
    const ids = burst.map((e) => (parsed(e) as AddChange).rules[0]?.ruleId);
    const made = (await rulesOf(group)).filter((r) => !r.IsEgress);
    // moto lists a group's rules in creation order: the events follow it.
    expect(ids).toEqual(made.map((r) => r.SecurityGroupRuleId));
    await events.none(50);
  });

  const hasAwsCli = (process.env.PATH ?? "").split(":").some((d) => d && existsSync(`${d}/aws`));
  it.skipIf(!hasAwsCli)("the AWS CLI works through it (--endpoint-url)", async () => {
    const group = await newGroup("cli");
    const { stdout } = await promisify(execFile)(
      "aws",
      [
        "--endpoint-url",
        proxy.url,
        "--region",
        REGION,
        "--output",
        "json",
        "ec2",
        "authorize-security-group-ingress",
        "--group-id",
        group,
        "--protocol",
        "tcp",
        "--port",
        "22",
        "--cidr",
        "10.0.0.0/8",
      ],
      {
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: "sso-bob",
          AWS_SECRET_ACCESS_KEY: "x",
          AWS_CONFIG_FILE: "/dev/null",
          AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
        },
      },
    );
    const ruleId = (JSON.parse(stdout) as { SecurityGroupRules: { SecurityGroupRuleId: string }[] })
      .SecurityGroupRules[0]?.SecurityGroupRuleId;
    const event = await events.one();
    expect(event.detail.userAgent).toMatch(/^aws-cli\//);
    const change = parsed(event) as AddChange;
    expect(change.requester.name).toBe("bob@example.com");
    expect(change.rules).toEqual([
      {
        direction: "ingress",
        protocol: "tcp",
        fromPort: 22,
        toPort: 22,
        peer: { kind: "cidrIpv4", cidr: "10.0.0.0/8" },
        ruleId,
      },
    ]);
  });
});

describe("the XML reader", () => {
  it("reads EC2 answers: entities, self-closing tags, CDATA; rejects broken nesting", () => {
    const root = parseXml(
      `<?xml version="1.0"?><R xmlns="x"><a>1 &amp; 2 &#x41;&#66;</a><b/><c><![CDATA[<raw>]]></c></R>`,
    );
    expect(root.attributes).toEqual({ xmlns: "x" });
    expect(root.children.map((c) => [c.name, c.text])).toEqual([
      ["a", "1 & 2 AB"],
      ["b", ""],
      ["c", "<raw>"],
    ]);
    expect(() => parseXml("<a><b></a>")).toThrow(/unexpected <\/a>/);
    expect(() => parseXml("<a>")).toThrow(XmlParseError);
    expect(() => parseXml("not xml")).toThrow(XmlParseError);
  });
});
