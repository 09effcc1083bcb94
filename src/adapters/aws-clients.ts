/**
 * Timeouts for every AWS client: an endpoint that accepts connections and never answers must not
 * hold a function until Lambda kills it (or Slack gives up on a click). The SDK has none of its
 * own: a request waits as long as the socket does.
 */
import { NodeHttpHandler } from "@smithy/node-http-handler";

export interface ClientTimeouts {
  /** Milliseconds to open a connection. */
  connectMs: number;
  /** Milliseconds from sending a request to its whole answer. */
  requestMs: number;
  /** Attempts per call, the first included (the SDK's standard retries). */
  attempts: number;
}

/** Background work: DynamoDB, EventBridge, SNS from the member and the hub's SNS handlers. */
export const BACKGROUND: ClientTimeouts = { connectMs: 2_000, requestMs: 5_000, attempts: 3 };
/** Inside a Slack click: everything must fit in Slack's 3 seconds. */
export const INTERACTIVE: ClientTimeouts = { connectMs: 500, requestMs: 1_000, attempts: 2 };

export function clientConfig(t: ClientTimeouts) {
  return {
    maxAttempts: t.attempts,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: t.connectMs,
      requestTimeout: t.requestMs,
    }),
  };
}
