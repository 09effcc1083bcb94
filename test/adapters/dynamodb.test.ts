/**
 * The DynamoDB adapters against dynalite in process: the real DynamoDB API, no mocks.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DynamoBaselines,
  DynamoEventLedger,
  EVENT_SK,
  eventKey,
  eventPk,
  groupEventSk,
} from "../../src/adapters/dynamodb/baselines.js";
import { batchWrite, type WriteRequest } from "../../src/adapters/dynamodb/batch.js";
import { DynamoDbError } from "../../src/adapters/dynamodb/errors.js";
import { DynamoRequestStore } from "../../src/adapters/dynamodb/request-store.js";
import {
  BASELINES_TABLE,
  createTableInput,
  DEFAULT_TABLE_NAMES,
  ensureTables,
  REQUESTS_TABLE,
} from "../../src/adapters/dynamodb/tables.js";
import type { AddChange } from "../../src/domain/change.js";
import {
  type ApprovalRequest,
  createRequest,
  type RequestEvent,
  requestIdFromUlid,
  transition,
} from "../../src/domain/request.js";
import type { Rule } from "../../src/domain/rule.js";
import type { EventRef } from "../../src/ports/baselines.js";
import { ConflictError, NotFoundError } from "../../src/ports/errors.js";
import { type DynamoClients, dynamoClients, startDynalite } from "../../src/sandbox/dynamodb.js";

let stopDynalite: () => Promise<void>;
let clients: DynamoClients;
let store: DynamoRequestStore;

beforeAll(async () => {
  const running = await startDynalite();
  stopDynalite = running.stop;
  clients = dynamoClients(running.endpoint);
  await ensureTables(clients.client);
  store = new DynamoRequestStore(clients.doc, DEFAULT_TABLE_NAMES.requests);
});

afterAll(async () => {
  clients?.client.destroy();
  await stopDynalite?.();
});

const GROUP = "sg-0123456789abcdef0";

function addChange(groupId = GROUP): AddChange {
  return {
    kind: "add",
    eventName: "AuthorizeSecurityGroupIngress",
    eventId: `ev-${ulid()}`,
    eventTime: "2025-03-01T10:00:00Z",
    account: "111122223333",
    region: "us-east-1",
    groupId,
    requester: {
      arn: "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_abc/alice@example.com",
      type: "AssumedRole",
      name: "alice@example.com",
      sso: true,
    },
    direction: "ingress",
    rules: [
      {
        direction: "ingress",
        protocol: "tcp",
        fromPort: 22,
        toPort: 22,
        peer: { kind: "cidrIpv4", cidr: "203.0.113.7/32" },
        ruleId: "sgr-0aaaaaaaaaaaaaaaa",
      },
    ],
  };
}

function newRequest(now = "2025-03-01T10:00:05.000Z", groupName = "web"): ApprovalRequest {
  return createRequest({
    requestId: requestIdFromUlid(ulid()),
    change: addChange(),
    verification: { verified: false, reason: "an assumed role" },
    requiredApprovals: 1,
    now,
    expiresAt: "2025-03-02T10:00:05.000Z",
    accountAlias: "prod",
    groupName,
  });
}

const approve = (id: string, at = "2025-03-01T10:05:00.000Z"): RequestEvent => ({
  type: "approve",
  by: { id, name: `user ${id}` },
  at,
});
const deny = (id: string, at = "2025-03-01T10:05:00.000Z"): RequestEvent => ({
  type: "deny",
  by: { id },
  at,
});

async function rawItem(table: string, key: Record<string, string>) {
  const out = await clients.doc.send(new GetCommand({ TableName: table, Key: key }));
  return out.Item;
}

describe("table definitions", () => {
  it("createTableInput declares every key attribute once, the GSI and on-demand billing", () => {
    const input = createTableInput(REQUESTS_TABLE, "custom");
    expect(input.TableName).toBe("custom");
    expect(input.BillingMode).toBe("PAY_PER_REQUEST");
    expect(input.KeySchema).toEqual([{ AttributeName: "requestId", KeyType: "HASH" }]);
    expect(input.AttributeDefinitions).toEqual([
      { AttributeName: "requestId", AttributeType: "S" },
      { AttributeName: "status", AttributeType: "S" },
      { AttributeName: "createdAt", AttributeType: "S" },
      { AttributeName: "dueBucket", AttributeType: "S" },
      { AttributeName: "due", AttributeType: "S" },
    ]);
    expect(input.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: "byStatus",
        KeySchema: [
          { AttributeName: "status", KeyType: "HASH" },
          { AttributeName: "createdAt", KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      },
      {
        IndexName: "byDue",
        KeySchema: [
          { AttributeName: "dueBucket", KeyType: "HASH" },
          { AttributeName: "due", KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      },
    ]);
    const baselines = createTableInput(BASELINES_TABLE);
    expect(baselines.TableName).toBe("securityGroupBaselines");
    expect(baselines.KeySchema?.map((k) => k.KeyType)).toEqual(["HASH", "RANGE"]);
    expect(baselines.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: "byOutbox",
        KeySchema: [
          { AttributeName: "outbox", KeyType: "HASH" },
          { AttributeName: "handledAt", KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "KEYS_ONLY" },
      },
    ]);
  });

  it("ensureTables is idempotent", async () => {
    await expect(ensureTables(clients.client)).resolves.toBeUndefined();
  });
});

describe("DynamoRequestStore", () => {
  it("creates a request once; a duplicate create returns false and changes nothing", async () => {
    const request = newRequest();
    expect(await store.create(request)).toBe(true);
    expect(await store.create({ ...request, groupName: "other" })).toBe(false);
    expect(await store.get(request.requestId)).toEqual(request);
  });

  it("stores ttl = createdAt + 400 days and strips it when reading back", async () => {
    const request = newRequest("2025-03-01T00:00:00.000Z");
    await store.create(request);
    const item = await rawItem(DEFAULT_TABLE_NAMES.requests, { requestId: request.requestId });
    expect(item?.ttl).toBe(Date.parse("2025-03-01T00:00:00Z") / 1000 + 400 * 86_400);
    expect(await store.get(request.requestId)).not.toHaveProperty("ttl");
  });

  it("get of an unknown id is undefined", async () => {
    expect(await store.get(requestIdFromUlid(ulid()))).toBeUndefined();
  });

  it("drops undefined fields even with a document client lacking removeUndefinedValues", async () => {
    const plainStore = new DynamoRequestStore(DynamoDBDocumentClient.from(clients.client));
    const request = { ...newRequest(), policyReason: undefined };
    expect(await plainStore.create(request)).toBe(true);
    expect(await plainStore.get(request.requestId)).not.toHaveProperty("policyReason");
  });

  it("transitions pending -> approved and stores the next request", async () => {
    const request = newRequest();
    await store.create(request);
    const next = transition(request, approve("U1"));
    await store.transition(request, next);
    expect(await store.get(request.requestId)).toEqual(next);
  });

  it("a transition removes optional fields the next request no longer has", async () => {
    const request = newRequest();
    await store.create(request);
    const { groupName: _dropped, ...next } = transition(request, deny("U1"));
    await store.transition(request, next);
    const stored = await store.get(request.requestId);
    expect(stored).toEqual(next);
    expect(stored).not.toHaveProperty("groupName");
  });

  it("a transition from the wrong status throws ConflictError naming the current status", async () => {
    const request = newRequest();
    await store.create(request);
    await store.transition(request, transition(request, approve("U1")));
    const late = transition(request, deny("U2"));
    const error = await store.transition(request, late).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toContain("approved");
    expect((await store.get(request.requestId))?.status).toBe("approved");
  });

  it("a transition of an unknown id throws NotFoundError and creates nothing", async () => {
    const ghost = newRequest();
    const error = await store
      .transition(ghost, transition(ghost, approve("U1")))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(await store.get(ghost.requestId)).toBeUndefined();
  });

  it("of 100 concurrent approves and denies exactly one wins, and the item is the winner's", async () => {
    const request = newRequest();
    await store.create(request);
    const events = Array.from({ length: 100 }, (_, i) =>
      i % 2 === 0 ? approve(`UAPPROVE${i}`) : deny(`UDENY${i}`),
    );
    const nexts = events.map((event) => transition(request, event));
    const results = await Promise.allSettled(nexts.map((next) => store.transition(request, next)));

    const winners = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
    expect(winners).toHaveLength(1);
    const winner = nexts[winners[0] as number] as ApprovalRequest;
    for (const r of results) {
      if (r.status === "rejected") {
        expect(r.reason).toBeInstanceOf(ConflictError);
        expect((r.reason as Error).message).toContain(winner.status);
      }
    }
    const stored = await store.get(request.requestId);
    expect(stored?.status).toBe(winner.status);
    expect(stored?.decidedBy).toEqual(winner.decidedBy);
    expect(stored?.history).toHaveLength(2);
  });

  it("setSlackRefs twice (approval, then monitoring) keeps both", async () => {
    const request = newRequest();
    await store.create(request);
    const approval = { channel: "CAPPROVE", ts: "1700000000.000100" };
    const monitoring = { channel: "CMONITOR", ts: "1700000000.000200" };
    await store.setSlackRefs(request.requestId, { approval }, "2025-03-01T10:02:05.000Z");
    await store.setSlackRefs(request.requestId, { monitoring }, request.expiresAt);
    const stored = await store.get(request.requestId);
    expect(stored?.slack).toEqual({ approval, monitoring });
    expect(stored?.due).toBe(request.expiresAt);
  });

  it("a transition from a copy read before setSlackRefs keeps the Slack refs", async () => {
    const request = newRequest();
    await store.create(request);
    const stale = await store.get(request.requestId);
    const approval = { channel: "CAPPROVE", ts: "1700000000.000300" };
    await store.setSlackRefs(request.requestId, { approval }, undefined);
    await store.transition(
      stale as ApprovalRequest,
      transition(stale as ApprovalRequest, approve("U1")),
    );
    const stored = await store.get(request.requestId);
    expect(stored?.status).toBe("approved");
    expect(stored?.slack).toEqual({ approval });
  });

  it("setSlackRefs of an unknown id throws NotFoundError and creates nothing", async () => {
    const id = requestIdFromUlid(ulid());
    const error = await store
      .setSlackRefs(id, { approval: { channel: "C1", ts: "1.2" } }, undefined)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(await rawItem(DEFAULT_TABLE_NAMES.requests, { requestId: id })).toBeUndefined();
  });

  it("SDK errors other than a lost condition surface as DynamoDbError naming the table", async () => {
    const missing = new DynamoRequestStore(clients.doc, "noSuchTable");
    const error = await missing.get("r-x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DynamoDbError);
    expect((error as Error).message).toMatch(/GetItem on noSuchTable.*ResourceNotFoundException/);
  });
});

describe("DynamoRequestStore: versions, claims, due", () => {
  it("two approvers racing on a two-approval request: one wins, the other conflicts on the version", async () => {
    const request = { ...newRequest(), requiredApprovals: 2 };
    await store.create(request);
    const bob = transition(request, approve("U0BOB"));
    const carol = transition(request, approve("U0CAROL"));
    await store.transition(request, bob);
    const error = await store.transition(request, carol).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    const stored = await store.get(request.requestId);
    expect(stored?.approvals?.map((a) => a.by.id)).toEqual(["U0BOB"]);
    // Carol tries again on the fresh request and approves it.
    const fresh = stored as ApprovalRequest;
    await store.transition(fresh, transition(fresh, approve("U0CAROL")));
    expect((await store.get(request.requestId))?.status).toBe("approved");
  });

  it("claimPost: one claimant of many, none once the ref is recorded, a stale claim taken over", async () => {
    const request = newRequest();
    await store.create(request);
    const at = "2025-03-01T10:00:10.000Z";
    const stale = "2025-03-01T09:59:10.000Z";
    const claims = await Promise.all(
      Array.from({ length: 10 }, () => store.claimPost(request.requestId, "approval", at, stale)),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    // A claim younger than the lease stands; older, it is taken over.
    expect(await store.claimPost(request.requestId, "approval", at, stale)).toBe(false);
    expect(
      await store.claimPost(request.requestId, "approval", at, "2025-03-01T10:00:11.000Z"),
    ).toBe(true);
    expect((await store.get(request.requestId))?.postClaims).toEqual({ approval: at });
    // Another message's claim is its own.
    expect(await store.claimPost(request.requestId, "monitoring", at, stale)).toBe(true);
    await store.setSlackRefs(
      request.requestId,
      { approval: { channel: "C1", ts: "1.1" } },
      undefined,
    );
    expect(await store.claimPost(request.requestId, "approval", at, "9999")).toBe(false);
  });

  it("claimPost of both messages: all or none", async () => {
    const request = newRequest();
    await store.create(request);
    const at = "2025-03-01T10:00:10.000Z";
    const stale = "2025-03-01T09:59:10.000Z";
    expect(await store.claimPost(request.requestId, "monitoring", at, stale)).toBe(true);
    // One of the two is held: neither is taken.
    expect(await store.claimPost(request.requestId, ["approval", "monitoring"], at, stale)).toBe(
      false,
    );
    expect((await store.get(request.requestId))?.postClaims).toEqual({ monitoring: at });
    const other = newRequest();
    await store.create(other);
    expect(await store.claimPost(other.requestId, ["approval", "monitoring"], at, stale)).toBe(
      true,
    );
    expect((await store.get(other.requestId))?.postClaims).toEqual({
      approval: at,
      monitoring: at,
    });
    // A request is born with an empty map of refs (stored, not shown): its first ref is one write.
    expect(
      await rawItem(DEFAULT_TABLE_NAMES.requests, { requestId: other.requestId }),
    ).toMatchObject({ slack: {} });
    expect((await store.get(other.requestId))?.slack).toBeUndefined();
  });

  it("releasePost leaves the claim stale (the post may have happened), so the next claim succeeds", async () => {
    const request = newRequest();
    await store.create(request);
    const at = "2025-03-01T10:00:10.000Z";
    expect(
      await store.claimPost(request.requestId, "monitoring", at, "2025-03-01T09:59:10.000Z"),
    ).toBe(true);
    await store.releasePost(request.requestId, "monitoring");
    expect((await store.get(request.requestId))?.postClaims).toEqual({ monitoring: "0" });
    expect(
      await store.claimPost(request.requestId, "monitoring", at, "2025-03-01T09:59:10.000Z"),
    ).toBe(true);
  });

  it("transition writes `due` (and its index key) or removes it", async () => {
    const request = { ...newRequest(), due: "2025-03-01T10:02:05.000Z" };
    await store.create(request);
    const raw = await rawItem(DEFAULT_TABLE_NAMES.requests, { requestId: request.requestId });
    expect(raw).toMatchObject({ due: request.due, dueBucket: "due" });
    const { due: _gone, ...denied } = transition(request, deny("U1"));
    await store.transition(request, denied);
    const after = await rawItem(DEFAULT_TABLE_NAMES.requests, { requestId: request.requestId });
    expect(after).not.toHaveProperty("due");
    expect(after).not.toHaveProperty("dueBucket");
  });

  it("reads a request stored before versions as version 0 and transitions it", async () => {
    const request = newRequest();
    const { version: _v, ...legacy } = request;
    await clients.doc.send(
      new PutCommand({ TableName: DEFAULT_TABLE_NAMES.requests, Item: legacy }),
    );
    const read = (await store.get(request.requestId)) as ApprovalRequest;
    expect(read.version).toBe(0);
    await store.transition(read, transition(read, deny("U1")));
    expect((await store.get(request.requestId))?.version).toBe(1);
  });
});

describe("DynamoRequestStore.listDue", () => {
  const names = { requests: "dueRequests", baselines: "dueBaselines" };
  let dueStore: DynamoRequestStore;

  beforeAll(async () => {
    await ensureTables(clients.client, names);
    dueStore = new DynamoRequestStore(clients.doc, names.requests);
  });

  it("lists exactly the requests due by now, earliest first, whatever else exists", async () => {
    const times = [
      "2025-03-01T10:05:00.000Z",
      "2025-03-01T10:01:00.000Z",
      "2025-03-01T10:03:00.000Z",
    ];
    for (const due of times) await dueStore.create({ ...newRequest(), due });
    await dueStore.create({ ...newRequest(), due: "2025-03-01T12:00:00.000Z" });
    for (let i = 0; i < 30; i++) await dueStore.create(newRequest());
    const listed = await dueStore.listDue("2025-03-01T10:10:00.000Z", 500);
    expect(listed.map((r) => r.due)).toEqual([...times].sort());
    expect((await dueStore.listDue("2025-03-01T10:10:00.000Z", 2)).map((r) => r.due)).toEqual(
      [...times].sort().slice(0, 2),
    );
  });
});

describe("DynamoRequestStore.listByStatus", () => {
  const names = { requests: "listRequests", baselines: "listBaselines" };
  let listStore: DynamoRequestStore;
  const pendingTimes = [
    "2025-03-01T10:00:03.000Z",
    "2025-03-01T10:00:01.000Z",
    "2025-03-01T10:00:05.000Z",
    "2025-03-01T10:00:02.000Z",
    "2025-03-01T10:00:04.000Z",
  ];

  beforeAll(async () => {
    await ensureTables(clients.client, names);
    listStore = new DynamoRequestStore(clients.doc, names.requests);
    for (const at of pendingTimes) await listStore.create(newRequest(at));
    const decided = newRequest("2025-03-01T09:00:00.000Z");
    await listStore.create(decided);
    await listStore.transition(decided, transition(decided, deny("U1")));
  });

  it("lists only the requests in the status, oldest first", async () => {
    const pending = await listStore.listByStatus("pending");
    expect(pending.map((r) => r.createdAt)).toEqual([...pendingTimes].sort());
    expect(pending.every((r) => r.status === "pending")).toBe(true);
    expect(pending[0]).not.toHaveProperty("ttl");
    const denied = await listStore.listByStatus("denied");
    expect(denied.map((r) => r.decidedBy?.id)).toEqual(["U1"]);
    expect(await listStore.listByStatus("expired")).toEqual([]);
  });

  it("honours the limit, keeping the oldest", async () => {
    const two = await listStore.listByStatus("pending", 2);
    expect(two.map((r) => r.createdAt)).toEqual([...pendingTimes].sort().slice(0, 2));
    expect(await listStore.listByStatus("pending", 0)).toEqual([]);
  });
});

function rule(i: number): Rule {
  return {
    direction: i % 2 === 0 ? "ingress" : "egress",
    protocol: "tcp",
    fromPort: 1000 + i,
    toPort: 1000 + i,
    peer: { kind: "cidrIpv4", cidr: `10.0.${Math.floor(i / 250)}.${i % 250}/32` },
    ruleId: `sgr-${i.toString(16).padStart(17, "0")}`,
  };
}

const byRuleId = (a: Rule, b: Rule) => String(a.ruleId).localeCompare(String(b.ruleId));
const sorted = (rules: readonly Rule[] | undefined) => [...(rules ?? [])].sort(byRuleId);
/** A group of its own for each test. */
const group = () => `sg-${ulid().toLowerCase().slice(-17)}`;
const why = (by: string) => ({ at: "2025-03-01T10:00:00.000Z", by });

describe("DynamoBaselines", () => {
  let baselines: DynamoBaselines;

  beforeAll(() => {
    baselines = new DynamoBaselines(clients.doc, DEFAULT_TABLE_NAMES.baselines);
  });

  it("read of a group never seen is undefined", async () => {
    expect(await baselines.read(group())).toBeUndefined();
  });

  it("adopt makes the group's approved rules, with its name and VPC and why", async () => {
    const id = group();
    await baselines.adopt(id, [rule(1), rule(2)], why("install:abc"), {
      name: "web",
      vpcId: "vpc-0123456789abcdef0",
    });
    const record = await baselines.read(id);
    expect(sorted(record?.rules)).toEqual([rule(1), rule(2)]);
    expect(record).toMatchObject({
      name: "web",
      vpcId: "vpc-0123456789abcdef0",
      lastChange: why("install:abc"),
    });
    const item = await rawItem(DEFAULT_TABLE_NAMES.baselines, {
      pk: `group#${id}`,
      sk: `rule#${rule(1).ruleId}`,
    });
    expect(item?.why).toEqual(why("install:abc"));
  });

  it("a group with only bookkeeping (a lease, an open change) is not adopted: rules undefined", async () => {
    const id = group();
    await baselines.lease(id, "2025-03-01T10:01:00.000Z", {
      exclusive: false,
      now: "2025-03-01T10:00:00.000Z",
    });
    const record = await baselines.read(id);
    expect(record?.rules).toBeUndefined();
    expect(record?.busyUntil).toBe("2025-03-01T10:01:00.000Z");
  });

  it("update puts and removes rules by id and records why", async () => {
    const g = group();
    await baselines.adopt(g, [rule(1), rule(2), rule(3)], why("install:x"), {});
    await baselines.update(
      g,
      { put: [rule(4)], removeIds: [String(rule(2).ruleId)] },
      why("request:r-1"),
    );
    const record = await baselines.read(g);
    expect(sorted(record?.rules)).toEqual([rule(1), rule(3), rule(4)]);
    expect(record?.lastChange).toEqual(why("request:r-1"));
  });

  it("update refuses a rule without a ruleId", async () => {
    const { ruleId: _none, ...noId } = rule(1);
    await expect(baselines.update(group(), { put: [noId] }, why("x"))).rejects.toThrow(
      /has no ruleId/,
    );
  });

  it("adopt again replaces the rules: the old ones go", async () => {
    const g = group();
    await baselines.adopt(g, [rule(1), rule(2)], why("install:x"), {});
    await baselines.adopt(g, [rule(3)], why("install:y"), {});
    expect((await baselines.read(g))?.rules).toEqual([rule(3)]);
  });

  it("writes 120 rules (BatchWrite in chunks of 25)", async () => {
    const g = group();
    const all = Array.from({ length: 120 }, (_, i) => rule(i));
    await baselines.adopt(g, all, why("install:x"), {});
    expect(sorted((await baselines.read(g))?.rules)).toEqual(sorted(all));
  });

  it("lease: an exclusive lease (the sweep's) only when nobody holds the group, an apply's always", async () => {
    const g = group();
    const now = "2025-03-01T10:00:00.000Z";
    expect(await baselines.lease(g, "2025-03-01T10:01:00.000Z", { exclusive: true, now })).toBe(
      true,
    );
    expect(await baselines.lease(g, "2025-03-01T10:01:30.000Z", { exclusive: true, now })).toBe(
      false,
    );
    expect(await baselines.lease(g, "2025-03-01T10:02:00.000Z", { exclusive: false, now })).toBe(
      true,
    );
    // Expired leases are taken over.
    expect(
      await baselines.lease(g, "2025-03-01T10:03:00.000Z", {
        exclusive: true,
        now: "2025-03-01T10:02:30.000Z",
      }),
    ).toBe(true);
    await baselines.release(g);
    expect((await baselines.read(g))?.busyUntil).toBeUndefined();
  });

  it("open changes, filed drift and the suspect are kept in the group's partition", async () => {
    const g = group();
    await baselines.adopt(g, [rule(1)], why("install:x"), {});
    const change = addChange(g);
    await baselines.openChange(g, { eventId: "e-1", change }, "2025-03-01T10:00:00.000Z");
    const drift = {
      kind: "drift" as const,
      eventName: "DriftDetected" as const,
      eventId: "drift-1",
      eventTime: "2025-03-01T10:00:00Z",
      account: "111122223333",
      region: "us-east-1",
      groupId: g,
      requester: { arn: "unknown", type: "Unknown" as const, name: "unknown" },
      added: [rule(5)],
      removed: [],
      modifications: [],
    };
    await baselines.recordDrift(g, {
      eventId: "drift-1",
      requestId: "r-1",
      change: drift,
      at: "2025-03-01T10:00:00.000Z",
    });
    await baselines.setSuspect(g, { fingerprint: "+x", firstSeenAt: "2025-03-01T09:45:00.000Z" });
    let record = await baselines.read(g);
    expect(record?.open).toEqual([{ eventId: "e-1", change }]);
    expect(record?.drifts).toEqual([
      { eventId: "drift-1", requestId: "r-1", change: drift, at: "2025-03-01T10:00:00.000Z" },
    ]);
    expect(record?.suspect).toEqual({ fingerprint: "+x", firstSeenAt: "2025-03-01T09:45:00.000Z" });
    expect(record?.rules).toEqual([rule(1)]);
    await baselines.closeChange(g, "e-1");
    await baselines.setSuspect(g, undefined);
    record = await baselines.read(g);
    expect(record?.open).toEqual([]);
    expect(record?.suspect).toBeUndefined();
  });

  it("snapshot reads every group's record in one scan; retire forgets a group", async () => {
    const names = { requests: "snapRequests", baselines: "snapBaselines" };
    await ensureTables(clients.client, names);
    const b = new DynamoBaselines(clients.doc, names.baselines);
    const ledger = new DynamoEventLedger(clients.doc, names.baselines);
    const [x, y] = [group(), group()];
    await b.adopt(x, [rule(1)], why("install:x"), { name: "x" });
    await b.adopt(y, [rule(2), rule(3)], why("install:x"), { name: "y" });
    // Handled events, kept with their group or not, are no group's record of their own.
    const handled = { handledAt: "2025-03-01T10:00:00.000Z", requestId: "r-x" };
    await ledger.record({ ref: { eventId: "e-x", groupId: x }, change: addChange(x), ...handled });
    const gone = group();
    await ledger.record({
      ref: { eventId: "e-gone", groupId: gone },
      change: addChange(gone),
      ...handled,
    });
    await ledger.record({ ref: { eventId: "e-own" }, change: addChange(x), ...handled });
    const snap = await b.snapshot();
    expect([...snap.keys()].sort()).toEqual([x, y].sort());
    expect(snap.get(x)?.busyUntil).toBeUndefined();
    expect(snap.get(y)?.name).toBe("y");
    expect(sorted(snap.get(y)?.rules)).toEqual([rule(2), rule(3)]);
    await b.retire(x);
    expect(await b.read(x)).toBeUndefined();
    expect([...(await b.snapshot()).keys()]).toEqual([y]);
    // The group's events outlive it, for their retention: a redelivery is still known.
    expect((await ledger.get({ eventId: "e-x", groupId: x }))?.handledAt).toBe(handled.handledAt);
  });

  it("the installation is recorded once", async () => {
    const names = { requests: "instRequests", baselines: "instBaselines" };
    await ensureTables(clients.client, names);
    const b = new DynamoBaselines(clients.doc, names.baselines);
    expect(await b.installation()).toBeUndefined();
    const results = await Promise.all([
      b.recordInstallation({ at: "t1", deployment: "d1" }),
      b.recordInstallation({ at: "t2", deployment: "d2" }),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await b.installation())?.deployment).toMatch(/^d[12]$/);
  });

  it("keeps groups apart", async () => {
    const [a, b] = [group(), group()];
    await baselines.adopt(a, [rule(1)], why("x"), {});
    await baselines.adopt(b, [rule(2)], why("x"), {});
    expect((await baselines.read(a))?.rules).toEqual([rule(1)]);
    expect((await baselines.read(b))?.rules).toEqual([rule(2)]);
  });
});

describe("DynamoEventLedger", () => {
  let ledger: DynamoEventLedger;
  let baselines: DynamoBaselines;
  const handledAt = "2025-03-01T10:00:00.000Z";
  /** An event of a fresh group (kept with it), as a revert's. */
  const groupEvent = () => ({ eventId: ulid(), groupId: group() });

  beforeAll(() => {
    ledger = new DynamoEventLedger(clients.doc, DEFAULT_TABLE_NAMES.baselines);
    baselines = new DynamoBaselines(clients.doc, DEFAULT_TABLE_NAMES.baselines);
  });

  it("an event of a group is kept in the group's partition; one of no group (a prefix list's) in its own", async () => {
    const ref = groupEvent();
    const own = { eventId: ulid() };
    const entry = { handledAt, change: addChange(ref.groupId), requestId: "r-1" };
    await ledger.record({ ref, ...entry });
    await ledger.record({ ref: own, ...entry });
    const table = DEFAULT_TABLE_NAMES.baselines;
    expect(eventKey(ref)).toEqual({ pk: `group#${ref.groupId}`, sk: groupEventSk(ref.eventId) });
    expect(await rawItem(table, eventKey(ref))).toMatchObject({ eventId: ref.eventId });
    expect(await rawItem(table, { pk: eventPk(own.eventId), sk: EVENT_SK })).toMatchObject({
      eventId: own.eventId,
    });
    expect(await ledger.get(ref)).toMatchObject({ groupId: ref.groupId, handledAt });
    expect((await ledger.get(own))?.groupId).toBeUndefined();
  });

  it("records an event once, with its change and request id: true, then false without overwriting", async () => {
    const ref = groupEvent();
    const change = addChange(ref.groupId);
    expect(
      await ledger.record({ ref, pending: "first", handledAt, change, requestId: "r-1" }),
    ).toBe(true);
    expect(
      await ledger.record({ ref, pending: "second", handledAt, change, requestId: "r-2" }),
    ).toBe(false);
    expect(await ledger.get(ref)).toEqual({
      eventId: ref.eventId,
      groupId: ref.groupId,
      receivedAt: handledAt,
      pending: "first",
      handledAt,
      change,
      requestId: "r-1",
    });
    const item = await rawItem(DEFAULT_TABLE_NAMES.baselines, eventKey(ref));
    expect(item?.ttl).toBe(Date.parse(handledAt) / 1000 + 45 * 86_400);
  });

  it("receive: undefined the first time, then the entry with the first receipt's time", async () => {
    const refs: EventRef[] = [groupEvent(), { eventId: ulid() }];
    for (const ref of refs) {
      const first = "2025-03-01T09:59:00.000Z";
      expect(await ledger.receive(ref, first)).toBeUndefined();
      // A retry before the first attempt finished: received, not handled.
      expect(await ledger.receive(ref, handledAt)).toEqual({
        ...ref,
        receivedAt: first,
      });
      const change = addChange(ref.groupId);
      expect(
        await ledger.record({ ref, pending: "msg", handledAt, change, requestId: "r-1" }),
      ).toBe(true);
      expect(await ledger.receive(ref, "2025-03-01T11:00:00.000Z")).toEqual({
        ...ref,
        receivedAt: first,
        handledAt,
        pending: "msg",
        change,
        requestId: "r-1",
      });
      const item = await rawItem(DEFAULT_TABLE_NAMES.baselines, eventKey(ref));
      // The TTL counts from the first receipt and is not moved by the record.
      expect(item?.ttl).toBe(Date.parse(first) / 1000 + 45 * 86_400);
    }
  });

  it("a receipt with busyUntil holds its group, as the lease does, until the event is recorded", async () => {
    const ref = groupEvent();
    const g = ref.groupId as string;
    await baselines.adopt(g, [rule(1)], why("install:x"), {});
    const now = "2025-03-01T10:00:00.000Z";
    const until = "2025-03-01T10:01:00.000Z";
    expect(await ledger.receive(ref, now, { busyUntil: until })).toBeUndefined();

    // The sweep sees the group held, in its scan and when it tries to take the group.
    expect((await baselines.snapshot()).get(g)?.busyUntil).toBe(until);
    expect(await baselines.lease(g, "2025-03-01T10:00:30.000Z", { exclusive: true, now })).toBe(
      false,
    );
    // Refused, the sweep left no lease of its own behind.
    expect(
      await rawItem(DEFAULT_TABLE_NAMES.baselines, { pk: `group#${g}`, sk: "lease" }),
    ).not.toHaveProperty("busyUntil");
    // The group's own read is the group, never its events.
    expect(await baselines.read(g)).toEqual({
      groupId: g,
      rules: [rule(1)],
      lastChange: why("install:x"),
      open: [],
      drifts: [],
    });
    // Past busyUntil the receipt holds nothing (a revert that crashed).
    const later = "2025-03-01T10:01:30.000Z";
    expect(
      await baselines.lease(g, "2025-03-01T10:02:30.000Z", { exclusive: true, now: later }),
    ).toBe(true);
    await baselines.release(g);

    // Recorded, the group is free.
    await ledger.record({ ref, handledAt, change: addChange(g), requestId: "r-1" });
    expect((await baselines.snapshot()).get(g)?.busyUntil).toBeUndefined();
    expect(await baselines.lease(g, "2025-03-01T10:00:30.000Z", { exclusive: true, now })).toBe(
      true,
    );
    await baselines.release(g);
    // A redelivery of the handled event does not hold the group again.
    expect((await ledger.receive(ref, now, { busyUntil: until }))?.handledAt).toBe(handledAt);
    expect(await baselines.lease(g, "2025-03-01T10:00:30.000Z", { exclusive: true, now })).toBe(
      true,
    );
  });

  it("two reverts of one group: the group stays held until both are done", async () => {
    const g = group();
    const [a, b] = [
      { eventId: ulid(), groupId: g },
      { eventId: ulid(), groupId: g },
    ];
    const now = "2025-03-01T10:00:00.000Z";
    await ledger.receive(a, now, { busyUntil: "2025-03-01T10:01:00.000Z" });
    await ledger.receive(b, now, { busyUntil: "2025-03-01T10:01:05.000Z" });
    expect((await baselines.snapshot()).get(g)?.busyUntil).toBe("2025-03-01T10:01:05.000Z");
    await ledger.record({ ref: a, handledAt, change: addChange(g), requestId: "r-a" });
    expect(await baselines.lease(g, "2025-03-01T10:00:30.000Z", { exclusive: true, now })).toBe(
      false,
    );
    await ledger.release(b);
    expect(await baselines.lease(g, "2025-03-01T10:00:30.000Z", { exclusive: true, now })).toBe(
      true,
    );
  });

  it("release lets the group go without recording, and never makes an entry", async () => {
    const ref = groupEvent();
    await ledger.receive(ref, handledAt, { busyUntil: "2025-03-01T10:01:00.000Z" });
    await ledger.release(ref);
    expect(await ledger.get(ref)).toEqual({ ...ref, receivedAt: handledAt });
    expect((await baselines.snapshot()).get(ref.groupId as string)).toBeUndefined();
    const unknown = groupEvent();
    await ledger.release(unknown);
    expect(await rawItem(DEFAULT_TABLE_NAMES.baselines, eventKey(unknown))).toBeUndefined();
  });

  it("get finds an event of a group recorded before groups kept their events, where it was", async () => {
    const ref = groupEvent();
    const change = addChange(ref.groupId);
    await ledger.record({ ref: { eventId: ref.eventId }, handledAt, change, requestId: "r-old" });
    expect(await ledger.get(ref)).toMatchObject({
      eventId: ref.eventId,
      requestId: "r-old",
      change,
    });
  });

  it("races: of 20 concurrent receipts of one event exactly one is the first", async () => {
    const ref = groupEvent();
    const seen = await Promise.all(
      Array.from({ length: 20 }, () => ledger.receive(ref, handledAt, { busyUntil: handledAt })),
    );
    expect(seen.filter((s) => s === undefined)).toHaveLength(1);
  });

  it("keeps one apply result per request: the first wins", async () => {
    const requestId = `r-${ulid()}`;
    expect(await ledger.applyResult(requestId)).toBeUndefined();
    expect(await ledger.recordApplyResult(requestId, "first", handledAt)).toBe(true);
    expect(await ledger.recordApplyResult(requestId, "second", handledAt)).toBe(false);
    expect(await ledger.applyResult(requestId)).toBe("first");
  });

  it("get of an unknown event is undefined", async () => {
    expect(await ledger.get(groupEvent())).toBeUndefined();
    expect(await ledger.get({ eventId: ulid() })).toBeUndefined();
  });

  it("markPublished removes the outbox message; unknown events throw NotFoundError", async () => {
    const ref = groupEvent();
    const change = addChange(ref.groupId);
    await ledger.record({ ref, pending: "msg", handledAt, change, requestId: "r-1" });
    await ledger.markPublished(ref);
    expect(await ledger.get(ref)).toEqual({
      ...ref,
      receivedAt: handledAt,
      handledAt,
      change,
      requestId: "r-1",
    });
    await expect(ledger.markPublished(groupEvent())).rejects.toBeInstanceOf(NotFoundError);
  });

  it("unpublished lists only events whose message is still pending (from the sparse index), each with where it is kept", async () => {
    const [waiting, published, nothing] = [groupEvent(), groupEvent(), groupEvent()];
    const own = { eventId: ulid() };
    const entry = { handledAt, change: addChange(), requestId: "r-1" };
    await ledger.record({ ref: waiting, pending: "to publish", ...entry });
    await ledger.record({ ref: own, pending: "to publish too", ...entry });
    await ledger.record({ ref: published, pending: "done", ...entry });
    await ledger.record({ ref: nothing, ...entry });
    await ledger.markPublished(published);
    await baselines.adopt(GROUP, [rule(7)], { at: handledAt, by: "install:x" }, {});

    const found = new Map<string, string | undefined>();
    for await (const event of ledger.unpublished()) {
      found.set(event.eventId, event.groupId);
      expect(event.pending).toBeDefined();
    }
    expect(found.get(waiting.eventId)).toBe(waiting.groupId);
    expect(found.has(own.eventId)).toBe(true);
    expect(found.get(own.eventId)).toBeUndefined();
    expect(found.has(published.eventId)).toBe(false);
    expect(found.has(nothing.eventId)).toBe(false);
  });
});

/** A document client that answers from a script: for what dynalite never does. */
function scriptedClient(answer: (call: number, input: unknown) => unknown) {
  const inputs: unknown[] = [];
  const send = async (command: { input: unknown }) => {
    inputs.push(command.input);
    return answer(inputs.length, command.input);
  };
  return { doc: { send } as unknown as DynamoDBDocumentClient, inputs };
}

describe("behaviour dynalite does not show", () => {
  const puts: WriteRequest[] = Array.from({ length: 3 }, (_, i) => ({
    PutRequest: { Item: { pk: "p", sk: `s${i}` } },
  }));

  it("batchWrite retries UnprocessedItems until they are written", async () => {
    const { doc, inputs } = scriptedClient((n) =>
      n === 1 ? { UnprocessedItems: { t: puts.slice(1) } } : { UnprocessedItems: {} },
    );
    await batchWrite(doc, "t", puts, { keyAttributes: ["pk", "sk"], baseDelayMs: 1 });
    expect(inputs).toEqual([{ RequestItems: { t: puts } }, { RequestItems: { t: puts.slice(1) } }]);
  });

  it("batchWrite gives up after maxAttempts with the count still unprocessed", async () => {
    const { doc, inputs } = scriptedClient(() => ({ UnprocessedItems: { t: puts.slice(2) } }));
    await expect(
      batchWrite(doc, "t", puts, { keyAttributes: ["pk", "sk"], maxAttempts: 3, baseDelayMs: 1 }),
    ).rejects.toThrow(/1 items still unprocessed after 3 attempts/);
    expect(inputs).toHaveLength(3);
  });

  it("a lost transition names the status DynamoDB returned (ALL_OLD) without a second read", async () => {
    const { doc, inputs } = scriptedClient(() => {
      throw new ConditionalCheckFailedException({
        message: "The conditional request failed",
        $metadata: {},
        Item: { status: { S: "denied" } },
      });
    });
    const request = newRequest();
    const error = await new DynamoRequestStore(doc, "t")
      .transition(request, transition(request, approve("U1")))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toContain("is denied");
    expect(inputs).toHaveLength(1);
    expect(inputs[0]).toMatchObject({ ReturnValuesOnConditionCheckFailure: "ALL_OLD" });
  });
});

describe.each([
  { where: "in this process", ownProcess: false },
  { where: "in its own process (as the sandbox runs it)", ownProcess: true },
])("startDynalite with a LevelDB path, $where", ({ ownProcess }) => {
  it("keeps data across a stop and a restart on the same folder", async () => {
    const path = await mkdtemp(join(tmpdir(), "dynalite-"));
    try {
      const names = { requests: "persistRequests", baselines: "persistBaselines" };
      const request = newRequest();
      const first = await startDynalite({ path, ownProcess });
      const a = dynamoClients(first.endpoint);
      await ensureTables(a.client, names);
      await new DynamoRequestStore(a.doc, names.requests).create(request);
      a.client.destroy();
      await first.stop();

      const second = await startDynalite({ path, ownProcess });
      const b = dynamoClients(second.endpoint);
      expect(second.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await new DynamoRequestStore(b.doc, names.requests).get(request.requestId)).toEqual(
        request,
      );
      b.client.destroy();
      await second.stop();
    } finally {
      await rm(path, { recursive: true, force: true });
    }
  });
});

describe("startDynalite in its own process", () => {
  it("says why when it cannot listen, and is stopped with its parent's stop", async () => {
    const first = await startDynalite({ ownProcess: true });
    const port = Number(new URL(first.endpoint).port);
    await expect(startDynalite({ ownProcess: true, port })).rejects.toThrow(
      /dynalite exited \(1\) before listening: dynalite: listen EADDRINUSE/,
    );
    await first.stop();
    await expect(fetch(`${first.endpoint}/`)).rejects.toThrow();
  });
});
