/**
 * CloudTrail input in the shapes an operator has at hand, turned into what the parser takes (what
 * EventBridge hands the member, `parseCloudTrailEvent`):
 *   - one EventBridge event (or one bare CloudTrail record), passed on as it is;
 *   - a CloudTrail log file as a trail delivers it to S3: `{"Records": [record, ...]}`;
 *   - the output of `aws cloudtrail lookup-events`: `{"Events": [{..., "CloudTrailEvent":
 *     "<the record as a JSON string>"}, ...]}`.
 * Each record of the last two is wrapped in the envelope EventBridge would have given it.
 */
import { CLOUDTRAIL_DETAIL_TYPE, MalformedEventError } from "./cloudtrail.js";
import { isObject, type Json, str } from "./json.js";

export type CloudTrailInputKind = "event" | "log-file" | "lookup-events";

export interface CloudTrailInputEvent {
  /** Where the record sits in the input ("Records[2]", "Events[0]"); "" for a single event. */
  where: string;
  /** An EventBridge event, for `parseCloudTrailEvent`. */
  event: unknown;
  /** The record's own eventName and eventID, when it has them: to label it in a list. */
  eventName?: string;
  eventId?: string;
}

export interface CloudTrailInput {
  kind: CloudTrailInputKind;
  /** One per record, in the input's order (lookup-events lists the newest first). */
  events: CloudTrailInputEvent[];
}

/** CloudTrail's eventType → the EventBridge detail-type CloudTrail sends it under. */
const DETAIL_TYPES: Record<string, string> = {
  AwsApiCall: CLOUDTRAIL_DETAIL_TYPE,
  AwsServiceEvent: "AWS Service Event via CloudTrail",
  AwsConsoleSignIn: "AWS Console Signin via CloudTrail",
  AwsConsoleAction: "AWS Console Action via CloudTrail",
  AwsCloudTrailInsight: "AWS Insight via CloudTrail",
};

/**
 * A bare CloudTrail record (a log file's or lookup-events' entry, an EventBridge event's `detail`)
 * wrapped as EventBridge delivers it: `source` aws.<service> from the eventSource
 * <service>.amazonaws.com (aws.ec2 for EC2), `detail-type` from the eventType ("AWS API Call via
 * CloudTrail" for an API call, and when the record has no eventType), `account` the
 * recipientAccountId (else userIdentity.accountId), `time` the eventTime, `region` the awsRegion,
 * `resources` empty, `detail` the record itself. EventBridge's own `id` is random and is left out;
 * the parser takes the record's eventID.
 */
export function eventBridgeEventFromRecord(record: unknown): Json {
  if (!isObject(record)) throw new MalformedEventError("the CloudTrail record is not an object");
  const eventSource = str(record.eventSource);
  const service = eventSource?.match(/^([a-z0-9-]+)\.amazonaws\.com$/)?.[1];
  const eventType = str(record.eventType);
  const identity = isObject(record.userIdentity) ? record.userIdentity : {};
  const envelope: Json = {
    version: "0",
    "detail-type":
      eventType === undefined
        ? CLOUDTRAIL_DETAIL_TYPE
        : (DETAIL_TYPES[eventType] ?? `${eventType} via CloudTrail`),
    source: service ? `aws.${service}` : eventSource,
    account: str(record.recipientAccountId) ?? str(identity.accountId),
    time: str(record.eventTime),
    region: str(record.awsRegion),
    resources: [],
    detail: record,
  };
  return Object.fromEntries(Object.entries(envelope).filter(([, v]) => v !== undefined));
}

function entry(where: string, record: unknown): CloudTrailInputEvent {
  if (!isObject(record) || (record.eventSource === undefined && record.eventName === undefined)) {
    throw new MalformedEventError(
      `${where} is not a CloudTrail record (no eventSource, no eventName)`,
    );
  }
  const eventName = str(record.eventName);
  const eventId = str(record.eventID);
  return {
    where,
    event: eventBridgeEventFromRecord(record),
    ...(eventName ? { eventName } : {}),
    ...(eventId ? { eventId } : {}),
  };
}

function list(value: unknown, key: string): unknown[] {
  if (!Array.isArray(value)) throw new MalformedEventError(`${key} is not a list`);
  return value;
}

/** One lookup-events entry's record: its CloudTrailEvent, a JSON string. */
function lookupRecord(item: unknown, where: string): unknown {
  if (!isObject(item)) throw new MalformedEventError(`${where} is not an object`);
  const text = item.CloudTrailEvent;
  if (typeof text !== "string") {
    throw new MalformedEventError(`${where} has no CloudTrailEvent (the record as a JSON string)`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new MalformedEventError(
      `${where}.CloudTrailEvent is not valid JSON: ${(err as Error).message}`,
    );
  }
}

/**
 * What a JSON input holds, as EventBridge events. An object with `detail` is an EventBridge event
 * even if it has other keys; else `Records` makes a log file and `Events` a lookup-events output;
 * anything else is one event, passed on untouched (the parser says what is wrong with it).
 * Throws MalformedEventError for a list that is not one, or an entry that is not a record.
 */
export function cloudTrailInput(json: unknown): CloudTrailInput {
  if (isObject(json) && !isObject(json.detail)) {
    if ("Records" in json) {
      const events = list(json.Records, "Records").map((r, i) => entry(`Records[${i}]`, r));
      return { kind: "log-file", events };
    }
    if ("Events" in json) {
      const events = list(json.Events, "Events").map((item, i) =>
        entry(`Events[${i}]`, lookupRecord(item, `Events[${i}]`)),
      );
      return { kind: "lookup-events", events };
    }
  }
  return { kind: "event", events: [{ where: "", event: json }] };
}
