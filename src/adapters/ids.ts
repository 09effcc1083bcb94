/**
 * Request ids: "r-" and a ULID whose time is the event's time and whose randomness is a hash of
 * the event's identity. The same CloudTrail event always gets the same id, so the hub's
 * conditional create turns a redelivered event into a no-op, and ids still sort by time.
 */
import { createHash } from "node:crypto";
import { encodeTime } from "ulid";
import type { Change } from "../domain/change.js";
import { requestIdFromUlid } from "../domain/request.js";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** 80 bits of a SHA-256 digest as 16 Crockford base-32 characters (the ULID's random part). */
function hashPart(input: string): string {
  const digest = createHash("sha256").update(input).digest();
  let bits = 0n;
  for (const byte of digest.subarray(0, 10)) bits = (bits << 8n) | BigInt(byte);
  let out = "";
  for (let i = 0; i < 16; i++) {
    out = CROCKFORD[Number(bits & 31n)] + out;
    bits >>= 5n;
  }
  return out;
}

export function requestIdFor(
  change: Pick<Change, "account" | "region" | "eventId" | "eventTime">,
): string {
  const ms = Date.parse(change.eventTime);
  return requestIdFromUlid(
    encodeTime(Number.isNaN(ms) ? 0 : ms, 10) +
      hashPart(`${change.account}/${change.region}/${change.eventId}`),
  );
}

/**
 * A drift's event id: "drift-" and a hash of the group, the difference and when it was first
 * seen, so a sweep retried after a crash files the same drift under the same request.
 */
export function driftEventId(groupId: string, fingerprint: string, firstSeenAt: string): string {
  const digest = createHash("sha256")
    .update(`${groupId}\n${firstSeenAt}\n${fingerprint}`)
    .digest("hex");
  return `drift-${digest.slice(0, 32)}`;
}
