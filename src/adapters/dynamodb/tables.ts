/**
 * The two tables as plain data, so the CDK app, the sandbox and the tests create the same thing.
 * Key and attribute types use DynamoDB's letters ("S"), which are also the values of CDK's
 * AttributeType enum.
 */
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type TableDescription,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { dynamoError, errorName } from "./errors.js";

export interface KeyAttribute {
  name: string;
  type: "S" | "N" | "B";
}

export interface GlobalIndexDefinition {
  name: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  projection: "ALL" | "KEYS_ONLY";
}

export interface TableDefinition {
  defaultName: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  globalIndexes: readonly GlobalIndexDefinition[];
  /** The attribute holding the expiry time, in epoch seconds. */
  ttlAttribute: string;
  billingMode: "PAY_PER_REQUEST";
}

/** Requests are kept this long after creation, then DynamoDB's TTL deletes them. */
export const REQUEST_RETENTION_DAYS = 400;
/**
 * Handled events (and open changes) are remembered this long: past any redelivery, and past the
 * longest a request can wait for a decision (30 days) and its follow-up revert.
 */
export const EVENT_RETENTION_DAYS = 45;
/** Filed drift is kept this long for a late event to join (CloudTrail delivers within hours). */
export const DRIFT_RETENTION_DAYS = 14;

export const REQUESTS_BY_STATUS_INDEX = "byStatus";
/** Sparse: only requests the scheduled job must look at (`dueBucket` set with `due`). */
export const REQUESTS_BY_DUE_INDEX = "byDue";
/** The one value of `dueBucket`: the index's partition holds every due request, by `due`. */
export const DUE_BUCKET = "due";
/** Sparse: only events whose outbox message is still to send. */
export const OUTBOX_INDEX = "byOutbox";

/** The hub's requests: one item per ApprovalRequest, plus `ttl`. */
export const REQUESTS_TABLE = {
  defaultName: "securityGroupRequests",
  partitionKey: { name: "requestId", type: "S" },
  globalIndexes: [
    {
      name: REQUESTS_BY_STATUS_INDEX,
      partitionKey: { name: "status", type: "S" },
      sortKey: { name: "createdAt", type: "S" },
      projection: "ALL",
    },
    {
      name: REQUESTS_BY_DUE_INDEX,
      partitionKey: { name: "dueBucket", type: "S" },
      sortKey: { name: "due", type: "S" },
      projection: "ALL",
    },
  ],
  ttlAttribute: "ttl",
  billingMode: "PAY_PER_REQUEST",
} as const satisfies TableDefinition;

/** A member's baselines and event ledger (see src/adapters/dynamodb/baselines.ts for the items). */
export const BASELINES_TABLE = {
  defaultName: "securityGroupBaselines",
  partitionKey: { name: "pk", type: "S" },
  sortKey: { name: "sk", type: "S" },
  globalIndexes: [
    {
      name: OUTBOX_INDEX,
      partitionKey: { name: "outbox", type: "S" },
      sortKey: { name: "handledAt", type: "S" },
      projection: "KEYS_ONLY",
    },
  ],
  ttlAttribute: "ttl",
  billingMode: "PAY_PER_REQUEST",
} as const satisfies TableDefinition;

export interface TableNames {
  requests: string;
  baselines: string;
}

export const DEFAULT_TABLE_NAMES: TableNames = {
  requests: REQUESTS_TABLE.defaultName,
  baselines: BASELINES_TABLE.defaultName,
};

/** Epoch seconds `days` after an ISO time: a TTL value. */
export function ttlAfter(isoTime: string, days: number): number {
  const ms = Date.parse(isoTime);
  if (Number.isNaN(ms)) throw new Error(`not an ISO time: ${isoTime}`);
  return Math.floor(ms / 1000) + days * 86_400;
}

function keySchema(partition: KeyAttribute, sort?: KeyAttribute) {
  return [
    { AttributeName: partition.name, KeyType: "HASH" as const },
    ...(sort ? [{ AttributeName: sort.name, KeyType: "RANGE" as const }] : []),
  ];
}

function attributeDefinitions(def: TableDefinition): AttributeDefinition[] {
  const keys: KeyAttribute[] = [def.partitionKey];
  if (def.sortKey) keys.push(def.sortKey);
  for (const index of def.globalIndexes) {
    keys.push(index.partitionKey);
    if (index.sortKey) keys.push(index.sortKey);
  }
  const byName = new Map(keys.map((k) => [k.name, k.type]));
  return [...byName].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType }));
}

/** The CreateTable call for a definition (TTL is switched on separately: UpdateTimeToLive). */
export function createTableInput(
  def: TableDefinition,
  name: string = def.defaultName,
): CreateTableCommandInput {
  const input: CreateTableCommandInput = {
    TableName: name,
    BillingMode: def.billingMode,
    AttributeDefinitions: attributeDefinitions(def),
    KeySchema: keySchema(def.partitionKey, def.sortKey),
  };
  if (def.globalIndexes.length > 0) {
    input.GlobalSecondaryIndexes = def.globalIndexes.map((index) => ({
      IndexName: index.name,
      KeySchema: keySchema(index.partitionKey, index.sortKey),
      Projection: { ProjectionType: index.projection },
    }));
  }
  return input;
}

async function describeTable(
  client: DynamoDBClient,
  name: string,
): Promise<TableDescription | undefined> {
  try {
    const out = await client.send(new DescribeTableCommand({ TableName: name }));
    return out.Table;
  } catch (err) {
    if (errorName(err) === "ResourceNotFoundException") return undefined;
    throw dynamoError("DescribeTable", name, err);
  }
}

function isActive(table: TableDescription | undefined): boolean {
  if (table?.TableStatus !== "ACTIVE") return false;
  return (table.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === "ACTIVE");
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitUntilActive(client: DynamoDBClient, name: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 2_000)) {
    if (isActive(await describeTable(client, name))) return;
    if (Date.now() > deadline) throw new Error(`table ${name} is not ACTIVE after ${timeoutMs} ms`);
    await sleep(delay);
  }
}

async function createIfAbsent(client: DynamoDBClient, def: TableDefinition, name: string) {
  if (await describeTable(client, name)) return;
  try {
    await client.send(new CreateTableCommand(createTableInput(def, name)));
  } catch (err) {
    // Another process created it between our describe and our create: fine.
    if (errorName(err) !== "ResourceInUseException") throw dynamoError("CreateTable", name, err);
  }
}

/**
 * Switches TTL on. Returns false when the endpoint has no UpdateTimeToLive (dynalite): items then
 * keep their `ttl` attribute but are never deleted.
 */
async function enableTtl(client: DynamoDBClient, def: TableDefinition, name: string) {
  const described = await client.send(new DescribeTimeToLiveCommand({ TableName: name }));
  const status = described.TimeToLiveDescription?.TimeToLiveStatus;
  if (status === "ENABLED" || status === "ENABLING") return true;
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { AttributeName: def.ttlAttribute, Enabled: true },
      }),
    );
    return true;
  } catch (err) {
    if (errorName(err) === "UnknownOperationException") return false;
    throw dynamoError("UpdateTimeToLive", name, err);
  }
}

/** Creates the tables that do not exist yet, waits until they are ACTIVE and turns TTL on. */
export async function ensureTables(
  client: DynamoDBClient,
  names: TableNames = DEFAULT_TABLE_NAMES,
  timeoutMs = 120_000,
): Promise<void> {
  const tables: [TableDefinition, string][] = [
    [REQUESTS_TABLE, names.requests],
    [BASELINES_TABLE, names.baselines],
  ];
  await Promise.all(
    tables.map(async ([def, name]) => {
      await createIfAbsent(client, def, name);
      await waitUntilActive(client, name, timeoutMs);
      await enableTtl(client, def, name);
    }),
  );
}
