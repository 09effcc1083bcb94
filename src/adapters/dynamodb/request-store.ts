/**
 * The hub's requests in DynamoDB. Each write that changes a request's status is one conditional
 * write on `status = :from`, so of any number of racing deciders exactly one wins.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { ApprovalRequest, RequestStatus, SlackMessageRef } from "../../domain/request.js";
import { ConflictError, NotFoundError } from "../../ports/errors.js";
import type { RequestStore } from "../../ports/requests.js";
import { withoutUndefined } from "./client.js";
import { call, conditional, dynamoError, isConditionalCheckFailed } from "./errors.js";
import {
  REQUEST_RETENTION_DAYS,
  REQUESTS_BY_STATUS_INDEX,
  REQUESTS_TABLE,
  ttlAfter,
} from "./tables.js";

type Item = Record<string, unknown>;
type SlackRefs = NonNullable<ApprovalRequest["slack"]>;

/**
 * How `transition` writes each field. Keyed by every field of ApprovalRequest, so adding a field to
 * the domain type without deciding here fails the type check.
 *   key   - the partition key, never written
 *   slack - owned by setSlackRefs; a transition leaves it as stored
 *   data  - set from `next`, or removed when `next` lacks it
 */
const FIELDS: Record<keyof ApprovalRequest, "key" | "slack" | "data"> = {
  requestId: "key",
  status: "data",
  change: "data",
  accountAlias: "data",
  groupName: "data",
  createdAt: "data",
  updatedAt: "data",
  expiresAt: "data",
  decidedBy: "data",
  decidedAt: "data",
  policyReason: "data",
  appliedAt: "data",
  error: "data",
  revertError: "data",
  revertAfterDeny: "data",
  slack: "slack",
  history: "data",
};
const DATA_FIELDS = Object.entries(FIELDS)
  .filter(([, how]) => how === "data")
  .map(([field]) => field);

function toItem(request: ApprovalRequest): Item {
  return {
    ...withoutUndefined(request),
    [REQUESTS_TABLE.ttlAttribute]: ttlAfter(request.createdAt, REQUEST_RETENTION_DAYS),
  };
}

function fromItem(item: Item): ApprovalRequest {
  const request = { ...item };
  delete request[REQUESTS_TABLE.ttlAttribute];
  return request as unknown as ApprovalRequest;
}

/** SET every data field `next` has, REMOVE every one it lacks; `slack` and the key untouched. */
function transitionUpdate(next: ApprovalRequest) {
  const clean = withoutUndefined(next) as unknown as Item;
  const names: Record<string, string> = { "#requestId": "requestId", "#status": "status" };
  const values: Item = {};
  const set: string[] = [];
  const remove: string[] = [];
  for (const field of DATA_FIELDS) {
    names[`#${field}`] = field;
    if (clean[field] === undefined) {
      remove.push(`#${field}`);
    } else {
      values[`:${field}`] = clean[field];
      set.push(`#${field} = :${field}`);
    }
  }
  const expression = `SET ${set.join(", ")}${remove.length ? ` REMOVE ${remove.join(", ")}` : ""}`;
  return { names, values, expression };
}

export class DynamoRequestStore implements RequestStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string = REQUESTS_TABLE.defaultName,
  ) {}

  async create(request: ApprovalRequest): Promise<boolean> {
    return conditional("PutItem", this.table, () =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: toItem(request),
          ConditionExpression: "attribute_not_exists(requestId)",
        }),
      ),
    );
  }

  async get(requestId: string): Promise<ApprovalRequest | undefined> {
    const out = await call("GetItem", this.table, () =>
      this.doc.send(
        new GetCommand({ TableName: this.table, Key: { requestId }, ConsistentRead: true }),
      ),
    );
    return out.Item ? fromItem(out.Item) : undefined;
  }

  /**
   * One conditional UpdateItem of every field but `slack`: a Put of the whole item would erase
   * Slack refs recorded between the caller's read and this write.
   */
  async transition(from: RequestStatus, next: ApprovalRequest): Promise<void> {
    const { names, values, expression } = transitionUpdate(next);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { requestId: next.requestId },
          UpdateExpression: expression,
          ConditionExpression: "attribute_exists(#requestId) AND #status = :from",
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ...values, ":from": from },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw dynamoError("UpdateItem", this.table, err);
      throw await this.lostTransition(next.requestId, from, err);
    }
  }

  /** Why a transition's condition failed: the id is unknown, or the request is in another status. */
  private async lostTransition(requestId: string, from: RequestStatus, err: unknown) {
    // DynamoDB returns the item on the exception (ALL_OLD); emulators may not, so read it then.
    let current = statusOnException(err);
    if (current === undefined) current = (await this.get(requestId))?.status;
    if (current === undefined) return new NotFoundError(`request ${requestId} does not exist`);
    return new ConflictError(`request ${requestId} is ${current}, not ${from}`);
  }

  async setSlackRefs(requestId: string, refs: SlackRefs): Promise<void> {
    const clean = withoutUndefined(refs);
    if (Object.keys(clean).length === 0) return;
    // `slack` is a map that may not exist yet: set its fields if it does, else the whole map. A
    // writer racing us between the two makes one of them fail its condition; go round again.
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.setSlackFields(requestId, clean)) return;
      if (await this.setSlackMap(requestId, clean)) return;
      if (!(await this.get(requestId)))
        throw new NotFoundError(`request ${requestId} does not exist`);
    }
    throw new ConflictError(
      `request ${requestId}: could not record Slack refs (concurrent writers)`,
    );
  }

  private setSlackFields(requestId: string, refs: SlackRefs): Promise<boolean> {
    const names: Record<string, string> = { "#slack": "slack", "#requestId": "requestId" };
    const values: Record<string, SlackMessageRef> = {};
    const set: string[] = [];
    for (const [key, ref] of Object.entries(refs)) {
      names[`#${key}`] = key;
      values[`:${key}`] = ref;
      set.push(`#slack.#${key} = :${key}`);
    }
    return this.update(requestId, {
      UpdateExpression: `SET ${set.join(", ")}`,
      ConditionExpression: "attribute_exists(#requestId) AND attribute_exists(#slack)",
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
  }

  private setSlackMap(requestId: string, refs: SlackRefs): Promise<boolean> {
    return this.update(requestId, {
      UpdateExpression: "SET #slack = :slack",
      ConditionExpression: "attribute_exists(#requestId) AND attribute_not_exists(#slack)",
      ExpressionAttributeNames: { "#slack": "slack", "#requestId": "requestId" },
      ExpressionAttributeValues: { ":slack": refs },
    });
  }

  private update(
    requestId: string,
    input: {
      UpdateExpression: string;
      ConditionExpression: string;
      ExpressionAttributeNames: Record<string, string>;
      ExpressionAttributeValues: Item;
    },
  ): Promise<boolean> {
    return conditional("UpdateItem", this.table, () =>
      this.doc.send(new UpdateCommand({ TableName: this.table, Key: { requestId }, ...input })),
    );
  }

  async listByStatus(status: RequestStatus, limit?: number): Promise<ApprovalRequest[]> {
    const out: ApprovalRequest[] = [];
    if (limit !== undefined && limit <= 0) return out;
    let start: Item | undefined;
    do {
      const page = await call("Query", this.table, () =>
        this.doc.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: REQUESTS_BY_STATUS_INDEX,
            KeyConditionExpression: "#status = :status",
            ExpressionAttributeNames: { "#status": "status" },
            ExpressionAttributeValues: { ":status": status },
            ScanIndexForward: true,
            Limit: limit === undefined ? undefined : limit - out.length,
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of page.Items ?? []) out.push(fromItem(item));
      start = page.LastEvaluatedKey;
    } while (start && (limit === undefined || out.length < limit));
    return out;
  }
}

/** The stored status DynamoDB returned with a ConditionalCheckFailedException (ALL_OLD). */
function statusOnException(err: unknown): RequestStatus | undefined {
  if (typeof err !== "object" || err === null || !("Item" in err)) return undefined;
  const item = err.Item as { status?: { S?: string } } | undefined;
  return item?.status?.S as RequestStatus | undefined;
}
