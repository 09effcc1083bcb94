/**
 * The drift check (sweepBaseline) on real components: EC2 is moto server (through the real
 * Ec2SecurityGroups adapter), the baselines table is dynalite (the real DynamoBaselines and
 * DynamoEventLedger), the handlers are the real ones (sweep, revert, revertFailed, apply). Only
 * the hub is a recording fake of our own HubLink port.
 *
 * Changes "with an event" are made through the sandbox's CloudTrail proxy in front of moto, which
 * hands back the event AWS would deliver: the test decides when (or whether) the member gets it.
 * Untracked changes go straight to moto: no event exists.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  type EC2Client,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { clientConfig } from "../../src/adapters/aws-clients.js";
import { documentClient } from "../../src/adapters/dynamodb/client.js";
import { ensureTables } from "../../src/adapters/dynamodb/tables.js";
import { createEc2Client } from "../../src/adapters/ec2/client.js";
import { Ec2SecurityGroups } from "../../src/adapters/ec2/security-groups.js";
import { requestIdFor } from "../../src/adapters/ids.js";
import { eventRef } from "../../src/app/member/deps.js";
import type { MemberDeps, SweepResult } from "../../src/app/member/index.js";
import { DRIFT_EVENT_NAME, type DriftChange, UNKNOWN_REQUESTER } from "../../src/domain/change.js";
import type { ChangeMessage } from "../../src/domain/messages.js";
import {
  contentKey,
  type Rule,
  toIpPermissions,
  toSecurityGroupRuleRequest,
} from "../../src/domain/rule.js";
import { createApplyHandler } from "../../src/handlers/applySecurityGroupChange.js";
import { createRevertFailedHandler } from "../../src/handlers/revertFailed.js";
import { createRevertHandler } from "../../src/handlers/revertSecurityGroup.js";
import { createSweepHandler } from "../../src/handlers/sweepBaseline.js";
import { snsEvent } from "../../src/sandbox/bus.js";
import { type DynamoClients, dynamoClients, startDynalite } from "../../src/sandbox/dynamodb.js";
import {
  type Ec2Proxy,
  type EventBridgeEvent,
  startEc2Proxy,
} from "../../src/sandbox/ec2-proxy.js";
import { type MotoServer, startMoto } from "../../src/sandbox/moto.js";
import { memberDepsOn, RecordingHubLink } from "../support/member-deps.js";

/** moto keeps every resource in its default account: the member governs that one. */
const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const APPLY_TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:applySecurityGroupChange`;
const T0 = Date.parse("2026-11-23T10:00:00Z");
const MINUTE = 60_000;
const DEPLOYMENT = "deploy-2026-11-23";

let moto: MotoServer;
let proxy: Ec2Proxy;
let db: { endpoint: string; stop(): Promise<void> };
let dynamo: DynamoClients;
/** The CloudTrail events of the changes made through the proxy, not yet delivered. */
const trail: EventBridgeEvent[] = [];
/** The time of the member, of the proxy's events, of everything. */
let now = T0;
const at = (ms: number) => new Date(ms).toISOString();

const credentials = (key: string) => ({ accessKeyId: key, secretAccessKey: "x" });
/** Someone acting straight on EC2 where CloudTrail does not see it: no event. */
let untracked: Ec2SecurityGroups;
let untrackedClient: EC2Client;
/** alice, through the CloudTrail proxy: each change makes an event (kept in `trail`). */
let alice: Ec2SecurityGroups;

beforeAll(async () => {
  [moto, db] = await Promise.all([startMoto(), startDynalite()]);
  dynamo = dynamoClients(db.endpoint);
  proxy = await startEc2Proxy({
    upstream: moto.endpoint,
    account: ACCOUNT,
    region: REGION,
    clock: () => new Date(now),
    onEvent: (event) => trail.push(event),
  });
  untrackedClient = createEc2Client({
    region: REGION,
    endpoint: moto.endpoint,
    credentials: credentials("ops"),
    maxAttempts: 1,
  });
  untracked = new Ec2SecurityGroups(untrackedClient);
  alice = new Ec2SecurityGroups(
    createEc2Client({
      region: REGION,
      endpoint: proxy.url,
      credentials: credentials("alice"),
      maxAttempts: 1,
    }),
  );
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([moto?.stop(), db?.stop()]);
});

let serial = 0;

interface World {
  deps: MemberDeps;
  hub: RecordingHubLink;
  /** The member's EC2 calls, by command name. */
  calls: Map<string, number>;
  table: string;
  sweep(): Promise<SweepResult>;
  revert(event: unknown): Promise<string>;
  /** The hub's approval of a filed change, delivered on the member's apply topic. */
  approve(message: ChangeMessage): Promise<void>;
  /** The member's EC2 write calls (anything but Describe*), by name. */
  writes(): Record<string, number>;
}

/** A fresh account: moto reset, a new baselines table, the clock at T0. */
async function world(drift: Partial<MemberDeps["config"]["drift"]> = {}): Promise<World> {
  const res = await fetch(`${moto.endpoint}/moto-api/reset`, { method: "POST" });
  expect(res.status).toBe(200);
  trail.length = 0;
  now = T0;
  serial += 1;
  const table = `baselines-sweep-${serial}`;
  await ensureTables(dynamo.client, { requests: `requests-sweep-${serial}`, baselines: table });
  const hub = new RecordingHubLink();
  const calls = new Map<string, number>();
  const client = createEc2Client({
    region: REGION,
    endpoint: moto.endpoint,
    credentials: credentials("secgroup-approval-member"),
    maxAttempts: 1,
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName).replace(/Command$/, "");
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: "initialize", name: "countMemberCalls" },
  );
  const deps = memberDepsOn(dynamo.doc, {
    account: ACCOUNT,
    region: REGION,
    securityGroups: new Ec2SecurityGroups(client),
    hub,
    clock: () => new Date(now),
    drift,
    table,
    deployment: DEPLOYMENT,
  });
  return {
    deps,
    hub,
    calls,
    table,
    sweep: () => createSweepHandler(() => deps)(),
    revert: (event) => createRevertHandler(() => deps)(event),
    approve: async (message) => {
      const apply = {
        type: "apply",
        requestId: requestIdFor(message.change),
        change: message.change,
        ...(message.revertError ? { revertError: message.revertError } : {}),
      };
      await createApplyHandler(
        () => deps,
        () => APPLY_TOPIC,
      )(snsEvent(APPLY_TOPIC, JSON.stringify(apply)));
    },
    writes: () =>
      Object.fromEntries([...calls].filter(([name]) => !name.startsWith("Describe")).sort()),
  };
}

const tcp = (port: number, cidr: string, description?: string): Rule => ({
  direction: "ingress",
  protocol: "tcp",
  fromPort: port,
  toPort: port,
  peer: { kind: "cidrIpv4", cidr },
  ...(description ? { description } : {}),
});
const EGRESS_ALL: Rule = {
  direction: "egress",
  protocol: "all",
  fromPort: null,
  toPort: null,
  peer: { kind: "cidrIpv4", cidr: "0.0.0.0/0" },
};
const bare = ({ ruleId: _id, ...rule }: Rule): Rule => rule;
const byId = (a: Rule, b: Rule) => String(a.ruleId).localeCompare(String(b.ruleId));
/** Rule contents, ids aside, in a stable order. */
const contents = (rules: readonly Rule[] | undefined) => (rules ?? []).map(contentKey).sort();

async function authorize(sgs: Ec2SecurityGroups, groupId: string, rules: Rule[]) {
  const direction = rules[0]?.direction ?? "ingress";
  const { created } = await sgs.execute({
    action: "authorize",
    groupId,
    direction,
    ipPermissions: toIpPermissions(rules),
    rules,
  });
  return created;
}
async function revokeById(sgs: Ec2SecurityGroups, groupId: string, rule: Rule) {
  await sgs.execute({
    action: "revoke",
    groupId,
    direction: rule.direction,
    securityGroupRuleIds: [rule.ruleId as string],
    rules: [rule],
  });
}
async function modify(sgs: Ec2SecurityGroups, groupId: string, ruleId: string, to: Rule) {
  await sgs.execute({
    action: "modify",
    groupId,
    securityGroupRules: [
      { SecurityGroupRuleId: ruleId, SecurityGroupRule: toSecurityGroupRuleRequest(to) },
    ],
    rules: [{ ...to, ruleId }],
  });
}

/** A group made by an administrator before (or after) the install, with these ingress rules. */
async function group(name: string, rules: Rule[] = []): Promise<{ id: string; rules: Rule[] }> {
  const out = await untrackedClient.send(
    new CreateSecurityGroupCommand({ GroupName: name, Description: name }),
  );
  const id = out.GroupId as string;
  if (rules.length > 0) await authorize(untracked, id, rules);
  return { id, rules: await live(id) };
}
async function live(groupId: string): Promise<Rule[]> {
  const rules: Rule[] = [];
  for await (const { rule } of untracked.describeRules([groupId])) rules.push(rule);
  return rules.sort(byId);
}
/** The group's ingress rule on this port. */
const port = (g: { rules: Rule[] }, p: number) =>
  g.rules.find((r) => r.direction === "ingress" && r.fromPort === p) as Rule;
const approved = async (w: World, groupId: string) =>
  ((await w.deps.baselines.read(groupId))?.rules ?? []).sort(byId);

/**
 * The one event the proxy recorded since the last call, taken out of the trail (the proxy emits
 * it just after the caller has its answer, as CloudTrail does).
 */
async function takeEvent(): Promise<EventBridgeEvent> {
  for (let waited = 0; trail.length === 0 && waited < 5_000; waited += 10) {
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(trail).toHaveLength(1);
  return trail.splice(0, 1)[0] as EventBridgeEvent;
}

const driftOf = (m: ChangeMessage | undefined): DriftChange => {
  expect(m?.change.kind).toBe("drift");
  return m?.change as DriftChange;
};

beforeEach(() => {
  trail.length = 0;
});

describe("the install: the first sweep adopts every group as it stands", () => {
  it("adopts every rule with its id, records the installation with its deployment, files nothing; the next sweep is clean", async () => {
    const w = await world({ graceSeconds: 900 });
    const web = await group("web", [tcp(443, "0.0.0.0/0", "https"), tcp(22, "10.0.0.0/8", "vpn")]);
    const db = await group("db", [tcp(5432, "10.1.0.0/16")]);
    const first = await w.sweep();
    expect(first).toMatchObject({
      install: true,
      drift: 0,
      suspected: 0,
      busy: 0,
      retired: 0,
      republished: 0,
    });
    expect(first.adopted).toBe(first.groups);
    expect(first.groups).toBe(3); // web, db and the default VPC's default group
    for (const g of [web, db]) {
      const record = await w.deps.baselines.read(g.id);
      expect(record?.rules?.sort(byId)).toEqual(g.rules);
      expect(record?.lastChange).toEqual({ at: at(T0), by: `install:${DEPLOYMENT}` });
    }
    expect((await w.deps.baselines.read(web.id))?.name).toBe("web");
    expect(contents(web.rules)).toContain(contentKey(tcp(22, "10.0.0.0/8", "vpn")));
    expect(await w.deps.baselines.installation()).toEqual({ at: at(T0), deployment: DEPLOYMENT });
    expect(w.hub.sent).toEqual([]);
    expect(w.writes()).toEqual({});

    now = T0 + 15 * MINUTE;
    const second = await w.sweep();
    expect(second).toMatchObject({ install: false, adopted: 0, drift: 0, suspected: 0 });
    expect(await approved(w, web.id)).toEqual(web.rules);
    expect((await w.deps.baselines.read(web.id))?.lastChange?.by).toBe(`install:${DEPLOYMENT}`);
    expect(await w.deps.baselines.installation()).toEqual({ at: at(T0), deployment: DEPLOYMENT });
    expect(w.hub.sent).toEqual([]);
    expect(w.writes()).toEqual({});
  });
});

describe("untracked changes (no CloudTrail event) are drift", () => {
  it("an add is suspected at first sight, left alone within the grace window, then reverted and filed with its exact rule", async () => {
    const w = await world({ graceSeconds: 900 });
    const app = await group("app", [tcp(443, "10.0.0.0/8", "https")]);
    await w.sweep();
    const [added] = await authorize(untracked, app.id, [tcp(22, "0.0.0.0/0", "debug")]);

    now = T0 + 15 * MINUTE;
    const firstSight = now;
    expect(await w.sweep()).toMatchObject({ suspected: 1, drift: 0 });
    expect((await w.deps.baselines.read(app.id))?.suspect?.firstSeenAt).toBe(at(firstSight));
    expect(await live(app.id)).toContainEqual(added);

    // Five minutes later: not past the grace window.
    now = T0 + 20 * MINUTE;
    expect(await w.sweep()).toMatchObject({ suspected: 1, drift: 0 });
    expect((await w.deps.baselines.read(app.id))?.suspect?.firstSeenAt).toBe(at(firstSight));
    expect(await live(app.id)).toContainEqual(added);
    expect(w.hub.sent).toEqual([]);
    expect(w.writes()).toEqual({});

    now = T0 + 30 * MINUTE;
    expect(await w.sweep()).toMatchObject({ suspected: 0, drift: 1 });
    expect(await live(app.id)).toEqual(app.rules);
    expect(w.writes()).toEqual({ RevokeSecurityGroupIngress: 1 });
    const [message] = w.hub.changes();
    expect(w.hub.changes()).toHaveLength(1);
    const change = driftOf(message);
    expect(change).toMatchObject({
      kind: "drift",
      eventName: DRIFT_EVENT_NAME,
      eventTime: at(firstSight),
      account: ACCOUNT,
      region: REGION,
      groupId: app.id,
      requester: UNKNOWN_REQUESTER,
    });
    expect(change.added).toEqual([added]);
    expect(change.removed).toEqual([]);
    expect(change.modifications).toEqual([]);
    expect(change.requester.name).toBe("unknown: no CloudTrail event");
    expect(message?.revertError).toBeUndefined();
    expect(message?.groupName).toBe("app");

    // The approved baseline did not move; the drift is kept for a late event to join.
    const record = await w.deps.baselines.read(app.id);
    expect(record?.rules?.sort(byId)).toEqual(app.rules);
    expect(record?.lastChange?.by).toBe(`install:${DEPLOYMENT}`);
    expect(record?.suspect).toBeUndefined();
    expect(record?.drifts.map((d) => d.requestId)).toEqual([requestIdFor(change)]);
    const ledger = await w.deps.ledger.get(eventRef(change));
    expect(ledger).toMatchObject({ requestId: requestIdFor(change), handledAt: at(now) });
    expect(ledger?.pending).toBeUndefined();

    now = T0 + 45 * MINUTE;
    expect(await w.sweep()).toMatchObject({ suspected: 0, drift: 0 });
    expect(w.hub.changes()).toHaveLength(1);
  });

  it("drift that keeps coming does not hold back the part that has waited out the grace window", async () => {
    const w = await world({ graceSeconds: 900 });
    const app = await group("app", [tcp(443, "10.0.0.0/8")]);
    await w.sweep();
    const [first] = await authorize(untracked, app.id, [tcp(22, "0.0.0.0/0", "first")]);
    now = T0 + 15 * MINUTE;
    expect(await w.sweep()).toMatchObject({ suspected: 1, drift: 0 });

    now = T0 + 20 * MINUTE;
    const [second] = await authorize(untracked, app.id, [tcp(23, "0.0.0.0/0", "second")]);
    now = T0 + 30 * MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 1, suspected: 1 });
    expect(driftOf(w.hub.changes()[0])).toMatchObject({
      added: [first],
      eventTime: at(T0 + 15 * MINUTE),
    });
    expect(await live(app.id)).toContainEqual(second);
    expect(await live(app.id)).not.toContainEqual(first);

    now = T0 + 45 * MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 1, suspected: 0 });
    expect(driftOf(w.hub.changes()[1])).toMatchObject({
      added: [second],
      eventTime: at(T0 + 30 * MINUTE),
    });
    expect(await live(app.id)).toEqual(app.rules);
    expect((await w.deps.baselines.read(app.id))?.suspect).toBeUndefined();
  });

  it("two sweeps less than the grace window apart do not file, however many", async () => {
    const w = await world({ graceSeconds: 900 });
    const app = await group("app");
    await w.sweep();
    await authorize(untracked, app.id, [tcp(22, "0.0.0.0/0")]);
    for (const minutes of [1, 5, 10]) {
      now = T0 + minutes * MINUTE;
      expect(await w.sweep()).toMatchObject({ suspected: 1, drift: 0 });
    }
    expect(w.hub.sent).toEqual([]);
  });

  it("graceSeconds 0 files at first sight, once", async () => {
    const w = await world({ graceSeconds: 0 });
    const app = await group("app", [tcp(443, "10.0.0.0/8")]);
    await w.sweep();
    const [added] = await authorize(untracked, app.id, [tcp(3389, "0.0.0.0/0", "rdp")]);
    now = T0 + 1000;
    expect(await w.sweep()).toMatchObject({ drift: 1, suspected: 0 });
    expect(await live(app.id)).toEqual(app.rules);
    expect(driftOf(w.hub.changes()[0])).toMatchObject({
      added: [added],
      removed: [],
      modifications: [],
      eventTime: at(now),
    });
    now += 1000;
    expect(await w.sweep()).toMatchObject({ drift: 0, suspected: 0 });
    expect(w.hub.changes()).toHaveLength(1);
  });

  it("a remove: the approved rule is authorised again, and the baseline only learns its new id", async () => {
    const w = await world({ graceSeconds: 0 });
    const app = await group("app", [
      tcp(22, "10.0.0.0/8", "ssh from the VPN"),
      tcp(443, "0.0.0.0/0"),
    ]);
    await w.sweep();
    const ssh = app.rules.find((r) => r.fromPort === 22) as Rule;
    await revokeById(untracked, app.id, ssh);

    now = T0 + MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 1 });
    expect(contents(await live(app.id))).toEqual(contents(app.rules));
    const restored = (await live(app.id)).find((r) => r.fromPort === 22) as Rule;
    expect(restored.ruleId).not.toBe(ssh.ruleId);
    expect(w.writes()).toEqual({ AuthorizeSecurityGroupIngress: 1 });
    const change = driftOf(w.hub.changes()[0]);
    expect(change.removed).toEqual([ssh]);
    expect(change.added).toEqual([]);

    const record = await w.deps.baselines.read(app.id);
    expect(record?.rules?.sort(byId)).toEqual(await live(app.id));
    expect(record?.lastChange?.by).toBe(`revert:${change.eventId}`);
    now += MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 0, suspected: 0 });
  });

  it("an in-place modify (ModifySecurityGroupRules): the approved content is written back on the same rule id", async () => {
    const w = await world({ graceSeconds: 0 });
    const app = await group("app", [tcp(22, "10.0.0.0/8", "ssh")]);
    await w.sweep();
    const ssh = port(app, 22);
    await modify(untracked, app.id, ssh.ruleId as string, tcp(22, "0.0.0.0/0", "ssh"));

    now = T0 + MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 1 });
    expect(await live(app.id)).toEqual(app.rules);
    expect(w.writes()).toEqual({ ModifySecurityGroupRules: 1 });
    const change = driftOf(w.hub.changes()[0]);
    const { direction: _d, ...edited } = tcp(22, "0.0.0.0/0", "ssh");
    expect(change.modifications).toEqual([{ ruleId: ssh.ruleId, rule: edited, before: ssh }]);
    expect(change.added).toEqual([]);
    expect(change.removed).toEqual([]);
    expect(await approved(w, app.id)).toEqual(app.rules);
  });

  it("an untracked edit that makes a rule look like another approved rule is not laundered into the baseline by an id change elsewhere", async () => {
    const w = await world({ graceSeconds: 900 });
    const app = await group("app", [
      tcp(22, "10.0.0.0/8", "ssh"),
      tcp(80, "0.0.0.0/0", "web"),
      tcp(443, "0.0.0.0/0", "tls"),
    ]);
    await w.sweep();
    const [ssh, web, tls] = [22, 80, 443].map(
      (p) => app.rules.find((r) => r.fromPort === p) as Rule,
    ) as [Rule, Rule, Rule];
    // Untracked: web goes, ssh becomes what web was, and tls is removed and added again as it was
    // (an approved rule under a new id: the baseline may learn that id, and nothing else).
    await revokeById(untracked, app.id, web);
    await modify(untracked, app.id, ssh.ruleId as string, tcp(80, "0.0.0.0/0", "web"));
    await revokeById(untracked, app.id, tls);
    const [tls2] = await authorize(untracked, app.id, [bare(tls)]);

    now = T0 + 15 * MINUTE;
    expect(await w.sweep()).toMatchObject({ suspected: 1, drift: 0 });
    const baseline = await approved(w, app.id);
    expect(contents(baseline)).toEqual(contents(app.rules));
    expect(baseline.find((r) => r.ruleId === ssh.ruleId)).toEqual(ssh);
    expect(baseline.find((r) => r.fromPort === 443)?.ruleId).toBe(tls2?.ruleId);

    now = T0 + 30 * MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 1 });
    expect(contents(await live(app.id))).toEqual(contents(app.rules));
    expect((await live(app.id)).find((r) => r.ruleId === ssh.ruleId)).toEqual(ssh);
  });
});

describe("groups that come and go", () => {
  it("a group new since the last sweep: its default egress rule is adopted, an extra rule on it is drift", async () => {
    const w = await world({ graceSeconds: 0 });
    await w.sweep();
    const late = await group("late");
    const egress = late.rules.find((r) => r.direction === "egress") as Rule;
    expect(bare(egress)).toEqual(EGRESS_ALL);
    const [extra] = await authorize(untracked, late.id, [tcp(8080, "0.0.0.0/0", "dev server")]);

    now = T0 + MINUTE;
    expect(await w.sweep()).toMatchObject({ adopted: 1, drift: 1, install: false });
    expect(await live(late.id)).toEqual([egress]);
    const record = await w.deps.baselines.read(late.id);
    expect(record?.rules).toEqual([egress]);
    expect(record?.lastChange).toEqual({ at: at(now), by: "creation" });
    expect(record?.name).toBe("late");
    const change = driftOf(w.hub.changes()[0]);
    expect(change.added).toEqual([extra]);
    expect(change.removed).toEqual([]);

    now += MINUTE;
    expect(await w.sweep()).toMatchObject({ adopted: 0, drift: 0, suspected: 0 });
  });

  it("a deleted group's baseline is retired", async () => {
    const w = await world({ graceSeconds: 0 });
    const gone = await group("gone", [tcp(22, "10.0.0.0/8")]);
    const kept = await group("kept", [tcp(22, "10.0.0.0/8")]);
    await w.sweep();
    await untrackedClient.send(new DeleteSecurityGroupCommand({ GroupId: gone.id }));
    now = T0 + MINUTE;
    expect(await w.sweep()).toMatchObject({ retired: 1, drift: 0 });
    expect(await w.deps.baselines.read(gone.id)).toBeUndefined();
    expect(await approved(w, kept.id)).toEqual(kept.rules);
    expect(w.hub.sent).toEqual([]);
  });
});

describe("approving a drift", () => {
  it("makes the drift again with the right EC2 calls, moves the baseline (why: the request), and the next sweep is clean", async () => {
    const w = await world({ graceSeconds: 0 });
    const app = await group("app", [tcp(443, "10.0.0.0/8", "https"), tcp(22, "10.0.0.0/8", "ssh")]);
    await w.sweep();
    const https = app.rules.find((r) => r.fromPort === 443) as Rule;
    const ssh = app.rules.find((r) => r.fromPort === 22) as Rule;
    // Untracked: an add, a remove and an edit.
    const [admin] = await authorize(untracked, app.id, [tcp(8443, "192.168.0.0/16", "admin")]);
    await revokeById(untracked, app.id, https);
    await modify(untracked, app.id, ssh.ruleId as string, tcp(22, "172.16.0.0/12", "ssh"));
    const drifted = await live(app.id);

    now = T0 + MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 1 });
    expect(contents(await live(app.id))).toEqual(contents(app.rules));
    const message = w.hub.changes()[0] as ChangeMessage;
    const change = driftOf(message);
    expect(change.added).toEqual([admin]);
    expect(change.removed).toEqual([https]);
    expect(change.modifications.map((m) => [m.ruleId, m.before])).toEqual([[ssh.ruleId, ssh]]);

    w.calls.clear();
    now += 10 * MINUTE;
    await w.approve(message);
    const requestId = requestIdFor(change);
    expect(w.hub.results()).toEqual([
      expect.objectContaining({ type: "result", requestId, outcome: "applied" }),
    ]);
    expect(w.writes()).toEqual({
      AuthorizeSecurityGroupIngress: 1,
      ModifySecurityGroupRules: 1,
      RevokeSecurityGroupIngress: 1,
    });
    const after = await live(app.id);
    expect(contents(after)).toEqual(contents(drifted));
    const record = await w.deps.baselines.read(app.id);
    expect(record?.rules?.sort(byId)).toEqual(after);
    expect(record?.lastChange).toEqual({ at: at(now), by: `request:${requestId}` });

    now += 15 * MINUTE;
    w.calls.clear();
    expect(await w.sweep()).toMatchObject({ drift: 0, suspected: 0 });
    expect(w.writes()).toEqual({});
    expect(w.hub.changes()).toHaveLength(1);
  });
});

describe("a drift that moves a rule's content to another rule", () => {
  it("is reverted and approved whole: EC2 is asked in an order it accepts", async () => {
    const w = await world({ graceSeconds: 0 });
    const app = await group("app", [tcp(22, "10.0.0.0/8", "ssh")]);
    await w.sweep();
    const ssh = port(app, 22);
    // Untracked: the ssh rule becomes a web rule, and a new rule takes the ssh rule's content.
    await modify(untracked, app.id, ssh.ruleId as string, tcp(80, "0.0.0.0/0", "web"));
    const [copy] = await authorize(untracked, app.id, [tcp(22, "10.0.0.0/8", "ssh")]);
    const drifted = await live(app.id);

    now = T0 + MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 1 });
    expect(await live(app.id)).toEqual(app.rules);
    const message = w.hub.changes()[0] as ChangeMessage;
    const change = driftOf(message);
    expect(change.added).toEqual([copy]);
    expect(change.modifications.map((m) => [m.ruleId, m.before])).toEqual([[ssh.ruleId, ssh]]);

    now += MINUTE;
    w.calls.clear();
    await w.approve(message);
    expect(w.hub.results()).toEqual([expect.objectContaining({ outcome: "applied" })]);
    expect(w.writes()).toEqual({ AuthorizeSecurityGroupIngress: 1, ModifySecurityGroupRules: 1 });
    expect(contents(await live(app.id))).toEqual(contents(drifted));
    expect(await approved(w, app.id)).toEqual(await live(app.id));
    now += MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 0, suspected: 0 });
  });
});

describe("a sweep between a change and its (delayed) CloudTrail event", () => {
  it("modify 10.0.0.0/8 -> 0.0.0.0/0, a sweep, then the event: the revert writes 10.0.0.0/8 back", async () => {
    const w = await world({ graceSeconds: 900 });
    const app = await group("app", [tcp(22, "10.0.0.0/8", "ssh")]);
    await w.sweep();
    const ssh = port(app, 22);

    now = T0 + 5 * MINUTE;
    await modify(alice, app.id, ssh.ruleId as string, tcp(22, "0.0.0.0/0", "ssh"));
    const event = await takeEvent();
    now = T0 + 15 * MINUTE;
    expect(await w.sweep()).toMatchObject({ suspected: 1, drift: 0 });
    // The sweep took nothing from EC2: the approved rule is still 10.0.0.0/8.
    expect(await approved(w, app.id)).toEqual(app.rules);

    // CloudTrail delivers four minutes after the call: within the age limit.
    now = T0 + 9 * MINUTE;
    expect(await w.revert(event)).toBe("reverted");
    expect(await live(app.id)).toEqual(app.rules);
    expect(w.writes()).toEqual({ ModifySecurityGroupRules: 1 });
    const [message] = w.hub.changes();
    expect(message?.change).toMatchObject({ kind: "modify", groupId: app.id });
    expect(message?.change.kind === "modify" && message.change.modifications[0]?.before).toEqual(
      ssh,
    );
    expect(await approved(w, app.id)).toEqual(app.rules);

    now = T0 + 45 * MINUTE;
    expect(await w.sweep()).toMatchObject({ suspected: 0, drift: 0 });
    expect((await w.deps.baselines.read(app.id))?.suspect).toBeUndefined();
    expect(w.hub.changes()).toHaveLength(1);
  });

  it("graceSeconds 0: the sweep files the edit as drift and restores 10.0.0.0/8; the event joins that request and writes nothing", async () => {
    const w = await world({ graceSeconds: 0 });
    const app = await group("app", [tcp(22, "10.0.0.0/8", "ssh")]);
    await w.sweep();
    const ssh = port(app, 22);
    await modify(alice, app.id, ssh.ruleId as string, tcp(22, "0.0.0.0/0", "ssh"));
    const event = await takeEvent();

    now = T0 + MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 1 });
    expect(await live(app.id)).toEqual(app.rules);
    const drift = driftOf(w.hub.changes()[0]);

    w.calls.clear();
    now = T0 + 20 * MINUTE;
    expect(await w.revert(event)).toBe("joined");
    expect(w.writes()).toEqual({});
    expect(await live(app.id)).toEqual(app.rules);
    const joined = w.hub.changes()[1];
    expect(joined?.joinsDrift).toBe(requestIdFor(drift));
    expect(joined?.change).toMatchObject({
      kind: "modify",
      eventId: event.detail.eventID,
      requester: { type: "IAMUser", name: "alice" },
    });
    expect(w.hub.changes()).toHaveLength(2);
    expect(await approved(w, app.id)).toEqual(app.rules);
  });
});

describe("late events of drift", () => {
  it("an add's event arriving after the sweep filed it as drift joins that request and reverts nothing more", async () => {
    const w = await world({ graceSeconds: 0 });
    const app = await group("app", [tcp(443, "10.0.0.0/8")]);
    await w.sweep();
    const [added] = await authorize(alice, app.id, [tcp(22, "0.0.0.0/0", "debug")]);
    const event = await takeEvent();

    now = T0 + MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 1 });
    const drift = driftOf(w.hub.changes()[0]);
    expect(drift.added).toEqual([added]);

    w.calls.clear();
    now = T0 + 30 * MINUTE; // later than the age limit: it joins all the same
    expect(await w.revert(event)).toBe("joined");
    expect(w.writes()).toEqual({});
    expect(w.hub.changes()).toHaveLength(2);
    expect(w.hub.changes()[1]).toMatchObject({
      joinsDrift: requestIdFor(drift),
      change: { kind: "add", eventId: event.detail.eventID },
    });
    expect(await live(app.id)).toEqual(app.rules);
    // A redelivery of the same event does nothing more.
    expect(await w.revert(event)).toBe("duplicate");
    expect(w.hub.changes()).toHaveLength(2);
  });

  it("the same rule added again later, with its own event, is reverted and filed: it does not join the old drift", async () => {
    const w = await world({ graceSeconds: 0 });
    const app = await group("app", [tcp(443, "10.0.0.0/8")]);
    await w.sweep();
    await authorize(untracked, app.id, [tcp(22, "0.0.0.0/0", "debug")]);
    now = T0 + MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 1 });

    now = T0 + 60 * MINUTE;
    await authorize(alice, app.id, [tcp(22, "0.0.0.0/0", "debug")]);
    expect(await w.revert(await takeEvent())).toBe("reverted");
    expect(await live(app.id)).toEqual(app.rules);
    const [, second] = w.hub.changes();
    expect(second?.joinsDrift).toBeUndefined();
    expect(second?.change.kind).toBe("add");
  });

  it("the same rule edited again later, with its own event, is reverted: it does not join the old drift", async () => {
    const w = await world({ graceSeconds: 0 });
    const app = await group("app", [tcp(22, "10.0.0.0/8", "ssh")]);
    await w.sweep();
    const ssh = port(app, 22);
    await modify(untracked, app.id, ssh.ruleId as string, tcp(22, "0.0.0.0/0", "ssh"));
    now = T0 + MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 1 });
    expect(await live(app.id)).toEqual(app.rules);

    now = T0 + 60 * MINUTE;
    await modify(alice, app.id, ssh.ruleId as string, tcp(22, "0.0.0.0/0", "ssh"));
    expect(await w.revert(await takeEvent())).toBe("reverted");
    expect(await live(app.id)).toEqual(app.rules);
    expect(w.hub.changes()[1]?.joinsDrift).toBeUndefined();
  });

  it("the restored rule removed again later, with its own event, is reverted: it does not join the old drift", async () => {
    const w = await world({ graceSeconds: 0 });
    const app = await group("app", [tcp(22, "10.0.0.0/8", "ssh")]);
    await w.sweep();
    await revokeById(untracked, app.id, port(app, 22));
    now = T0 + MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 1 });
    const restored = port({ rules: await live(app.id) }, 22);

    now = T0 + 60 * MINUTE;
    await revokeById(alice, app.id, restored as Rule);
    expect(await w.revert(await takeEvent())).toBe("reverted");
    expect(contents(await live(app.id))).toEqual(contents(app.rules));
    expect(w.hub.changes()[1]?.joinsDrift).toBeUndefined();
  });
});

describe("changes left live for a person", () => {
  it("a late event (past the age limit) stays live while a person decides: the sweep neither reverts it nor files it again", async () => {
    const w = await world({ graceSeconds: 0 });
    const app = await group("app", [tcp(443, "10.0.0.0/8")]);
    await w.sweep();
    const [added] = await authorize(alice, app.id, [tcp(22, "0.0.0.0/0", "hotfix")]);
    const event = await takeEvent();
    now = T0 + 10 * MINUTE;
    expect(await w.revert(event)).toBe("revert_failed");
    expect(w.hub.changes()[0]?.revertError?.code).toBe("EventTooLate");

    now = T0 + 15 * MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 0, recovered: 0, suspected: 0 });
    expect(await live(app.id)).toContainEqual(added);
    expect(w.hub.changes()).toHaveLength(1);
  });
});

describe("bounds", () => {
  it("a group a revert holds is left busy, and checked at the next sweep", async () => {
    const w = await world({ graceSeconds: 0 });
    const app = await group("app", [tcp(443, "10.0.0.0/8")]);
    await w.sweep();
    const [added] = await authorize(untracked, app.id, [tcp(22, "0.0.0.0/0")]);
    now = T0 + MINUTE;
    // A revert holds it with its event's receipt (a revert never waits).
    const held = { eventId: "e-being-reverted", groupId: app.id };
    await w.deps.ledger.receive(held, at(now), { busyUntil: at(now + MINUTE) });
    expect(await w.sweep()).toMatchObject({ busy: 1, drift: 0, suspected: 0 });
    expect(await live(app.id)).toContainEqual(added);
    expect(w.hub.sent).toEqual([]);
    expect(w.writes()).toEqual({});

    await w.deps.ledger.release(held);
    now += MINUTE;
    expect(await w.sweep()).toMatchObject({ busy: 0, drift: 1 });
    expect(await live(app.id)).toEqual(app.rules);
  });

  it("a receipt left by a crashed revert holds the group only until it expires", async () => {
    const w = await world({ graceSeconds: 0 });
    const app = await group("app");
    await w.sweep();
    await authorize(untracked, app.id, [tcp(22, "0.0.0.0/0")]);
    const crashed = { eventId: "e-crashed", groupId: app.id };
    await w.deps.ledger.receive(crashed, at(T0), { busyUntil: at(T0 + MINUTE) });
    now = T0 + 2 * MINUTE;
    expect(await w.sweep()).toMatchObject({ busy: 0, drift: 1 });
  });

  it("maxPerSweep bounds the drift filed by one run; the rest is filed by the next", async () => {
    const w = await world({ graceSeconds: 0, maxPerSweep: 2 });
    const groups = await Promise.all(
      ["a", "b", "c"].map((n) => group(n, [tcp(443, "10.0.0.0/8")])),
    );
    await w.sweep();
    for (const g of groups) await authorize(untracked, g.id, [tcp(22, "0.0.0.0/0")]);

    now = T0 + MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 2 });
    expect(w.hub.changes()).toHaveLength(2);
    const stillDrifted = [];
    for (const g of groups) {
      if (contents(await live(g.id)).length !== contents(g.rules).length) stillDrifted.push(g.id);
    }
    expect(stillDrifted).toHaveLength(1);

    now += MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 1 });
    for (const g of groups) expect(await live(g.id)).toEqual(g.rules);
    expect(new Set(w.hub.changes().map((m) => m.change.groupId))).toEqual(
      new Set(groups.map((g) => g.id)),
    );
  });
});

describe("fail closed: the member's DynamoDB down at change time", () => {
  const downDoc = () =>
    documentClient(
      new DynamoDBClient({
        ...clientConfig({ connectMs: 200, requestMs: 500, attempts: 1 }),
        endpoint: "http://127.0.0.1:1",
        region: REGION,
        credentials: credentials("x"),
      }),
    );

  /** The member with its baselines and ledger on a closed port; EC2, the hub, the clock as `w`'s. */
  const withoutDynamo = (w: World): MemberDeps => ({
    ...memberDepsOn(downDoc(), { account: ACCOUNT, region: REGION, table: w.table }),
    securityGroups: w.deps.securityGroups,
    hub: w.hub,
    clock: w.deps.clock,
  });
  const OPEN_10_8 = { kind: "cidrIpv4", cidr: "0.0.0.0/0" } as const;
  const requestIds = (w: World) =>
    new Set(
      w.hub
        .changes()
        .filter((m) => !m.joinsDrift)
        .map((m) => requestIdFor(m.change)),
    );

  it("every revert attempt fails while DynamoDB is down; revertFailed's retry once it is back files it live; one sweep reverts it, and the same request is told: one request", async () => {
    const w = await world({ graceSeconds: 900 });
    const app = await group("app", [tcp(22, "10.0.0.0/8", "ssh")]);
    await w.sweep();
    const ssh = port(app, 22);
    const broken = withoutDynamo(w);
    now = T0 + MINUTE;
    await modify(alice, app.id, ssh.ruleId as string, tcp(22, "0.0.0.0/0", "ssh"));
    const event = await takeEvent();
    // Lambda's three attempts, and revertFailed's first, all while DynamoDB is down.
    for (let attempt = 0; attempt < 3; attempt++) {
      await expect(createRevertHandler(() => broken)(event)).rejects.toThrow(/DynamoDB/);
    }
    const failure = {
      requestContext: { condition: "RetriesExhausted", approximateInvokeCount: 3 },
      requestPayload: event,
      responsePayload: { errorType: "DynamoDbError", errorMessage: "DynamoDB is down" },
    };
    await expect(createRevertFailedHandler(() => broken)(failure)).rejects.toThrow(/DynamoDB/);
    expect(port({ rules: await live(app.id) }, 22)).toEqual({ ...ssh, peer: OPEN_10_8 });
    const first = w.hub.changes()[0];
    expect(first?.revertError?.code).toBe("BaselineUnavailable");
    const eventRequest = requestIdFor(first?.change as ChangeMessage["change"]);
    expect(requestIds(w)).toEqual(new Set([eventRequest]));

    // DynamoDB is back: revertFailed's retry files the change as not reverted (live). Later than
    // the age limit after the change: it failed, it was not late.
    now = T0 + 12 * MINUTE;
    expect(await createRevertFailedHandler(() => w.deps)(failure)).toMatchObject({ filed: true });
    expect((await w.deps.baselines.read(app.id))?.open).toHaveLength(1);

    // One sweep, however soon: the edit is reverted, and the same request is told so.
    now = T0 + 13 * MINUTE;
    w.calls.clear();
    expect(await w.sweep()).toMatchObject({ recovered: 1, drift: 0 });
    expect(await live(app.id)).toEqual(app.rules);
    expect(w.writes()).toEqual({ ModifySecurityGroupRules: 1 });
    expect(await approved(w, app.id)).toEqual(app.rules);
    const last = w.hub.changes().at(-1);
    expect(last?.revertError).toBeUndefined();
    expect(last?.change).toMatchObject({ kind: "modify", eventId: event.detail.eventID });
    expect(requestIds(w)).toEqual(new Set([eventRequest]));
    expect((await w.deps.baselines.read(app.id))?.open).toEqual([]);

    now = T0 + 20 * MINUTE;
    const sent = w.hub.sent.length;
    expect(await w.sweep()).toMatchObject({ recovered: 0, drift: 0, suspected: 0 });
    expect(w.hub.sent).toHaveLength(sent);
  });

  it("the event's retry once DynamoDB is back reverts the edit; the sweep then finds nothing: one request", async () => {
    const w = await world({ graceSeconds: 0 });
    const app = await group("app", [tcp(22, "10.0.0.0/8", "ssh")]);
    await w.sweep();
    const ssh = port(app, 22);
    now = T0 + MINUTE;
    await modify(alice, app.id, ssh.ruleId as string, tcp(22, "0.0.0.0/0", "ssh"));
    const event = await takeEvent();
    await expect(createRevertHandler(() => withoutDynamo(w))(event)).rejects.toThrow(/DynamoDB/);
    expect(w.hub.changes()[0]?.revertError?.code).toBe("BaselineUnavailable");

    now = T0 + 2 * MINUTE;
    expect(await w.revert(event)).toBe("reverted");
    expect(await live(app.id)).toEqual(app.rules);
    expect(w.hub.changes().at(-1)?.revertError).toBeUndefined();

    now = T0 + 3 * MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 0, recovered: 0, suspected: 0 });
    expect(w.hub.changes()).toHaveLength(2);
    expect(requestIds(w).size).toBe(1);
  });

  it("an outage that outlasts every retry: one sweep reverts the edit as drift, with one message; the record redriven later joins that drift", async () => {
    const w = await world({ graceSeconds: 0 });
    const app = await group("app", [tcp(22, "10.0.0.0/8", "ssh")]);
    await w.sweep();
    const ssh = port(app, 22);
    const broken = withoutDynamo(w);
    now = T0 + MINUTE;
    await modify(alice, app.id, ssh.ruleId as string, tcp(22, "0.0.0.0/0", "ssh"));
    const event = await takeEvent();
    await expect(createRevertHandler(() => broken)(event)).rejects.toThrow(/DynamoDB/);
    const failure = {
      requestPayload: event,
      responsePayload: { errorMessage: "DynamoDB is down" },
    };
    await expect(createRevertFailedHandler(() => broken)(failure)).rejects.toThrow(/DynamoDB/);
    // (What the outage sent the hub never reached this member's ledger: only the hub knows it.)
    const before = w.hub.changes().length;

    now = T0 + 30 * MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 1 });
    expect(await live(app.id)).toEqual(app.rules);
    const sweepMessages = w.hub.changes().slice(before);
    expect(sweepMessages).toHaveLength(1);
    const drift = driftOf(sweepMessages[0]);
    expect(drift.modifications.map((m) => [m.ruleId, m.before])).toEqual([[ssh.ruleId, ssh]]);

    // The dead-letter queue redriven: it joins the drift's request, and nothing is reverted twice.
    w.calls.clear();
    now = T0 + 60 * MINUTE;
    expect(await createRevertFailedHandler(() => w.deps)(failure)).toMatchObject({ filed: true });
    expect(w.writes()).toEqual({});
    expect(w.hub.changes().at(-1)?.joinsDrift).toBe(requestIdFor(drift));
    expect((await w.deps.baselines.read(app.id))?.open).toEqual([]);
    expect(await w.sweep()).toMatchObject({ drift: 0, recovered: 0 });
  });

  it("the hub unreachable while drift is filed: the sweep goes on with the other groups, and the message leaves by the outbox", async () => {
    const w = await world({ graceSeconds: 0 });
    const groups = await Promise.all(["a", "b"].map((n) => group(n, [tcp(443, "10.0.0.0/8")])));
    await w.sweep();
    for (const g of groups) await authorize(untracked, g.id, [tcp(22, "0.0.0.0/0")]);
    w.hub.failures = 1;
    now = T0 + MINUTE;
    const result = await w.sweep();
    expect(result).toMatchObject({ drift: 2, republished: 1 });
    for (const g of groups) expect(await live(g.id)).toEqual(g.rules);
    expect(new Set(w.hub.changes().map((m) => m.change.groupId))).toEqual(
      new Set(groups.map((g) => g.id)),
    );
    expect(w.hub.changes()).toHaveLength(2);
  });

  it("an add is reverted at once without DynamoDB and filed once; after recovery the sweep files nothing more", async () => {
    const w = await world({ graceSeconds: 0 });
    const app = await group("app", [tcp(443, "10.0.0.0/8")]);
    await w.sweep();
    const broken = withoutDynamo(w);
    now = T0 + MINUTE;
    await authorize(alice, app.id, [tcp(22, "0.0.0.0/0")]);
    const event = await takeEvent();
    await expect(createRevertHandler(() => broken)(event)).rejects.toThrow(/DynamoDB/);
    expect(await live(app.id)).toEqual(app.rules);
    expect(w.hub.changes()).toHaveLength(1);
    expect(w.hub.changes()[0]?.revertError).toBeUndefined();

    now = T0 + 2 * MINUTE;
    expect(await w.sweep()).toMatchObject({ drift: 0, suspected: 0 });
    expect(await live(app.id)).toEqual(app.rules);
    expect(w.hub.changes()).toHaveLength(1);
  });
});
