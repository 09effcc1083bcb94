/**
 * The EC2 client every adapter uses: SDK retries sized for EC2's API throttling.
 *
 * EC2 throttles with the error code RequestLimitExceeded, which the SDK's retry middleware
 * classifies as a throttling error (THROTTLING_ERROR_CODES of @smithy/core/retry, formerly the
 * package @smithy/service-error-classification). The standard strategy retries it with jittered
 * exponential back-off, at most 20 s per wait, until maxAttempts is spent; outcome errors such as
 * InvalidPermission.Duplicate are never retried.
 */
import { EC2Client, type EC2ClientConfig } from "@aws-sdk/client-ec2";
import { ConfiguredRetryStrategy } from "@smithy/core/retry";
import { NodeHttpHandler } from "@smithy/node-http-handler";

/** Per attempt: an EC2 endpoint that accepts connections and never answers is an error, not a hang. */
export const EC2_CONNECT_TIMEOUT_MS = 3_000;
export const EC2_REQUEST_TIMEOUT_MS = 10_000;

/** Attempts per call, the first included: seven retries ride out a throttling burst. */
export const EC2_MAX_ATTEMPTS = 8;

export interface Ec2ClientOptions {
  region?: string;
  /** E.g. a moto server's http://127.0.0.1:PORT. */
  endpoint?: string;
  credentials?: EC2ClientConfig["credentials"];
  /** Attempts per call, the first included. Default EC2_MAX_ATTEMPTS. */
  maxAttempts?: number;
  /**
   * Milliseconds to wait before retry number `attempt` (1 = the first retry). Replaces the SDK's
   * jittered exponential back-off; meant for tests. The SDK's retry rules stay the same: only
   * throttling and transient errors are retried.
   */
  backoff?: (attempt: number) => number;
}

export function createEc2Client(options: Ec2ClientOptions = {}): EC2Client {
  const maxAttempts = options.maxAttempts ?? EC2_MAX_ATTEMPTS;
  const config: EC2ClientConfig = {
    maxAttempts,
    // The middleware stack is resolved once per command type, not at every call: about 1 ms of
    // the 4 ms of CPU an EC2 call takes here. Nothing adds middleware to a single command.
    // (Not for DynamoDB: the document client's commands cannot share a cached stack.)
    cacheMiddleware: true,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: EC2_CONNECT_TIMEOUT_MS,
      requestTimeout: EC2_REQUEST_TIMEOUT_MS,
    }),
    ...(options.backoff
      ? { retryStrategy: new ConfiguredRetryStrategy(maxAttempts, options.backoff) }
      : { retryMode: "standard" }),
  };
  if (options.region !== undefined) config.region = options.region;
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  if (options.credentials !== undefined) config.credentials = options.credentials;
  return new EC2Client(config);
}
