/**
 * The proxy's CloudTrail builders for the two governed calls that widen rules without naming one:
 * what a CreateSecurityGroup or a ModifyManagedPrefixList made in the sandbox becomes, read back
 * by the member's own parsers.
 */
import { describe, expect, it } from "vitest";
import { parseCreateGroupEvent } from "../../src/domain/create-group.js";
import { parsePrefixListEvent } from "../../src/domain/prefix-list.js";
import { apiCallEvent } from "../../src/sandbox/cloudtrail/event.js";
import {
  isEventAction,
  parseQueryParams,
  requestParameters,
} from "../../src/sandbox/cloudtrail/request.js";
import { eventResponseElements } from "../../src/sandbox/cloudtrail/response.js";
import { parseXml } from "../../src/sandbox/cloudtrail/xml.js";
import { loadFixture } from "../support/domain-fixtures.js";

const ACCOUNT = "111122223333";
const who = {
  type: "IAMUser",
  arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
  accountId: ACCOUNT,
  userName: "alice",
};

function event(
  action: "CreateSecurityGroup" | "ModifyManagedPrefixList",
  body: string,
  xml: string,
) {
  const params = parseQueryParams(body);
  const responseElements = eventResponseElements(action, "req-1", parseXml(xml));
  return apiCallEvent({
    account: ACCOUNT,
    region: "us-east-1",
    time: new Date("2026-11-23T10:00:00Z"),
    eventName: action,
    userIdentity: who,
    sourceIPAddress: "127.0.0.1",
    userAgent: "aws-cli/2",
    requestParameters: requestParameters(action, params),
    requestID: "req-1",
    ...(responseElements ? { responseElements } : {}),
  });
}

describe("sandbox CloudTrail: CreateSecurityGroup and ModifyManagedPrefixList", () => {
  it("the proxy emits events for the two calls that widen rules without naming one", () => {
    expect(isEventAction("CreateSecurityGroup")).toBe(true);
    expect(isEventAction("ModifyManagedPrefixList")).toBe(true);
    expect(isEventAction("DescribeSecurityGroups")).toBe(false);
  });

  it("CreateSecurityGroup: the real record's shape, and the member reads the group from it", () => {
    const e = event(
      "CreateSecurityGroup",
      "Action=CreateSecurityGroup&Version=2016-11-15&GroupName=web&GroupDescription=web+servers&VpcId=vpc-0a1b2c3d4e5f60718",
      `<CreateSecurityGroupResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-1</requestId><return>true</return><groupId>sg-0f3a9c2b7d1e4a5b6</groupId></CreateSecurityGroupResponse>`,
    );
    const real = loadFixture("other/CreateSecurityGroup.json") as {
      detail: Record<string, unknown>;
    };
    expect(Object.keys(e.detail.requestParameters)).toEqual(
      Object.keys(real.detail.requestParameters as object),
    );
    expect(e.detail.responseElements).toEqual({
      requestId: "req-1",
      _return: true,
      groupId: "sg-0f3a9c2b7d1e4a5b6",
    });
    const parsed = parseCreateGroupEvent(e);
    expect(parsed).toMatchObject({
      ignored: false,
      created: {
        groupId: "sg-0f3a9c2b7d1e4a5b6",
        groupName: "web",
        vpcId: "vpc-0a1b2c3d4e5f60718",
      },
    });
  });

  it("ModifyManagedPrefixList: the wrapper, one entry an object, several an array; the member reads the entries", () => {
    const one = event(
      "ModifyManagedPrefixList",
      "Action=ModifyManagedPrefixList&PrefixListId=pl-0c3516b0e5630bf3e&CurrentVersion=1&AddEntry.1.Cidr=198.51.100.0%2F24&AddEntry.1.Description=My+IP+Range",
      `<ModifyManagedPrefixListResponse><requestId>req-1</requestId><prefixList><prefixListId>pl-0c3516b0e5630bf3e</prefixListId><addressFamily>IPv4</addressFamily><state>modify-in-progress</state><version>1</version><maxEntries>10</maxEntries><ownerId>111122223333</ownerId></prefixList></ModifyManagedPrefixListResponse>`,
    );
    expect(one.detail.requestParameters).toEqual({
      ModifyManagedPrefixListRequest: {
        CurrentVersion: 1,
        AddEntry: { Description: "My IP Range", cidr: "198.51.100.0/24", tag: "1" },
        PrefixListId: "pl-0c3516b0e5630bf3e",
      },
    });
    expect(one.detail.responseElements).toEqual({
      ModifyManagedPrefixListResponse: {
        xmlns: "http://ec2.amazonaws.com/doc/2016-11-15/",
        requestId: "req-1",
        prefixList: {
          addressFamily: "IPv4",
          maxEntries: 10,
          ownerId: "111122223333",
          prefixListId: "pl-0c3516b0e5630bf3e",
          state: "modify-in-progress",
          version: 1,
        },
      },
    });
    const several = event(
      "ModifyManagedPrefixList",
      "Action=ModifyManagedPrefixList&PrefixListId=pl-0c3516b0e5630bf3e&AddEntry.1.Cidr=0.0.0.0%2F0&AddEntry.2.Cidr=192.0.2.0%2F24&RemoveEntry.1.Cidr=10.0.0.0%2F16",
      `<ModifyManagedPrefixListResponse><requestId>req-1</requestId></ModifyManagedPrefixListResponse>`,
    );
    const parsed = parsePrefixListEvent(several);
    expect(parsed).toMatchObject({
      ignored: false,
      modification: {
        prefixListId: "pl-0c3516b0e5630bf3e",
        added: [{ cidr: "0.0.0.0/0" }, { cidr: "192.0.2.0/24" }],
        removed: [{ cidr: "10.0.0.0/16" }],
      },
    });
  });
});
