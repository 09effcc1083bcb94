/**
 * A member's approved baselines and event ledger, in one table (BASELINES_TABLE). A group's
 * partition holds one item per approved rule (updates to different rules never overwrite each
 * other) and the group's bookkeeping:
 *
 *   pk "group#<sg-id>"  sk "meta"             name, VPC, the last move of the baseline and why
 *                       sk "rule#<sgr-id>"    one approved rule, and why it is approved
 *                       sk "lease"            busyUntil: a revert, apply or sweep is at work
 *                       sk "open#<eventId>"   a change left live for a person to decide
 *                       sk "drift#<eventId>"  drift reverted and filed (a late event joins it)
 *                       sk "suspect"          a difference waiting out the grace window
 *                       sk "~event#<id>"      an event of the group: received, then handled,
 *                                             its change, its outbox message
 *   pk "member"         sk "install"          when the first sweep adopted the groups, by whom
 *   pk "event#<id>"     sk "event"            an event no one group keeps (a prefix list's), and
 *                                             every event received before groups kept theirs
 *   pk "apply#<rid>"    sk "apply"            the result of a request's EC2 work
 *
 * The meta item exists once the group is adopted: a partition without one is a group the sweep
 * has not seen yet. A group's events sort after everything else of the group ("~"), so reading
 * the group (a range below "~") reads none of them, however many the retention keeps. An event
 * being reverted has `busyUntil`, and holds its group as the lease item does: the revert needs
 * no write of its own for that, and releases it with the write that records the event.
 * Outbox messages are also in a sparse index (`outbox`), so the sweep reads exactly the ones still
 * to send.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { Change, DriftChange } from "../../domain/change.js";
import type { Rule } from "../../domain/rule.js";
import type {
  Baselines,
  BaselineWhy,
  EventLedger,
  EventRef,
  FiledDrift,
  GroupMeta,
  GroupRecord,
  Installation,
  OpenChange,
  ProcessedEvent,
} from "../../ports/baselines.js";
import { NotFoundError } from "../../ports/errors.js";
import { batchWrite, type WriteRequest } from "./batch.js";
import { withoutUndefined } from "./client.js";
import { call, conditional, dynamoError, isConditionalCheckFailed } from "./errors.js";
import {
  BASELINES_TABLE,
  DRIFT_RETENTION_DAYS,
  EVENT_RETENTION_DAYS,
  OUTBOX_INDEX,
  ttlAfter,
} from "./tables.js";

type Item = Record<string, unknown>;

export const GROUP_PK_PREFIX = "group#";
export const groupPk = (groupId: string) => `${GROUP_PK_PREFIX}${groupId}`;
export const ruleSk = (ruleId: string) => `rule#${ruleId}`;
export const META_SK = "meta";
export const LEASE_SK = "lease";
export const SUSPECT_SK = "suspect";
export const openSk = (eventId: string) => `open#${eventId}`;
export const driftSk = (eventId: string) => `drift#${eventId}`;
/** Every item of a group but its events sorts below this; its events above. */
const GROUP_EVENTS_FROM = "~";
export const GROUP_EVENT_SK_PREFIX = `${GROUP_EVENTS_FROM}event#`;
export const groupEventSk = (eventId: string) => `${GROUP_EVENT_SK_PREFIX}${eventId}`;
export const INSTALL_KEY = { pk: "member", sk: "install" } as const;
export const EVENT_PK_PREFIX = "event#";
export const eventPk = (eventId: string) => `${EVENT_PK_PREFIX}${eventId}`;
export const EVENT_SK = "event";
export const applyPk = (requestId: string) => `apply#${requestId}`;
export const APPLY_SK = "apply";
/** The value of `outbox` on an event whose message is still to send (the index's key). */
const OUTBOX_PENDING = "pending";

const KEY_ATTRIBUTES = ["pk", "sk"] as const;

/** Where an event's entry is: in its group's partition, or (no group) in one of its own. */
export function eventKey(ref: EventRef): { pk: string; sk: string } {
  return ref.groupId
    ? { pk: groupPk(ref.groupId), sk: groupEventSk(ref.eventId) }
    : { pk: eventPk(ref.eventId), sk: EVENT_SK };
}

/** The event an entry is, from its keys (all an index's item may have). */
function refOf(item: Item): EventRef {
  const pk = String(item.pk);
  return pk.startsWith(GROUP_PK_PREFIX)
    ? {
        eventId: String(item.sk).slice(GROUP_EVENT_SK_PREFIX.length),
        groupId: pk.slice(GROUP_PK_PREFIX.length),
      }
    : { eventId: pk.slice(EVENT_PK_PREFIX.length) };
}

/** An event being reverted: it holds its group until its busyUntil. */
const inFlight = (item: Item, now?: string): item is Item & { busyUntil: string } =>
  typeof item.busyUntil === "string" &&
  item.handledAt === undefined &&
  (now === undefined || item.busyUntil > now);

const later = (a: string | undefined, b: string): string => (a !== undefined && a > b ? a : b);
const TTL = BASELINES_TABLE.ttlAttribute;

function ruleIdOf(groupId: string, rule: Rule): string {
  if (!rule.ruleId) {
    throw new Error(`a baseline rule of ${groupId} has no ruleId: ${JSON.stringify(rule)}`);
  }
  return rule.ruleId;
}

function putRule(groupId: string, rule: Rule, why: BaselineWhy): WriteRequest {
  const Item = { pk: groupPk(groupId), sk: ruleSk(ruleIdOf(groupId, rule)), rule, why };
  return { PutRequest: { Item: withoutUndefined(Item) } };
}

const deleteKey = (pk: string, sk: string): WriteRequest => ({
  DeleteRequest: { Key: { pk, sk } },
});

/** A group's items, in any order, as its record. */
function recordOf(groupId: string, items: readonly Item[]): GroupRecord {
  const record: GroupRecord = { groupId, open: [], drifts: [] };
  const rules: Rule[] = [];
  let adopted = false;
  for (const item of items) {
    const sk = String(item.sk);
    if (sk === META_SK) {
      adopted = true;
      if (typeof item.groupName === "string") record.name = item.groupName;
      if (typeof item.vpcId === "string") record.vpcId = item.vpcId;
      if (item.tags && typeof item.tags === "object") {
        record.tags = item.tags as Record<string, string>;
      }
      if (item.lastChange) record.lastChange = item.lastChange as BaselineWhy;
    } else if (sk.startsWith("rule#")) rules.push(item.rule as Rule);
    else if (sk.startsWith(GROUP_EVENT_SK_PREFIX)) {
      if (inFlight(item)) record.busyUntil = later(record.busyUntil, item.busyUntil);
    } else if (sk === LEASE_SK && typeof item.busyUntil === "string")
      record.busyUntil = later(record.busyUntil, item.busyUntil);
    else if (sk === SUSPECT_SK) {
      record.suspect = {
        fingerprint: String(item.fingerprint),
        firstSeenAt: String(item.firstSeenAt),
      };
    } else if (sk.startsWith("open#")) {
      record.open.push({
        eventId: String(item.eventId),
        change: item.change as Change,
        ...(typeof item.code === "string" ? { code: item.code } : {}),
      });
    } else if (sk.startsWith("drift#")) {
      record.drifts.push({
        eventId: String(item.eventId),
        requestId: String(item.requestId),
        change: item.change as DriftChange,
        at: String(item.at),
      });
    }
  }
  if (adopted) record.rules = rules;
  return record;
}

export class DynamoBaselines implements Baselines {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string = BASELINES_TABLE.defaultName,
  ) {}

  async read(groupId: string): Promise<GroupRecord | undefined> {
    const items = await this.groupItems(groupId);
    return items.length === 0 ? undefined : recordOf(groupId, items);
  }

  async lease(
    groupId: string,
    until: string,
    options: { exclusive: boolean; now: string },
  ): Promise<boolean> {
    const held = await conditional("UpdateItem", this.table, () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: groupPk(groupId), sk: LEASE_SK },
          UpdateExpression: "SET busyUntil = :until",
          ...(options.exclusive
            ? {
                ConditionExpression: "attribute_not_exists(busyUntil) OR busyUntil < :now",
                ExpressionAttributeValues: { ":until": until, ":now": options.now },
              }
            : { ExpressionAttributeValues: { ":until": until } }),
        }),
      ),
    );
    if (!held || !options.exclusive) return held;
    // A revert holds the group with its event's receipt, which the condition cannot see.
    if (!(await this.eventsInFlight(groupId, options.now))) return true;
    await conditional("UpdateItem", this.table, () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: groupPk(groupId), sk: LEASE_SK },
          UpdateExpression: "REMOVE busyUntil",
          ConditionExpression: "busyUntil = :until",
          ExpressionAttributeValues: { ":until": until },
        }),
      ),
    );
    return false;
  }

  /** Whether an event of the group is being reverted now (its receipt holds the group). */
  private async eventsInFlight(groupId: string, now: string): Promise<boolean> {
    for await (const _ of this.query({
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :events)",
      FilterExpression: "busyUntil > :now AND attribute_not_exists(handledAt)",
      ExpressionAttributeValues: {
        ":pk": groupPk(groupId),
        ":events": GROUP_EVENT_SK_PREFIX,
        ":now": now,
      },
      ProjectionExpression: "pk",
    })) {
      return true;
    }
    return false;
  }

  async release(groupId: string): Promise<void> {
    await call("UpdateItem", this.table, () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: groupPk(groupId), sk: LEASE_SK },
          UpdateExpression: "REMOVE busyUntil",
        }),
      ),
    );
  }

  /** Removals first, then puts: a rule id in both ends up stored with the put's content. */
  async update(
    groupId: string,
    changes: { put?: readonly Rule[]; removeIds?: readonly string[] },
    why: BaselineWhy,
  ): Promise<void> {
    const pk = groupPk(groupId);
    await this.write([
      ...(changes.removeIds ?? []).map((id) => deleteKey(pk, ruleSk(id))),
      ...(changes.put ?? []).map((rule) => putRule(groupId, rule, why)),
    ]);
    await this.setMeta(groupId, { lastChange: why });
  }

  async adopt(
    groupId: string,
    rules: readonly Rule[],
    why: BaselineWhy,
    info: GroupMeta,
  ): Promise<void> {
    const pk = groupPk(groupId);
    const existing = (await this.groupItems(groupId))
      .map((i) => String(i.sk))
      .filter((sk) => sk.startsWith("rule#"));
    const keep = new Set(rules.map((r) => ruleSk(ruleIdOf(groupId, r))));
    await this.write([
      ...existing.filter((sk) => !keep.has(sk)).map((sk) => deleteKey(pk, sk)),
      ...rules.map((rule) => putRule(groupId, rule, why)),
      {
        PutRequest: {
          Item: withoutUndefined({
            pk,
            sk: META_SK,
            groupName: info.name,
            vpcId: info.vpcId,
            tags: info.tags,
            adoptedAt: why.at,
            lastChange: why,
          }),
        },
      },
    ]);
  }

  async describe(groupId: string, info: GroupMeta): Promise<void> {
    await this.setMeta(groupId, { groupName: info.name, vpcId: info.vpcId, tags: info.tags });
  }

  async retire(groupId: string): Promise<void> {
    const pk = groupPk(groupId);
    const items = await this.groupItems(groupId);
    await this.write(items.map((i) => deleteKey(pk, String(i.sk))));
  }

  async snapshot(): Promise<Map<string, GroupRecord>> {
    const byGroup = new Map<string, Item[]>();
    let start: Item | undefined;
    do {
      const page = await call("Scan", this.table, () =>
        this.doc.send(
          new ScanCommand({
            TableName: this.table,
            FilterExpression: "begins_with(pk, :prefix)",
            ExpressionAttributeValues: { ":prefix": GROUP_PK_PREFIX },
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        // A group's events matter to the sweep only while being reverted (they hold the group).
        if (String(item.sk).startsWith(GROUP_EVENT_SK_PREFIX) && !inFlight(item)) continue;
        const groupId = String(item.pk).slice(GROUP_PK_PREFIX.length);
        const list = byGroup.get(groupId) ?? [];
        list.push(item);
        byGroup.set(groupId, list);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return new Map([...byGroup].map(([groupId, items]) => [groupId, recordOf(groupId, items)]));
  }

  async openChange(groupId: string, open: OpenChange, at: string): Promise<void> {
    await this.put({
      pk: groupPk(groupId),
      sk: openSk(open.eventId),
      eventId: open.eventId,
      change: open.change,
      code: open.code,
      at,
      [TTL]: ttlAfter(at, EVENT_RETENTION_DAYS),
    });
  }

  async closeChange(groupId: string, eventId: string): Promise<void> {
    await this.write([deleteKey(groupPk(groupId), openSk(eventId))]);
  }

  async recordDrift(groupId: string, drift: FiledDrift): Promise<void> {
    await this.put({
      pk: groupPk(groupId),
      sk: driftSk(drift.eventId),
      ...drift,
      [TTL]: ttlAfter(drift.at, DRIFT_RETENTION_DAYS),
    });
  }

  async setSuspect(
    groupId: string,
    suspect: { fingerprint: string; firstSeenAt: string } | undefined,
  ): Promise<void> {
    const pk = groupPk(groupId);
    if (!suspect) await this.write([deleteKey(pk, SUSPECT_SK)]);
    else await this.put({ pk, sk: SUSPECT_SK, ...suspect });
  }

  async installation(): Promise<Installation | undefined> {
    const out = await call("GetItem", this.table, () =>
      this.doc.send(
        new GetCommand({ TableName: this.table, Key: INSTALL_KEY, ConsistentRead: true }),
      ),
    );
    if (!out.Item) return undefined;
    return { at: String(out.Item.at), deployment: String(out.Item.deployment) };
  }

  recordInstallation(installation: Installation): Promise<boolean> {
    return conditional("PutItem", this.table, () =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...INSTALL_KEY, ...installation },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      ),
    );
  }

  private async setMeta(groupId: string, fields: Record<string, unknown>): Promise<void> {
    const set = Object.entries(withoutUndefined(fields));
    if (set.length === 0) return;
    await call("UpdateItem", this.table, () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: groupPk(groupId), sk: META_SK },
          UpdateExpression: `SET ${set.map(([k]) => `#${k} = :${k}`).join(", ")}`,
          ExpressionAttributeNames: Object.fromEntries(set.map(([k]) => [`#${k}`, k])),
          ExpressionAttributeValues: Object.fromEntries(set.map(([k, v]) => [`:${k}`, v])),
        }),
      ),
    );
  }

  private async put(item: Item): Promise<void> {
    await call("PutItem", this.table, () =>
      this.doc.send(new PutCommand({ TableName: this.table, Item: withoutUndefined(item) })),
    );
  }

  /** Every item of a group but its events, all pages, strongly consistent. */
  private async groupItems(groupId: string): Promise<Item[]> {
    const items: Item[] = [];
    for await (const item of this.query({
      KeyConditionExpression: "pk = :pk AND sk < :events",
      ExpressionAttributeValues: { ":pk": groupPk(groupId), ":events": GROUP_EVENTS_FROM },
    })) {
      items.push(item);
    }
    return items;
  }

  /** The items a query selects, page by page, strongly consistent. */
  private async *query(
    input: Omit<QueryCommandInput, "TableName" | "ConsistentRead" | "ExclusiveStartKey">,
  ): AsyncGenerator<Item> {
    let start: Item | undefined;
    do {
      const page = await call("Query", this.table, () =>
        this.doc.send(
          new QueryCommand({
            TableName: this.table,
            ...input,
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        ),
      );
      yield* page.Items ?? [];
      start = page.LastEvaluatedKey;
    } while (start);
  }

  private write(requests: WriteRequest[]): Promise<void> {
    return batchWrite(this.doc, this.table, requests, { keyAttributes: KEY_ATTRIBUTES });
  }
}

function fromEventItem(item: Item): ProcessedEvent {
  const event: ProcessedEvent = {
    eventId: String(item.eventId),
    // Entries written before receipts were kept have only handledAt.
    receivedAt: String(item.receivedAt ?? item.handledAt),
  };
  const { groupId } = refOf(item);
  if (groupId) event.groupId = groupId;
  if (typeof item.handledAt === "string") event.handledAt = item.handledAt;
  if (typeof item.pending === "string") event.pending = item.pending;
  if (item.change) event.change = item.change as Change;
  if (typeof item.requestId === "string") event.requestId = item.requestId;
  return event;
}

export class DynamoEventLedger implements EventLedger {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string = BASELINES_TABLE.defaultName,
  ) {}

  /**
   * One conditional update, whatever came before: it creates the entry, or (a retry of an
   * unfinished attempt) keeps its first receipt and holds the group again, and answers with the
   * entry as it was. Only an event handled before (the condition lost) pays a second read.
   */
  async receive(
    ref: EventRef,
    at: string,
    options: { busyUntil?: string } = {},
  ): Promise<ProcessedEvent | undefined> {
    const set = [
      "eventId = :id",
      "receivedAt = if_not_exists(receivedAt, :at)",
      "#ttl = if_not_exists(#ttl, :ttl)",
    ];
    const values: Item = {
      ":id": ref.eventId,
      ":at": at,
      ":ttl": ttlAfter(at, EVENT_RETENTION_DAYS),
    };
    if (options.busyUntil !== undefined) {
      set.push("busyUntil = :until");
      values[":until"] = options.busyUntil;
    }
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: eventKey(ref),
          UpdateExpression: `SET ${set.join(", ")}`,
          ConditionExpression: "attribute_not_exists(handledAt)",
          ExpressionAttributeNames: { "#ttl": TTL },
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_OLD",
        }),
      );
      return out.Attributes ? fromEventItem(out.Attributes) : undefined;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw dynamoError("UpdateItem", this.table, err);
    }
    const seen = await this.get(ref);
    if (!seen) throw new NotFoundError(`event ${ref.eventId} was handled but its entry is gone`);
    return seen;
  }

  /**
   * Sets the change, its request id, the outbox message and handledAt, once, and lets the group
   * go: a second record for the event writes nothing. Works whether or not the receipt was
   * written (DynamoDB may have failed then).
   */
  async record(entry: {
    ref: EventRef;
    pending?: string;
    handledAt: string;
    change: Change;
    requestId: string;
  }): Promise<boolean> {
    const set = [
      "handledAt = :handled",
      "eventId = :id",
      "#change = :change",
      "requestId = :rid",
      "receivedAt = if_not_exists(receivedAt, :handled)",
      "#ttl = if_not_exists(#ttl, :ttl)",
    ];
    const values: Item = {
      ":handled": entry.handledAt,
      ":id": entry.ref.eventId,
      ":change": withoutUndefined(entry.change),
      ":rid": entry.requestId,
      ":ttl": ttlAfter(entry.handledAt, EVENT_RETENTION_DAYS),
    };
    if (entry.pending !== undefined) {
      set.push("#pending = :pending", "#outbox = :outbox");
      values[":pending"] = entry.pending;
      values[":outbox"] = OUTBOX_PENDING;
    }
    return conditional("UpdateItem", this.table, () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: eventKey(entry.ref),
          UpdateExpression: `SET ${set.join(", ")} REMOVE busyUntil`,
          ConditionExpression: "attribute_not_exists(handledAt)",
          ExpressionAttributeNames: {
            "#ttl": TTL,
            "#change": "change",
            ...(entry.pending !== undefined ? { "#pending": "pending", "#outbox": "outbox" } : {}),
          },
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  async release(ref: EventRef): Promise<void> {
    await conditional("UpdateItem", this.table, () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: eventKey(ref),
          UpdateExpression: "REMOVE busyUntil",
          // Never an entry made by the release itself.
          ConditionExpression: "attribute_exists(pk)",
        }),
      ),
    );
  }

  /**
   * The entry where the event's ref says; an event of a group recorded before groups kept their
   * events (a request still waiting for its approval) where it was kept then.
   */
  async get(ref: EventRef): Promise<ProcessedEvent | undefined> {
    const item =
      (await this.item(eventKey(ref))) ??
      (ref.groupId && (await this.item(eventKey({ eventId: ref.eventId }))));
    return item ? fromEventItem(item) : undefined;
  }

  private async item(key: { pk: string; sk: string }): Promise<Item | undefined> {
    const out = await call("GetItem", this.table, () =>
      this.doc.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true })),
    );
    return out.Item;
  }

  /** Removes the outbox message; NotFoundError for an event never recorded. */
  async markPublished(ref: EventRef): Promise<void> {
    const updated = await conditional("UpdateItem", this.table, () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: eventKey(ref),
          UpdateExpression: "REMOVE #pending, #outbox",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeNames: { "#pending": "pending", "#outbox": "outbox" },
        }),
      ),
    );
    if (!updated) throw new NotFoundError(`event ${ref.eventId} was never recorded`);
  }

  async recordApplyResult(requestId: string, result: string, at: string): Promise<boolean> {
    return conditional("PutItem", this.table, () =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: applyPk(requestId),
            sk: APPLY_SK,
            requestId,
            result,
            at,
            [TTL]: ttlAfter(at, EVENT_RETENTION_DAYS),
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      ),
    );
  }

  async applyResult(requestId: string): Promise<string | undefined> {
    const out = await call("GetItem", this.table, () =>
      this.doc.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: applyPk(requestId), sk: APPLY_SK },
          ConsistentRead: true,
        }),
      ),
    );
    return typeof out.Item?.result === "string" ? out.Item.result : undefined;
  }

  /** The sparse outbox index: exactly the events whose message is still to send, oldest first. */
  async *unpublished(): AsyncIterable<ProcessedEvent> {
    let start: Item | undefined;
    do {
      const page = await call("Query", this.table, () =>
        this.doc.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: OUTBOX_INDEX,
            KeyConditionExpression: "#outbox = :pending",
            ExpressionAttributeNames: { "#outbox": "outbox" },
            ExpressionAttributeValues: { ":pending": OUTBOX_PENDING },
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        // The index may lag: take the entry as it is now.
        const current = await this.get(refOf(item));
        if (current?.pending) yield current;
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }
}
