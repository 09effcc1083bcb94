import { describe, expect, it } from "vitest";
import {
  CLOUDTRAIL_DETAIL_TYPE,
  GroupNamedOnlyError,
  MalformedEventError,
  type ParseResult,
  parseCloudTrailEvent,
  withGroupId,
} from "../../src/domain/cloudtrail.js";
import { cloudTrailInput, eventBridgeEventFromRecord } from "../../src/domain/cloudtrail-input.js";
import {
  cloudTrailFixtureNames,
  DEFAULT_GROUP_ID,
  detailOf,
  type Json,
  loadFixture,
} from "../support/domain-fixtures.js";

/** Parses as the member does: a group named only by name gets the id its lookup would find. */
function parse(event: unknown): ParseResult {
  try {
    return parseCloudTrailEvent(event);
  } catch (err) {
    if (!(err instanceof GroupNamedOnlyError)) throw err;
    return parseCloudTrailEvent(withGroupId(event, DEFAULT_GROUP_ID));
  }
}

const withoutId = ({ id: _id, ...envelope }: Json) => envelope;

const record = (extra: Json = {}): Json => ({
  eventVersion: "1.10",
  userIdentity: { type: "IAMUser", accountId: "111122223333", userName: "alice" },
  eventTime: "2025-06-15T10:51:12Z",
  eventSource: "ec2.amazonaws.com",
  eventName: "AuthorizeSecurityGroupIngress",
  awsRegion: "eu-west-1",
  eventID: "2aae5c69-4eaf-490d-b022-fd622c12a717",
  eventType: "AwsApiCall",
  recipientAccountId: "444455556666",
  ...extra,
});

describe("eventBridgeEventFromRecord: a bare record in the envelope EventBridge gives it", () => {
  it.each(cloudTrailFixtureNames())(
    "%s: the fixture's own envelope (all but EventBridge's random id)",
    (name) => {
      const event = loadFixture(name);
      expect(eventBridgeEventFromRecord(detailOf(event))).toStrictEqual(withoutId(event));
    },
  );

  it.each(cloudTrailFixtureNames())("%s: parses as the EventBridge event does", (name) => {
    const event = loadFixture(name);
    expect(parse(eventBridgeEventFromRecord(detailOf(event)))).toStrictEqual(parse(event));
  });

  it("takes account, region and time from the record; the record is the detail, untouched", () => {
    const r = record();
    expect(eventBridgeEventFromRecord(r)).toStrictEqual({
      version: "0",
      "detail-type": "AWS API Call via CloudTrail",
      source: "aws.ec2",
      account: "444455556666",
      time: "2025-06-15T10:51:12Z",
      region: "eu-west-1",
      resources: [],
      detail: r,
    });
    expect((eventBridgeEventFromRecord(r) as { detail: unknown }).detail).toBe(r);
  });

  it("without recipientAccountId, the account is the caller's (userIdentity.accountId)", () => {
    const { recipientAccountId: _, ...older } = record();
    expect(eventBridgeEventFromRecord(older).account).toBe("111122223333");
    const { userIdentity: __, ...bare } = older;
    expect(eventBridgeEventFromRecord(bare)).not.toHaveProperty("account");
  });

  it.each([
    ["AwsApiCall", CLOUDTRAIL_DETAIL_TYPE],
    [undefined, CLOUDTRAIL_DETAIL_TYPE],
    ["AwsServiceEvent", "AWS Service Event via CloudTrail"],
    ["AwsConsoleSignIn", "AWS Console Signin via CloudTrail"],
    ["AwsConsoleAction", "AWS Console Action via CloudTrail"],
    ["AwsCloudTrailInsight", "AWS Insight via CloudTrail"],
    ["AwsVpceEvent", "AwsVpceEvent via CloudTrail"],
  ])("eventType %s: detail-type %s", (eventType, detailType) => {
    expect(eventBridgeEventFromRecord(record({ eventType }))["detail-type"]).toBe(detailType);
  });

  it("only an API call is governed: another event type of the same call is ignored", () => {
    const result = parseCloudTrailEvent(
      eventBridgeEventFromRecord(record({ eventType: "AwsServiceEvent" })),
    );
    expect(result).toMatchObject({ ignored: true, reason: expect.stringMatching(/detail-type/) });
  });

  it.each([
    ["ec2.amazonaws.com", "aws.ec2"],
    ["iam.amazonaws.com", "aws.iam"],
    ["signin.amazonaws.com", "aws.signin"],
    ["aws:s3", "aws:s3"],
  ])("eventSource %s: source %s", (eventSource, source) => {
    expect(eventBridgeEventFromRecord(record({ eventSource })).source).toBe(source);
  });

  it("refuses what is not an object", () => {
    for (const bad of [null, "x", 1, []]) {
      expect(() => eventBridgeEventFromRecord(bad)).toThrow(MalformedEventError);
    }
  });
});

describe("cloudTrailInput: what a JSON input holds, as EventBridge events", () => {
  it("one EventBridge event: passed on untouched", () => {
    const event = loadFixture("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json");
    const input = cloudTrailInput(event);
    expect(input.kind).toBe("event");
    expect(input.events).toHaveLength(1);
    expect(input.events[0]?.event).toBe(event);
    expect(input.events[0]?.where).toBe("");
  });

  it("one bare record, or anything else: passed on untouched for the parser to judge", () => {
    for (const json of [record(), { hello: "world" }, [], "text", null]) {
      expect(cloudTrailInput(json)).toStrictEqual({
        kind: "event",
        events: [{ where: "", event: json }],
      });
    }
  });

  it("an event with detail stays an event even with a Records or Events key", () => {
    const event = { ...loadFixture("other/CreateSecurityGroup.json"), Records: [], Events: [] };
    expect(cloudTrailInput(event).kind).toBe("event");
  });

  it("a log file: each record wrapped, in order, labelled", () => {
    const names = ["other/CreateSecurityGroup.json", "AuthorizeSecurityGroupIngress/ipv6.json"];
    const records = names.map((n) => detailOf(loadFixture(n)));
    const input = cloudTrailInput({ Records: records });
    expect(input.kind).toBe("log-file");
    expect(input.events).toStrictEqual(
      names.map((name, i) => ({
        where: `Records[${i}]`,
        event: withoutId(loadFixture(name)),
        eventName: records[i]?.eventName,
        eventId: records[i]?.eventID,
      })),
    );
  });

  it("lookup-events output: each CloudTrailEvent string parsed and wrapped, in order", () => {
    const names = [
      "AuthorizeSecurityGroupIngress/failed-call.json",
      "other/iam-CreateAccessKey.json",
    ];
    const Events = names.map((n) => {
      const detail = detailOf(loadFixture(n));
      return {
        EventId: detail.eventID,
        EventName: detail.eventName,
        ReadOnly: "false",
        EventTime: "2025-03-03T11:09:42+00:00",
        EventSource: detail.eventSource,
        Username: "alice",
        Resources: [],
        CloudTrailEvent: JSON.stringify(detail),
      };
    });
    const input = cloudTrailInput({ NextToken: "abc", Events });
    expect(input.kind).toBe("lookup-events");
    expect(input.events.map((e) => e.where)).toEqual(["Events[0]", "Events[1]"]);
    expect(input.events.map((e) => e.event)).toStrictEqual(
      names.map((n) => withoutId(loadFixture(n))),
    );
  });

  it("empty lists: no events", () => {
    expect(cloudTrailInput({ Records: [] })).toStrictEqual({ kind: "log-file", events: [] });
    expect(cloudTrailInput({ Events: [] })).toStrictEqual({ kind: "lookup-events", events: [] });
  });

  it.each<[string, unknown, RegExp]>([
    ["Records not a list", { Records: {} }, /^Records is not a list$/],
    ["Events not a list", { Events: "x" }, /^Events is not a list$/],
    [
      "a record that is not an object",
      { Records: [record(), 3] },
      /^Records\[1\] is not a CloudTrail record/,
    ],
    [
      "a record with neither eventSource nor eventName",
      { Records: [{ a: 1 }] },
      /^Records\[0\] is not a CloudTrail record/,
    ],
    [
      "an entry without CloudTrailEvent",
      { Events: [{ EventId: "x" }] },
      /^Events\[0\] has no CloudTrailEvent/,
    ],
    [
      "a CloudTrailEvent that is not JSON",
      { Events: [{ CloudTrailEvent: "{" }] },
      /^Events\[0\]\.CloudTrailEvent is not valid JSON/,
    ],
    [
      "a CloudTrailEvent that is not a record",
      { Events: [{ CloudTrailEvent: "[1]" }] },
      /^Events\[0\] is not a CloudTrail record/,
    ],
  ])("%s: MalformedEventError naming where", (_what, json, message) => {
    expect(() => cloudTrailInput(json)).toThrow(MalformedEventError);
    expect(() => cloudTrailInput(json)).toThrow(message);
  });
});
