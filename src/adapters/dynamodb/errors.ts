/**
 * DynamoDB errors at the edge: a lost condition is recognised by name (so two copies of the SDK
 * still agree), every other failure is wrapped with the operation and table it came from.
 */

/** A DynamoDB call failed for a reason the adapter does not turn into an outcome. */
export class DynamoDbError extends Error {
  override readonly name = "DynamoDbError";
  constructor(
    readonly operation: string,
    readonly table: string,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`DynamoDB ${operation} on ${table} failed: ${code}: ${message}`, options);
  }
}

export function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}

export function isConditionalCheckFailed(err: unknown): boolean {
  return errorName(err) === "ConditionalCheckFailedException";
}

/** `err` as a DynamoDbError naming the operation and the table (unchanged if it is one already). */
export function dynamoError(operation: string, table: string, err: unknown): Error {
  if (err instanceof DynamoDbError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new DynamoDbError(operation, table, errorName(err), message, { cause: err });
}

/** Runs one SDK call, wrapping any failure (a lost condition included) as a DynamoDbError. */
export async function call<T>(operation: string, table: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw dynamoError(operation, table, err);
  }
}

/** Runs a conditional SDK call: true when it wrote, false when its condition failed. */
export async function conditional(
  operation: string,
  table: string,
  fn: () => Promise<unknown>,
): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (err) {
    if (isConditionalCheckFailed(err)) return false;
    throw dynamoError(operation, table, err);
  }
}
