/**
 * Verifies that an HTTP request came from Slack (signed secrets, v0).
 *
 *   X-Slack-Signature = "v0=" + hex(HMAC-SHA256(signingSecret, "v0:" + timestamp + ":" + rawBody))
 *
 * Modelled on bolt-js's `verifySlackRequest` (src/receivers/verify-request.ts): a pure function with
 * the clock injected, throwing on failure. Differences: it rejects timestamps too far in the
 * future as well as in the past, it reads the body as bytes (no decode and re-encode), and it
 * says why it failed in `reason` so a handler can log it and still answer an opaque 401.
 * @slack/bolt itself is not used: its package depends on express, @slack/oauth and
 * @slack/socket-mode, too much to bundle into a Lambda for one HMAC.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** Slack's replay window: a request whose timestamp is further than this from now is refused. */
export const MAX_CLOCK_SKEW_SECONDS = 300;

export const SLACK_SIGNATURE_HEADER = "x-slack-signature";
export const SLACK_TIMESTAMP_HEADER = "x-slack-request-timestamp";

const SIGNATURE_VERSION = "v0";
const SIGNATURE_SHAPE = /^([a-z0-9]+)=([0-9a-f]*)$/i;
const TIMESTAMP_SHAPE = /^\d{1,12}$/;
const SHA256_HEX_LENGTH = 64;

export type SlackVerificationReason = "missing_headers" | "stale" | "bad_signature" | "malformed";

/**
 * The request is not a genuine, fresh Slack request. `message` may name what was wrong: log it,
 * but answer the caller with an opaque 401.
 */
export class SlackVerificationError extends Error {
  override readonly name = "SlackVerificationError";
  constructor(
    readonly reason: SlackVerificationReason,
    message: string,
  ) {
    super(message);
  }
}

export interface VerifySlackRequestInput {
  signingSecret: string;
  /** The body exactly as received (bytes, or the string API Gateway gives after base64 decoding). */
  rawBody: string | Uint8Array;
  /** The X-Slack-Signature header, "v0=<64 hex>". */
  signature: string | null | undefined;
  /** The X-Slack-Request-Timestamp header, Unix seconds. */
  timestamp: string | number | null | undefined;
  /** The current time in epoch milliseconds (inject the clock; no Date.now() inside). */
  nowMs: number;
  /** Defaults to MAX_CLOCK_SKEW_SECONDS (300). */
  maxSkewSeconds?: number;
}

/**
 * Throws SlackVerificationError unless `signature` is Slack's v0 signature of `rawBody` at
 * `timestamp` and `timestamp` is within `maxSkewSeconds` of `nowMs` (past or future).
 * Throws a plain Error when the signing secret is empty: that is a configuration bug, not a bad
 * request.
 */
export function verifySlackRequest(input: VerifySlackRequestInput): void {
  const { signingSecret, rawBody, nowMs } = input;
  const maxSkewSeconds = input.maxSkewSeconds ?? MAX_CLOCK_SKEW_SECONDS;
  if (signingSecret.length === 0) {
    throw new Error("the Slack signing secret is empty: requests cannot be verified");
  }

  const signature = input.signature?.trim() ?? "";
  const timestamp =
    typeof input.timestamp === "number" ? String(input.timestamp) : (input.timestamp?.trim() ?? "");
  const missing = [
    ...(signature === "" ? [SLACK_SIGNATURE_HEADER] : []),
    ...(timestamp === "" ? [SLACK_TIMESTAMP_HEADER] : []),
  ];
  if (missing.length > 0) {
    throw new SlackVerificationError(
      "missing_headers",
      `not a Slack request: missing header ${missing.join(" and ")}`,
    );
  }

  if (!TIMESTAMP_SHAPE.test(timestamp)) {
    throw new SlackVerificationError(
      "malformed",
      `${SLACK_TIMESTAMP_HEADER} is not a Unix time in seconds: ${JSON.stringify(truncate(timestamp))}`,
    );
  }
  const skewMs = nowMs - Number(timestamp) * 1000;
  if (Math.abs(skewMs) > maxSkewSeconds * 1000) {
    const seconds = Math.round(Math.abs(skewMs) / 1000);
    const when = skewMs > 0 ? `${seconds} s old` : `${seconds} s in the future`;
    throw new SlackVerificationError(
      "stale",
      `${SLACK_TIMESTAMP_HEADER} is ${when}; at most ${maxSkewSeconds} s of skew is accepted ` +
        "(a replayed request, or a clock out of sync)",
    );
  }

  const shape = SIGNATURE_SHAPE.exec(signature);
  if (!shape) {
    throw new SlackVerificationError(
      "malformed",
      `${SLACK_SIGNATURE_HEADER} is not of the form "v0=<hex>": ${JSON.stringify(truncate(signature))}`,
    );
  }
  const [, version = "", hex = ""] = shape;
  if (version !== SIGNATURE_VERSION) {
    throw new SlackVerificationError(
      "bad_signature",
      `${SLACK_SIGNATURE_HEADER} has signature version "${truncate(version)}"; only "${SIGNATURE_VERSION}" is known`,
    );
  }
  if (hex.length !== SHA256_HEX_LENGTH) {
    throw new SlackVerificationError(
      "malformed",
      `${SLACK_SIGNATURE_HEADER} must carry ${SHA256_HEX_LENGTH} hex digits after "v0=", not ${hex.length}`,
    );
  }

  const expected = hmac(signingSecret, timestamp, rawBody);
  const given = Buffer.from(hex, "hex");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new SlackVerificationError(
      "bad_signature",
      "the signature does not match the body: wrong signing secret, or the body was altered",
    );
  }
}

export interface SignSlackRequestInput {
  signingSecret: string;
  rawBody: string | Uint8Array;
  /** Unix seconds, as sent in X-Slack-Request-Timestamp. */
  timestamp: string | number;
}

/** Slack's X-Slack-Signature for a body: "v0=" + 64 hex digits. For the sandbox and tests. */
export function signSlackRequest({
  signingSecret,
  rawBody,
  timestamp,
}: SignSlackRequestInput): string {
  return `${SIGNATURE_VERSION}=${hmac(signingSecret, String(timestamp), rawBody).toString("hex")}`;
}

/**
 * The two Slack headers from a header map of any letter case (API Gateway keeps the case the
 * client sent). A repeated header arrives joined or as an array: the first value is taken.
 */
export function readSlackHeaders(
  headers: Readonly<Record<string, string | readonly string[] | undefined>> | null | undefined,
): { signature: string | undefined; timestamp: string | undefined } {
  let signature: string | undefined;
  let timestamp: string | undefined;
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = typeof value === "string" ? value : value?.[0];
    const lower = name.toLowerCase();
    if (lower === SLACK_SIGNATURE_HEADER) signature ??= first;
    else if (lower === SLACK_TIMESTAMP_HEADER) timestamp ??= first;
  }
  return { signature, timestamp };
}

function hmac(secret: string, timestamp: string, rawBody: string | Uint8Array): Buffer {
  const mac = createHmac("sha256", secret);
  mac.update(`${SIGNATURE_VERSION}:${timestamp}:`, "utf8");
  if (typeof rawBody === "string") mac.update(rawBody, "utf8");
  else mac.update(rawBody);
  return mac.digest();
}

function truncate(value: string, max = 40): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}
