/**
 * SDK errors into our own error types, at the edge: handlers and the domain never see an SDK
 * exception. Only AWS service errors are translated; anything else (a bug, a network failure the
 * SDK gave up on) propagates unchanged.
 */
import { isThrottlingError, isTransientError } from "@smithy/core/retry";
import { SecurityGroupApiError } from "../../ports/errors.js";

/** What every AWS SDK v3 ServiceException carries (the EC2 error code is its `name`). */
interface AwsServiceErrorShape extends Error {
  Code?: string;
  $fault: "client" | "server";
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number };
}

export function isAwsServiceError(e: unknown): e is AwsServiceErrorShape {
  // Structural, not instanceof: the SDK's classes may come from another copy of the package.
  if (typeof e !== "object" || e === null) return false;
  const { name, $fault } = e as Record<string, unknown>;
  return typeof name === "string" && ($fault === "client" || $fault === "server");
}

/** The error to throw in place of `e`: a SecurityGroupApiError for an AWS error, else `e`. */
export function translateError(e: unknown): unknown {
  if (!isAwsServiceError(e)) return e;
  const code = typeof e.Code === "string" && e.Code !== "" ? e.Code : e.name;
  const message = typeof e.message === "string" && e.message !== "" ? e.message : code;
  // Throttling and 5xx errors reach us only once the SDK's own retries are spent.
  // The SDK's own classifiers, so we call retryable exactly what its retry strategy retries.
  const sdkError = e as unknown as Parameters<typeof isThrottlingError>[0];
  const retryable =
    isThrottlingError(sdkError) || isTransientError(sdkError) || e.$fault === "server";
  return new SecurityGroupApiError(code, message, retryable);
}

/** Runs `call`, translating what it throws. */
export async function atEdge<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw translateError(e);
  }
}
