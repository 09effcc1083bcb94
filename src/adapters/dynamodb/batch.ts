import { BatchWriteCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { call } from "./errors.js";

type Item = Record<string, unknown>;

export type WriteRequest = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: Item } };

/** BatchWriteItem's limit per call. */
export const BATCH_WRITE_LIMIT = 25;

export interface BatchWriteOptions {
  /** Attributes of the table's primary key, to drop duplicate keys (one batch may not repeat one). */
  keyAttributes: readonly string[];
  /** Calls per chunk before unprocessed items are an error. */
  maxAttempts?: number;
  baseDelayMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function keyOf(request: WriteRequest, attributes: readonly string[]): string {
  const item = "PutRequest" in request ? request.PutRequest.Item : request.DeleteRequest.Key;
  return JSON.stringify(attributes.map((a) => item[a]));
}

/** Later requests for the same key replace earlier ones, keeping the first one's place. */
export function lastPerKey(requests: readonly WriteRequest[], attributes: readonly string[]) {
  const byKey = new Map<string, WriteRequest>();
  for (const r of requests) byKey.set(keyOf(r, attributes), r);
  return [...byKey.values()];
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function writeChunk(
  doc: DynamoDBDocumentClient,
  table: string,
  chunk: WriteRequest[],
  maxAttempts: number,
  baseDelayMs: number,
): Promise<void> {
  let pending = chunk;
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > 1) await sleep(baseDelayMs * 2 ** (attempt - 2) * (0.5 + Math.random()));
    const out = await call("BatchWriteItem", table, () =>
      doc.send(new BatchWriteCommand({ RequestItems: { [table]: pending } })),
    );
    pending = (out.UnprocessedItems?.[table] ?? []) as WriteRequest[];
    if (pending.length > 0 && attempt >= maxAttempts) {
      throw new Error(
        `DynamoDB BatchWriteItem on ${table}: ${pending.length} items still unprocessed after ${attempt} attempts`,
      );
    }
  }
}

/**
 * Writes puts and deletes in chunks of 25, retrying unprocessed items with exponential backoff
 * and jitter. Not atomic: a failure part-way leaves earlier chunks written.
 */
export async function batchWrite(
  doc: DynamoDBDocumentClient,
  table: string,
  requests: readonly WriteRequest[],
  options: BatchWriteOptions,
): Promise<void> {
  const { keyAttributes, maxAttempts = 8, baseDelayMs = 50 } = options;
  for (const chunk of chunks(lastPerKey(requests, keyAttributes), BATCH_WRITE_LIMIT)) {
    await writeChunk(doc, table, chunk, maxAttempts, baseDelayMs);
  }
}
