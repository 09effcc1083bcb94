/**
 * The proxy's CloudTrail builders for UpdateSecurityGroupRuleDescriptionsIngress/Egress: what a
 * description update made in the sandbox becomes (the shape of the hand-built fixtures), read back
 * by the member's parser.
 */
import { describe, expect, it } from "vitest";
import { parseCloudTrailEvent } from "../../src/domain/cloudtrail.js";
import { apiCallEvent } from "../../src/sandbox/cloudtrail/event.js";
import {
  isEventAction,
  parseQueryParams,
  requestParameters,
} from "../../src/sandbox/cloudtrail/request.js";
import { eventResponseElements } from "../../src/sandbox/cloudtrail/response.js";
import { parseXml } from "../../src/sandbox/cloudtrail/xml.js";
import { tcpIn } from "../support/domain-builders.js";
import { loadFixture } from "../support/domain-fixtures.js";

const ACCOUNT = "111122223333";
const GROUP = "sg-0f3a9c2b7d1e4a5b6";
const INGRESS = "UpdateSecurityGroupRuleDescriptionsIngress";
const EGRESS = "UpdateSecurityGroupRuleDescriptionsEgress";
/** moto answers the call with a request id only (no `return`): EC2 answers `return` true. */
const ANSWER = (action: string, ret = "") =>
  `<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-1</requestId>${ret}</${action}Response>`;

function event(action: typeof INGRESS | typeof EGRESS, body: string, xml = ANSWER(action)) {
  const responseElements = eventResponseElements(action, "req-1", parseXml(xml));
  return apiCallEvent({
    account: ACCOUNT,
    region: "us-east-1",
    time: new Date("2026-11-23T10:00:00Z"),
    eventName: action,
    userIdentity: {
      type: "IAMUser",
      arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
      accountId: ACCOUNT,
      userName: "alice",
    },
    sourceIPAddress: "127.0.0.1",
    userAgent: "aws-cli/2",
    requestParameters: requestParameters(action, parseQueryParams(body)),
    requestID: "req-1",
    ...(responseElements ? { responseElements } : {}),
  });
}

const requestOf = (name: string) =>
  (loadFixture(name) as { detail: { requestParameters: unknown } }).detail.requestParameters;

describe("sandbox CloudTrail: UpdateSecurityGroupRuleDescriptions*", () => {
  it("the proxy emits events for both calls", () => {
    expect(isEventAction(INGRESS)).toBe(true);
    expect(isEventAction(EGRESS)).toBe(true);
  });

  it("by ipPermissions: the fixture's shape, {requestId, _return}, and the member reads the rule and its new description", () => {
    const e = event(
      INGRESS,
      `Action=${INGRESS}&Version=2016-11-15&GroupId=${GROUP}&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=443&IpPermissions.1.ToPort=443&IpPermissions.1.IpRanges.1.CidrIp=10.20.0.0%2F16&IpPermissions.1.IpRanges.1.Description=HTTPS+from+the+office+VPN+-+OPS-2210`,
    );
    expect(e.detail.requestParameters).toEqual(
      requestOf("UpdateSecurityGroupRuleDescriptionsIngress/by-permissions.json"),
    );
    expect(e.detail.responseElements).toEqual({ requestId: "req-1", _return: true });
    const parsed = parseCloudTrailEvent(e);
    expect(parsed).toMatchObject({
      ignored: false,
      change: {
        kind: "modify",
        groupId: GROUP,
        modifications: [],
        descriptions: [
          {
            rule: tcpIn(443, "10.20.0.0/16", {
              description: "HTTPS from the office VPN - OPS-2210",
            }),
          },
        ],
      },
    });
  });

  it("by rule ids: securityGroupRuleDescriptions items as the fixture has them, a missing description kept missing", () => {
    const e = event(
      INGRESS,
      `Action=${INGRESS}&Version=2016-11-15&GroupId=${GROUP}&SecurityGroupRuleDescription.1.SecurityGroupRuleId=sgr-0a1b2c3d4e5f60718&SecurityGroupRuleDescription.1.Description=reporting+DB+replica+-+OPS-2231&SecurityGroupRuleDescription.2.SecurityGroupRuleId=sgr-0b2c3d4e5f6071829`,
      ANSWER(INGRESS, "<return>true</return>"),
    );
    expect(e.detail.requestParameters).toEqual(
      requestOf("UpdateSecurityGroupRuleDescriptionsIngress/by-rule-ids.json"),
    );
    const parsed = parseCloudTrailEvent(e);
    expect(parsed).toMatchObject({
      ignored: false,
      change: {
        descriptions: [
          {
            direction: "ingress",
            ruleId: "sgr-0a1b2c3d4e5f60718",
            description: "reporting DB replica - OPS-2231",
          },
          { direction: "ingress", ruleId: "sgr-0b2c3d4e5f6071829" },
        ],
      },
    });
  });

  it("egress: the call's direction", () => {
    const e = event(
      EGRESS,
      `Action=${EGRESS}&GroupId=${GROUP}&SecurityGroupRuleDescriptions.1.SecurityGroupRuleId=sgr-0c3d4e5f6a7b8c9d0&SecurityGroupRuleDescriptions.1.Description=out`,
      ANSWER(EGRESS, "<return>false</return>"),
    );
    expect(e.detail.responseElements).toEqual({ requestId: "req-1", _return: false });
    expect(parseCloudTrailEvent(e)).toMatchObject({
      change: {
        descriptions: [
          { direction: "egress", ruleId: "sgr-0c3d4e5f6a7b8c9d0", description: "out" },
        ],
      },
    });
  });
});
