/**
 * A member's baselines and event ledger, in one table (BASELINES_TABLE): one item per rule, so
 * updates to different rules of a group never overwrite each other.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { Rule } from "../../domain/rule.js";
import type { Baselines, EventLedger, ProcessedEvent } from "../../ports/baselines.js";
import { NotFoundError } from "../../ports/errors.js";
import { batchWrite, type WriteRequest } from "./batch.js";
import { withoutUndefined } from "./client.js";
import { call, conditional } from "./errors.js";
import { BASELINES_TABLE, EVENT_RETENTION_DAYS, ttlAfter } from "./tables.js";

type Item = Record<string, unknown>;

export const groupPk = (groupId: string) => `group#${groupId}`;
export const ruleSk = (ruleId: string) => `rule#${ruleId}`;
export const META_SK = "meta";
export const EVENT_PK_PREFIX = "event#";
export const eventPk = (eventId: string) => `${EVENT_PK_PREFIX}${eventId}`;
export const EVENT_SK = "event";
export const applyPk = (requestId: string) => `apply#${requestId}`;
export const APPLY_SK = "apply";

const KEY_ATTRIBUTES = ["pk", "sk"] as const;

function ruleIdOf(groupId: string, rule: Rule): string {
  if (!rule.ruleId) {
    throw new Error(`a baseline rule of ${groupId} has no ruleId: ${JSON.stringify(rule)}`);
  }
  return rule.ruleId;
}

function putRule(groupId: string, rule: Rule): WriteRequest {
  const Item = { pk: groupPk(groupId), sk: ruleSk(ruleIdOf(groupId, rule)), rule };
  return { PutRequest: { Item: withoutUndefined(Item) } };
}

function deleteKey(pk: string, sk: string): WriteRequest {
  return { DeleteRequest: { Key: { pk, sk } } };
}

export class DynamoBaselines implements Baselines {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string = BASELINES_TABLE.defaultName,
  ) {}

  async get(groupId: string): Promise<Rule[] | undefined> {
    const items = await this.groupItems(groupId);
    if (items.length === 0) return undefined;
    return items.filter((i) => String(i.sk).startsWith("rule#")).map((i) => i.rule as Rule);
  }

  /** Removals first, then puts: a rule id in both ends up stored with the put's content. */
  async update(
    groupId: string,
    changes: { put?: readonly Rule[]; removeIds?: readonly string[] },
  ): Promise<void> {
    const pk = groupPk(groupId);
    const requests = [
      ...(changes.removeIds ?? []).map((id) => deleteKey(pk, ruleSk(id))),
      ...(changes.put ?? []).map((rule) => putRule(groupId, rule)),
    ];
    await this.write(requests);
  }

  /**
   * Writes every rule and the meta item (sweep time, and the name: given, or the one stored),
   * then deletes the rules no longer in the group.
   */
  async replace(
    groupId: string,
    rules: readonly Rule[],
    sweptAt: string,
    groupName?: string,
  ): Promise<void> {
    const pk = groupPk(groupId);
    const existing = await this.groupItems(groupId, "sk, groupName");
    const name = groupName ?? existing.find((i) => i.sk === META_SK)?.groupName;
    const puts = rules.map((rule) => putRule(groupId, rule));
    const meta: WriteRequest = {
      PutRequest: { Item: withoutUndefined({ pk, sk: META_SK, sweptAt, groupName: name }) },
    };
    await this.write([...puts, meta]);
    const keep = new Set(rules.map((rule) => ruleSk(ruleIdOf(groupId, rule))));
    const stale = existing
      .map((item) => String(item.sk))
      .filter((sk) => sk !== META_SK && !keep.has(sk));
    await this.write(stale.map((sk) => deleteKey(pk, sk)));
  }

  async groupName(groupId: string): Promise<string | undefined> {
    const out = await call("GetItem", this.table, () =>
      this.doc.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: groupPk(groupId), sk: META_SK },
          ProjectionExpression: "groupName",
        }),
      ),
    );
    return typeof out.Item?.groupName === "string" ? out.Item.groupName : undefined;
  }

  /** Every item of a group (rules and meta), all pages, strongly consistent. */
  private async groupItems(groupId: string, projection?: string): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await call("Query", this.table, () =>
        this.doc.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: "pk = :pk",
            ExpressionAttributeValues: { ":pk": groupPk(groupId) },
            ConsistentRead: true,
            ExclusiveStartKey: start,
            ...(projection ? { ProjectionExpression: `pk, ${projection}` } : {}),
          }),
        ),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
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
  if (typeof item.handledAt === "string") event.handledAt = item.handledAt;
  if (typeof item.pending === "string") event.pending = item.pending;
  return event;
}

export class DynamoEventLedger implements EventLedger {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string = BASELINES_TABLE.defaultName,
  ) {}

  /** One conditional put; only a retry (the put loses) pays a second read. */
  async receive(eventId: string, at: string): Promise<ProcessedEvent | undefined> {
    const first = await conditional("PutItem", this.table, () =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: eventPk(eventId),
            sk: EVENT_SK,
            eventId,
            receivedAt: at,
            [BASELINES_TABLE.ttlAttribute]: ttlAfter(at, EVENT_RETENTION_DAYS),
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      ),
    );
    if (first) return undefined;
    const seen = await this.get(eventId);
    if (!seen) throw new NotFoundError(`event ${eventId} was received but its entry is gone`);
    return seen;
  }

  /** Sets the outbox message and handledAt, once: a second record for the event writes nothing. */
  async record(entry: { eventId: string; pending?: string; handledAt: string }): Promise<boolean> {
    const set = ["handledAt = :handled", "eventId = :id", "#ttl = if_not_exists(#ttl, :ttl)"];
    const values: Item = {
      ":handled": entry.handledAt,
      ":id": entry.eventId,
      ":ttl": ttlAfter(entry.handledAt, EVENT_RETENTION_DAYS),
    };
    if (entry.pending !== undefined) {
      set.push("#pending = :pending");
      values[":pending"] = entry.pending;
    }
    return conditional("UpdateItem", this.table, () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: eventPk(entry.eventId), sk: EVENT_SK },
          UpdateExpression: `SET ${set.join(", ")}`,
          ConditionExpression: "attribute_not_exists(handledAt)",
          ExpressionAttributeNames: {
            "#ttl": BASELINES_TABLE.ttlAttribute,
            ...(entry.pending !== undefined ? { "#pending": "pending" } : {}),
          },
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  async get(eventId: string): Promise<ProcessedEvent | undefined> {
    const out = await call("GetItem", this.table, () =>
      this.doc.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: eventPk(eventId), sk: EVENT_SK },
          ConsistentRead: true,
        }),
      ),
    );
    return out.Item ? fromEventItem(out.Item) : undefined;
  }

  /** Removes the outbox message; NotFoundError for an event never recorded. */
  async markPublished(eventId: string): Promise<void> {
    const updated = await conditional("UpdateItem", this.table, () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: eventPk(eventId), sk: EVENT_SK },
          UpdateExpression: "REMOVE #pending",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeNames: { "#pending": "pending" },
        }),
      ),
    );
    if (!updated) throw new NotFoundError(`event ${eventId} was never recorded`);
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
            [BASELINES_TABLE.ttlAttribute]: ttlAfter(at, EVENT_RETENTION_DAYS),
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

  /**
   * Scans the whole table, rule items included (filtered out server-side): fine at one member's
   * scale; a sparse index on `pending` would be the next step if it is not.
   */
  async *unpublished(): AsyncIterable<ProcessedEvent> {
    let start: Item | undefined;
    do {
      const page = await call("Scan", this.table, () =>
        this.doc.send(
          new ScanCommand({
            TableName: this.table,
            FilterExpression: "attribute_exists(#pending) AND begins_with(pk, :prefix)",
            ExpressionAttributeNames: { "#pending": "pending" },
            ExpressionAttributeValues: { ":prefix": EVENT_PK_PREFIX },
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of page.Items ?? []) yield fromEventItem(item);
      start = page.LastEvaluatedKey;
    } while (start);
  }
}
