/**
 * The hub's requests in DynamoDB. Each write that changes a request is one conditional write on
 * `status = :from AND version = :v`, so of any number of racing deciders exactly one wins, and
 * two approvers racing never lose an approval. A request the scheduled job must look at carries
 * `due` (and `dueBucket`, the sparse index's partition key); one with nothing to do has neither.
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
import type { MessageKind, RequestStore } from "../../ports/requests.js";
import { withoutUndefined } from "./client.js";
import { call, conditional, dynamoError, isConditionalCheckFailed } from "./errors.js";
import {
  DUE_BUCKET,
  REQUEST_RETENTION_DAYS,
  REQUESTS_BY_DUE_INDEX,
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
  version: "data",
  change: "data",
  verification: "data",
  requiredApprovals: "data",
  approvals: "data",
  accountAlias: "data",
  groupName: "data",
  createdAt: "data",
  updatedAt: "data",
  expiresAt: "data",
  decidedBy: "data",
  decidedAt: "data",
  policyReason: "data",
  policy: "data",
  approvers: "data",
  channel: "data",
  appliedAt: "data",
  error: "data",
  revertError: "data",
  followUpRevert: "data",
  slack: "slack",
  postClaims: "slack",
  due: "data",
  jobs: "data",
  history: "data",
};

/** Claims are kept as top-level attributes (a map's fields cannot be set before the map exists). */
const claimAttribute = (kind: MessageKind) => `claim_${kind}`;
const DATA_FIELDS = Object.entries(FIELDS)
  .filter(([, how]) => how === "data")
  .map(([field]) => field);

function toItem(request: ApprovalRequest): Item {
  const { postClaims, ...rest } = request;
  const claims: Item = {};
  for (const [kind, at] of Object.entries(postClaims ?? {})) {
    if (at !== undefined) claims[claimAttribute(kind as MessageKind)] = at;
  }
  return {
    ...withoutUndefined(rest),
    // A request may be born with its posts claimed by its creator (no separate claim write).
    ...claims,
    // Born with its (empty) map of Slack refs, so that the first ref is one write, not two.
    slack: withoutUndefined(request.slack ?? {}),
    ...(request.due ? { dueBucket: DUE_BUCKET } : {}),
    [REQUESTS_TABLE.ttlAttribute]: ttlAfter(request.createdAt, REQUEST_RETENTION_DAYS),
  };
}

const isEmptyMap = (value: unknown): boolean =>
  typeof value === "object" && value !== null && Object.keys(value).length === 0;

function fromItem(item: Item): ApprovalRequest {
  const request = { ...item };
  delete request[REQUESTS_TABLE.ttlAttribute];
  delete request.dueBucket;
  if (isEmptyMap(request.slack)) delete request.slack;
  const claims: Record<string, string> = {};
  for (const kind of ["approval", "monitoring"] as const) {
    const attr = claimAttribute(kind);
    if (typeof request[attr] === "string") claims[kind] = request[attr] as string;
    delete request[attr];
  }
  if (Object.keys(claims).length) request.postClaims = claims;
  // Requests stored before versions and approvals counted.
  request.version ??= 0;
  request.requiredApprovals ??= 1;
  request.verification ??= { verified: false, reason: "recorded before requesters were verified" };
  return request as unknown as ApprovalRequest;
}

/** SET every data field `next` has, REMOVE every one it lacks; `slack` and the key untouched. */
function transitionUpdate(next: ApprovalRequest) {
  const clean: Item = {
    ...(withoutUndefined(next) as unknown as Item),
    dueBucket: next.due ? DUE_BUCKET : undefined,
  };
  const names: Record<string, string> = { "#requestId": "requestId", "#status": "status" };
  const values: Item = {};
  const set: string[] = [];
  const remove: string[] = [];
  for (const field of [...DATA_FIELDS, "dueBucket"]) {
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
  async transition(
    from: Pick<ApprovalRequest, "status" | "version">,
    next: ApprovalRequest,
  ): Promise<void> {
    const { names, values, expression } = transitionUpdate(next);
    // Requests stored before versions have none: version 0 matches its absence.
    const version =
      from.version === 0 ? "(attribute_not_exists(#version) OR #version = :v)" : "#version = :v";
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { requestId: next.requestId },
          UpdateExpression: expression,
          ConditionExpression: `attribute_exists(#requestId) AND #status = :from AND ${version}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ...values, ":from": from.status, ":v": from.version },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw dynamoError("UpdateItem", this.table, err);
      throw await this.lostTransition(next.requestId, from.status, err);
    }
  }

  claimPost(
    requestId: string,
    kinds: MessageKind | readonly MessageKind[],
    at: string,
    staleBefore: string,
  ): Promise<boolean> {
    const all = typeof kinds === "string" ? [kinds] : kinds;
    const names: Record<string, string> = { "#requestId": "requestId", "#slack": "slack" };
    const set: string[] = [];
    const conditions = ["attribute_exists(#requestId)"];
    for (const kind of all) {
      names[`#${kind}`] = kind;
      names[`#claim_${kind}`] = claimAttribute(kind);
      set.push(`#claim_${kind} = :at`);
      conditions.push(
        `attribute_not_exists(#slack.#${kind})`,
        `(attribute_not_exists(#claim_${kind}) OR #claim_${kind} < :stale)`,
      );
    }
    return this.update(requestId, {
      UpdateExpression: `SET ${set.join(", ")}`,
      ConditionExpression: conditions.join(" AND "),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ":at": at, ":stale": staleBefore },
    });
  }

  async releasePost(requestId: string, kind: MessageKind): Promise<void> {
    // Not removed: set to a time older than any lease, so that whoever posts next looks first.
    await this.update(requestId, {
      UpdateExpression: "SET #claim = :stale",
      ConditionExpression: "attribute_exists(#requestId)",
      ExpressionAttributeNames: { "#requestId": "requestId", "#claim": claimAttribute(kind) },
      ExpressionAttributeValues: { ":stale": "0" },
    });
  }

  /** Why a transition's condition failed: the id is unknown, or the request is in another status. */
  private async lostTransition(requestId: string, from: RequestStatus, err: unknown) {
    // DynamoDB returns the item on the exception (ALL_OLD); emulators may not, so read it then.
    let current = statusOnException(err);
    if (current === undefined) current = (await this.get(requestId))?.status;
    if (current === undefined) return new NotFoundError(`request ${requestId} does not exist`);
    return new ConflictError(`request ${requestId} is ${current}, not ${from}`);
  }

  async setSlackRefs(requestId: string, refs: SlackRefs, due: string | undefined): Promise<void> {
    const clean = withoutUndefined(refs);
    if (Object.keys(clean).length === 0) return;
    // `slack` is a map that may not exist yet: set its fields if it does, else the whole map. A
    // writer racing us between the two makes one of them fail its condition; go round again.
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.setSlackFields(requestId, clean, due)) return;
      if (await this.setSlackMap(requestId, clean, due)) return;
      if (!(await this.get(requestId)))
        throw new NotFoundError(`request ${requestId} does not exist`);
    }
    throw new ConflictError(
      `request ${requestId}: could not record Slack refs (concurrent writers)`,
    );
  }

  private setSlackFields(requestId: string, refs: SlackRefs, due: string | undefined) {
    const names: Record<string, string> = { "#slack": "slack", "#requestId": "requestId" };
    const values: Record<string, SlackMessageRef | string> = {};
    const set: string[] = [];
    for (const [key, ref] of Object.entries(refs)) {
      names[`#${key}`] = key;
      values[`:${key}`] = ref;
      set.push(`#slack.#${key} = :${key}`);
    }
    const schedule = dueUpdate(due);
    return this.update(requestId, {
      UpdateExpression: `SET ${[...set, ...schedule.set].join(", ")}${schedule.remove}`,
      ConditionExpression: "attribute_exists(#requestId) AND attribute_exists(#slack)",
      ExpressionAttributeNames: { ...names, ...schedule.names },
      ExpressionAttributeValues: { ...values, ...schedule.values },
    });
  }

  private setSlackMap(requestId: string, refs: SlackRefs, due: string | undefined) {
    const schedule = dueUpdate(due);
    return this.update(requestId, {
      UpdateExpression: `SET ${["#slack = :slack", ...schedule.set].join(", ")}${schedule.remove}`,
      ConditionExpression: "attribute_exists(#requestId) AND attribute_not_exists(#slack)",
      ExpressionAttributeNames: { "#slack": "slack", "#requestId": "requestId", ...schedule.names },
      ExpressionAttributeValues: { ":slack": refs, ...schedule.values },
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

  async listDue(now: string, limit: number): Promise<ApprovalRequest[]> {
    const out: ApprovalRequest[] = [];
    let start: Item | undefined;
    do {
      const page = await call("Query", this.table, () =>
        this.doc.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: REQUESTS_BY_DUE_INDEX,
            KeyConditionExpression: "#bucket = :bucket AND #due <= :now",
            ExpressionAttributeNames: { "#bucket": "dueBucket", "#due": "due" },
            ExpressionAttributeValues: { ":bucket": DUE_BUCKET, ":now": now },
            ScanIndexForward: true,
            Limit: limit - out.length,
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of page.Items ?? []) out.push(fromItem(item));
      start = page.LastEvaluatedKey;
    } while (start && out.length < limit);
    return out;
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

/** Sets (or removes) a request's job time and its index key. */
function dueUpdate(due: string | undefined) {
  const names = { "#due": "due", "#dueBucket": "dueBucket" };
  if (!due) return { set: [] as string[], remove: " REMOVE #due, #dueBucket", names, values: {} };
  return {
    set: ["#due = :due", "#dueBucket = :bucket"],
    remove: "",
    names,
    values: { ":due": due, ":bucket": DUE_BUCKET },
  };
}

/** The stored status DynamoDB returned with a ConditionalCheckFailedException (ALL_OLD). */
function statusOnException(err: unknown): RequestStatus | undefined {
  if (typeof err !== "object" || err === null || !("Item" in err)) return undefined;
  const item = err.Item as { status?: { S?: string } } | undefined;
  return item?.status?.S as RequestStatus | undefined;
}
