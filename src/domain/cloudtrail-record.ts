/**
 * The part every governed call's CloudTrail record shares — which call, its event id, when, in
 * which account and region — read the same way for each (an EventBridge event, or a bare record
 * as a log file holds it), or why the record is none of ours: another call, another event
 * source, a call that failed.
 */
import { MalformedEventError } from "./cloudtrail.js";
import { isObject, type Json, str } from "./json.js";

export interface RecordHeader {
  /** The CloudTrail record (the event's `detail`, or the record itself). */
  detail: Json;
  eventName: string;
  eventId: string;
  eventTime: string;
  account: string;
  region: string;
}

export type HeaderRead =
  | { ignored: true; reason: string; eventId?: string }
  | { ignored: false; header: RecordHeader };

/**
 * `event`'s header when it records a successful `expected` call. `failed` says what a failed call
 * means for it ("no group was made"). Throws MalformedEventError naming a missing field.
 */
export function readRecordHeader(event: unknown, expected: string, failed: string): HeaderRead {
  if (!isObject(event)) throw new MalformedEventError("the event is not a JSON object");
  const detail = isObject(event.detail) ? event.detail : event;
  const eventName = str(detail.eventName);
  const eventId = str(detail.eventID) ?? str(event.id);
  const ignore = (reason: string): HeaderRead => ({
    ignored: true,
    reason,
    ...(eventId ? { eventId } : {}),
  });
  if (eventName !== expected) return ignore(`${eventName} is not ${expected}`);
  if (detail.eventSource !== undefined && detail.eventSource !== "ec2.amazonaws.com")
    return ignore(`eventSource is ${String(detail.eventSource)}, not ec2.amazonaws.com`);
  if (detail.errorCode !== undefined && detail.errorCode !== null)
    return ignore(`the call failed (${String(detail.errorCode)}); ${failed}`);
  if (!eventId) throw new MalformedEventError("detail.eventID is missing");
  const eventTime = str(detail.eventTime) ?? str(event.time);
  if (!eventTime || Number.isNaN(Date.parse(eventTime)))
    throw new MalformedEventError("detail.eventTime is missing or not a time");
  const account = str(detail.recipientAccountId) ?? str(event.account);
  if (!account) throw new MalformedEventError("the account (recipientAccountId) is missing");
  const region = str(detail.awsRegion) ?? str(event.region);
  if (!region) throw new MalformedEventError("the region (awsRegion) is missing");
  return { ignored: false, header: { detail, eventName, eventId, eventTime, account, region } };
}
