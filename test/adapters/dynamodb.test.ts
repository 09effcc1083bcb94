/**
 * The DynamoDB adapters against dynalite in process: the real DynamoDB API, no mocks.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DynamoBaselines,
  DynamoEventLedger,
  EVENT_SK,
  eventPk,
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
    ]);
    const baselines = createTableInput(BASELINES_TABLE);
    expect(baselines.TableName).toBe("securityGroupBaselines");
    expect(baselines.KeySchema?.map((k) => k.KeyType)).toEqual(["HASH", "RANGE"]);
    expect(baselines.GlobalSecondaryIndexes).toBeUndefined();
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
    await store.transition("pending", next);
    expect(await store.get(request.requestId)).toEqual(next);
  });

  it("a transition removes optional fields the next request no longer has", async () => {
    const request = newRequest();
    await store.create(request);
    const { groupName: _dropped, ...next } = transition(request, deny("U1"));
    await store.transition("pending", next);
    const stored = await store.get(request.requestId);
    expect(stored).toEqual(next);
    expect(stored).not.toHaveProperty("groupName");
  });

  it("a transition from the wrong status throws ConflictError naming the current status", async () => {
    const request = newRequest();
    await store.create(request);
    await store.transition("pending", transition(request, approve("U1")));
    const late = transition(request, deny("U2"));
    const error = await store.transition("pending", late).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toContain("approved");
    expect((await store.get(request.requestId))?.status).toBe("approved");
  });

  it("a transition of an unknown id throws NotFoundError and creates nothing", async () => {
    const ghost = newRequest();
    const error = await store
      .transition("pending", transition(ghost, approve("U1")))
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
    const results = await Promise.allSettled(
      nexts.map((next) => store.transition("pending", next)),
    );

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
    await store.setSlackRefs(request.requestId, { approval });
    await store.setSlackRefs(request.requestId, { monitoring });
    expect((await store.get(request.requestId))?.slack).toEqual({ approval, monitoring });
  });

  it("a transition from a copy read before setSlackRefs keeps the Slack refs", async () => {
    const request = newRequest();
    await store.create(request);
    const stale = await store.get(request.requestId);
    const approval = { channel: "CAPPROVE", ts: "1700000000.000300" };
    await store.setSlackRefs(request.requestId, { approval });
    await store.transition("pending", transition(stale as ApprovalRequest, approve("U1")));
    const stored = await store.get(request.requestId);
    expect(stored?.status).toBe("approved");
    expect(stored?.slack).toEqual({ approval });
  });

  it("setSlackRefs of an unknown id throws NotFoundError and creates nothing", async () => {
    const id = requestIdFromUlid(ulid());
    const error = await store
      .setSlackRefs(id, { approval: { channel: "C1", ts: "1.2" } })
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
    await listStore.transition("pending", transition(decided, deny("U1")));
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

describe("DynamoBaselines", () => {
  let baselines: DynamoBaselines;
  const group = () => `sg-${ulid().toLowerCase().slice(-17)}`;

  beforeAll(() => {
    baselines = new DynamoBaselines(clients.doc, DEFAULT_TABLE_NAMES.baselines);
  });

  it("get of a group never swept or updated is undefined", async () => {
    expect(await baselines.get(group())).toBeUndefined();
  });

  it("replace keeps the group's name: the sweep's, until a sweep gives another", async () => {
    const id = group();
    expect(await baselines.groupName(id)).toBeUndefined();
    await baselines.replace(id, [rule(1)], "2025-03-01T10:00:00.000Z", "web-servers");
    expect(await baselines.groupName(id)).toBe("web-servers");
    // A resync (no name given) keeps it.
    await baselines.replace(id, [rule(2)], "2025-03-01T11:00:00.000Z");
    expect(await baselines.groupName(id)).toBe("web-servers");
    expect((await baselines.get(id))?.map((r) => r.ruleId)).toEqual([rule(2).ruleId]);
    await baselines.replace(id, [], "2025-03-01T12:00:00.000Z", "web-renamed");
    expect(await baselines.groupName(id)).toBe("web-renamed");
  });

  it("update puts rules and removes rules by id", async () => {
    const g = group();
    await baselines.update(g, { put: [rule(1), rule(2), rule(3)] });
    expect(sorted(await baselines.get(g))).toEqual([rule(1), rule(2), rule(3)]);
    await baselines.update(g, { put: [rule(4)], removeIds: [String(rule(2).ruleId)] });
    expect(sorted(await baselines.get(g))).toEqual([rule(1), rule(3), rule(4)]);
  });

  it("update with one rule id both removed and put keeps the put's content", async () => {
    const g = group();
    await baselines.update(g, { put: [rule(1)] });
    const edited = { ...rule(1), fromPort: 443, toPort: 443, description: "https" };
    await baselines.update(g, { put: [edited], removeIds: [String(edited.ruleId)] });
    expect(await baselines.get(g)).toEqual([edited]);
  });

  it("update refuses a rule without a ruleId", async () => {
    const { ruleId: _none, ...noId } = rule(1);
    await expect(baselines.update(group(), { put: [noId] })).rejects.toThrow(/has no ruleId/);
  });

  it("replace removes rules no longer present and an empty sweep leaves [] not undefined", async () => {
    const g = group();
    await baselines.update(g, { put: [rule(1), rule(2)] });
    await baselines.replace(g, [rule(2), rule(3)], "2025-03-01T00:00:00.000Z");
    expect(sorted(await baselines.get(g))).toEqual([rule(2), rule(3)]);
    await baselines.replace(g, [], "2025-03-02T00:00:00.000Z");
    expect(await baselines.get(g)).toEqual([]);
    const meta = await rawItem(DEFAULT_TABLE_NAMES.baselines, { pk: `group#${g}`, sk: "meta" });
    expect(meta?.sweptAt).toBe("2025-03-02T00:00:00.000Z");
  });

  it("writes and replaces 120 rules (BatchWrite in chunks of 25)", async () => {
    const g = group();
    const all = Array.from({ length: 120 }, (_, i) => rule(i));
    await baselines.replace(g, all, "2025-03-01T00:00:00.000Z");
    expect(sorted(await baselines.get(g))).toEqual(sorted(all));
    const kept = all.filter((_, i) => i % 3 === 0);
    await baselines.replace(g, kept, "2025-03-02T00:00:00.000Z");
    expect(sorted(await baselines.get(g))).toEqual(sorted(kept));
    const removeIds = kept.slice(0, 30).map((r) => String(r.ruleId));
    await baselines.update(g, { removeIds });
    expect(sorted(await baselines.get(g))).toEqual(sorted(kept.slice(30)));
  });

  it("keeps groups apart", async () => {
    const [a, b] = [group(), group()];
    await baselines.update(a, { put: [rule(1)] });
    await baselines.update(b, { put: [rule(2)] });
    expect(await baselines.get(a)).toEqual([rule(1)]);
    expect(await baselines.get(b)).toEqual([rule(2)]);
  });
});

describe("DynamoEventLedger", () => {
  let ledger: DynamoEventLedger;
  const handledAt = "2025-03-01T10:00:00.000Z";

  beforeAll(() => {
    ledger = new DynamoEventLedger(clients.doc, DEFAULT_TABLE_NAMES.baselines);
  });

  it("records an event once: true, then false without overwriting", async () => {
    const eventId = ulid();
    expect(await ledger.record({ eventId, pending: "first", handledAt })).toBe(true);
    expect(await ledger.record({ eventId, pending: "second", handledAt })).toBe(false);
    expect(await ledger.get(eventId)).toEqual({
      eventId,
      receivedAt: handledAt,
      pending: "first",
      handledAt,
    });
    const item = await rawItem(DEFAULT_TABLE_NAMES.baselines, {
      pk: eventPk(eventId),
      sk: EVENT_SK,
    });
    expect(item?.ttl).toBe(Date.parse(handledAt) / 1000 + 14 * 86_400);
  });

  it("receive: undefined the first time, then the entry with the first receipt's time", async () => {
    const eventId = ulid();
    const first = "2025-03-01T09:59:00.000Z";
    expect(await ledger.receive(eventId, first)).toBeUndefined();
    // A retry before the first attempt finished: received, not handled.
    expect(await ledger.receive(eventId, handledAt)).toEqual({ eventId, receivedAt: first });
    expect(await ledger.record({ eventId, pending: "msg", handledAt })).toBe(true);
    expect(await ledger.receive(eventId, "2025-03-01T11:00:00.000Z")).toEqual({
      eventId,
      receivedAt: first,
      handledAt,
      pending: "msg",
    });
    const item = await rawItem(DEFAULT_TABLE_NAMES.baselines, {
      pk: eventPk(eventId),
      sk: EVENT_SK,
    });
    // The TTL counts from the first receipt and is not moved by the record.
    expect(item?.ttl).toBe(Date.parse(first) / 1000 + 14 * 86_400);
  });

  it("races: of 20 concurrent receipts of one event exactly one is the first", async () => {
    const eventId = ulid();
    const seen = await Promise.all(
      Array.from({ length: 20 }, () => ledger.receive(eventId, handledAt)),
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
    expect(await ledger.get(ulid())).toBeUndefined();
  });

  it("markPublished removes the outbox message; unknown events throw NotFoundError", async () => {
    const eventId = ulid();
    await ledger.record({ eventId, pending: "msg", handledAt });
    await ledger.markPublished(eventId);
    expect(await ledger.get(eventId)).toEqual({ eventId, receivedAt: handledAt, handledAt });
    await expect(ledger.markPublished(ulid())).rejects.toBeInstanceOf(NotFoundError);
  });

  it("unpublished lists only events whose message is still pending", async () => {
    const [waiting, published, nothing] = [ulid(), ulid(), ulid()];
    await ledger.record({ eventId: waiting, pending: "to publish", handledAt });
    await ledger.record({ eventId: published, pending: "done", handledAt });
    await ledger.record({ eventId: nothing, handledAt });
    await ledger.markPublished(published);
    await new DynamoBaselines(clients.doc, DEFAULT_TABLE_NAMES.baselines).update(GROUP, {
      put: [rule(7)],
    });

    const found: string[] = [];
    for await (const event of ledger.unpublished()) {
      found.push(event.eventId);
      expect(event.pending).toBeDefined();
    }
    expect(found).toContain(waiting);
    expect(found).not.toContain(published);
    expect(found).not.toContain(nothing);
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
      .transition("pending", transition(request, approve("U1")))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toContain("is denied");
    expect(inputs).toHaveLength(1);
    expect(inputs[0]).toMatchObject({ ReturnValuesOnConditionCheckFailure: "ALL_OLD" });
  });
});

describe("startDynalite with a LevelDB path", () => {
  it("keeps data across a stop and a restart on the same folder", async () => {
    const path = await mkdtemp(join(tmpdir(), "dynalite-"));
    try {
      const names = { requests: "persistRequests", baselines: "persistBaselines" };
      const request = newRequest();
      const first = await startDynalite({ path });
      const a = dynamoClients(first.endpoint);
      await ensureTables(a.client, names);
      await new DynamoRequestStore(a.doc, names.requests).create(request);
      a.client.destroy();
      await first.stop();

      const second = await startDynalite({ path });
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
