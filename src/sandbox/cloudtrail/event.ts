/**
 * The "AWS API Call via CloudTrail" event as EventBridge delivers it for an EC2 API call.
 */
import { randomUUID } from "node:crypto";
import type { Json } from "./request.js";

export const CLOUDTRAIL_EVENT_VERSION = "1.09";

export interface CloudTrailApiCallDetail {
  eventVersion: string;
  userIdentity: Json;
  eventTime: string;
  eventSource: "ec2.amazonaws.com";
  eventName: string;
  awsRegion: string;
  sourceIPAddress: string;
  userAgent: string;
  /** Failed calls only: "Client.<Code>" (4xx) or "Server.<Code>" (5xx). */
  errorCode?: string;
  errorMessage?: string;
  requestParameters: Json;
  /** null for a failed call. */
  responseElements: Json | null;
  requestID: string;
  eventID: string;
  readOnly: false;
  eventType: "AwsApiCall";
  managementEvent: true;
  recipientAccountId: string;
  eventCategory: "Management";
}

export interface EventBridgeEvent {
  version: "0";
  id: string;
  "detail-type": "AWS API Call via CloudTrail";
  source: "aws.ec2";
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: CloudTrailApiCallDetail;
}

/** CloudTrail's timestamps: ISO 8601 in UTC to the second, e.g. 2025-06-15T10:51:12Z. */
export function cloudTrailTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export interface ApiCallEventInput {
  account: string;
  region: string;
  time: Date;
  eventName: string;
  userIdentity: Json;
  sourceIPAddress: string;
  userAgent: string;
  requestParameters: Json;
  requestID: string;
  /** Present for a successful call. */
  responseElements?: Json;
  /** Present for a failed call. */
  error?: { code: string; message: string };
}

/** Builds the event, keys in the order CloudTrail writes them. */
export function apiCallEvent(input: ApiCallEventInput): EventBridgeEvent {
  const time = cloudTrailTime(input.time);
  const detail = {
    eventVersion: CLOUDTRAIL_EVENT_VERSION,
    userIdentity: input.userIdentity,
    eventTime: time,
    eventSource: "ec2.amazonaws.com",
    eventName: input.eventName,
    awsRegion: input.region,
    sourceIPAddress: input.sourceIPAddress,
    userAgent: input.userAgent,
    ...(input.error ? { errorCode: input.error.code, errorMessage: input.error.message } : {}),
    requestParameters: input.requestParameters,
    responseElements: input.error ? null : (input.responseElements ?? null),
    requestID: input.requestID,
    eventID: randomUUID(),
    readOnly: false,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: input.account,
    eventCategory: "Management",
  } as const satisfies CloudTrailApiCallDetail;
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "AWS API Call via CloudTrail",
    source: "aws.ec2",
    account: input.account,
    time,
    region: input.region,
    resources: [],
    detail,
  };
}
