import { describe, expect, it } from "vitest";
import {
  minimumApprovals,
  needsEmail,
  type PeopleConfig,
  selfCheck,
  verifyRequester,
} from "../../src/domain/identity.js";
import { requesterFromCloudTrail } from "../../src/domain/requester.js";
import { fixture } from "../support/hub-harness.js";

const detailOf = (path: string) =>
  (fixture(`cloudtrail/${path}`) as { detail: Record<string, unknown> }).detail;
const who = (path: string) => requesterFromCloudTrail(detailOf(path));

const PEOPLE: PeopleConfig = {
  people: [
    { slackUserId: "U0ALICE", principals: ["arn:aws:iam::111122223333:user/alice"] },
    { slackUserId: "U0OPS", principals: ["arn:aws:iam::*:role/ops-carol"] },
    { slackUserId: "U0DAVE", identityCenterUsers: ["dave"] },
  ],
  sourceIdentityRoles: ["arn:aws:iam::111122223333:role/ci-*"],
};

const assumed = (roleArn: string, session: string, extra: Record<string, unknown> = {}) =>
  requesterFromCloudTrail({
    userIdentity: {
      type: "AssumedRole",
      arn: `arn:aws:sts::111122223333:assumed-role/${roleArn.split("/").at(-1)}/${session}`,
      sessionContext: {
        sessionIssuer: { type: "Role", arn: roleArn, userName: roleArn.split("/").at(-1) },
        ...extra,
      },
    },
  });

describe("verifyRequester", () => {
  it("an IAM Identity Center session is verified by its session name (an email)", () => {
    const r = who("AuthorizeSecurityGroupIngress/assumed-role-sso.json");
    const v = verifyRequester(r, PEOPLE);
    expect(v).toMatchObject({ verified: true, via: "identity-center" });
    expect(v.verified && v.email).toBe(r.name.toLowerCase());
  });

  it("a role named like Identity Center's but outside its reserved path is not", () => {
    const fake = assumed(
      "arn:aws:iam::111122223333:role/AWSReservedSSO_AdministratorAccess_0123456789abcdef",
      "bob@example.com",
    );
    expect(verifyRequester(fake, PEOPLE)).toMatchObject({ verified: false });
  });

  it("an Identity Center user whose name is not an email maps through identityCenterUsers", () => {
    const dave = assumed(
      "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Dev_0123456789abcdef",
      "dave",
    );
    expect(verifyRequester(dave, PEOPLE)).toStrictEqual({
      verified: true,
      via: "identity-center",
      identity: "dave",
      slackUserId: "U0DAVE",
    });
  });

  it("a mapped IAM user is verified, an unmapped one is not (its name proves nothing)", () => {
    const alice = requesterFromCloudTrail({
      userIdentity: {
        type: "IAMUser",
        arn: "arn:aws:iam::111122223333:user/alice",
        userName: "alice",
      },
    });
    expect(verifyRequester(alice, PEOPLE)).toMatchObject({
      verified: true,
      via: "people",
      slackUserId: "U0ALICE",
    });
    const bsmith = requesterFromCloudTrail({
      userIdentity: {
        type: "IAMUser",
        arn: "arn:aws:iam::111122223333:user/bsmith",
        userName: "bsmith",
      },
    });
    expect(verifyRequester(bsmith, PEOPLE)).toMatchObject({ verified: false });
  });

  it("an assumed role with a caller-chosen session name is unverified, however it is named", () => {
    const ci = assumed("arn:aws:iam::111122223333:role/deploy", "bob");
    const v = verifyRequester(ci, PEOPLE);
    expect(v).toMatchObject({ verified: false });
    expect(!v.verified && v.reason).toContain('session name "bob" the caller chose');
  });

  it("a personal role in the people mapping is verified by the role, not the session", () => {
    const carol = assumed("arn:aws:iam::444455556666:role/ops-carol", "anything");
    expect(verifyRequester(carol, PEOPLE)).toMatchObject({ verified: true, slackUserId: "U0OPS" });
  });

  it("a source identity counts only on a role whose trust policy requires it", () => {
    const chained = assumed("arn:aws:iam::111122223333:role/ci-deployer", "job-42", {
      sourceIdentity: "erin@example.com",
    });
    expect(verifyRequester(chained, PEOPLE)).toMatchObject({
      verified: true,
      via: "source-identity",
      email: "erin@example.com",
    });
    const elsewhere = assumed("arn:aws:iam::111122223333:role/other", "job-42", {
      sourceIdentity: "erin@example.com",
    });
    expect(verifyRequester(elsewhere, PEOPLE)).toMatchObject({ verified: false });
  });

  it("root and AWS services are unverified", () => {
    const root = requesterFromCloudTrail({
      userIdentity: { type: "Root", arn: "arn:aws:iam::111122223333:root" },
    });
    expect(verifyRequester(root, PEOPLE)).toStrictEqual({
      verified: false,
      reason: "the account's root user",
    });
    expect(minimumApprovals(verifyRequester(root, PEOPLE))).toBe(2);
  });
});

describe("selfCheck", () => {
  const byEmail = {
    verified: true as const,
    via: "identity-center" as const,
    identity: "bob@example.com",
    email: "bob@example.com",
  };
  const byId = {
    verified: true as const,
    via: "people" as const,
    identity: "arn",
    slackUserId: "U0ALICE",
  };

  it("a mapped Slack user is the requester by id, with no Slack lookup", () => {
    expect(selfCheck(byId, { id: "U0ALICE" })).toBe("self");
    expect(selfCheck(byId, { id: "U0BOB" })).toBe("other");
    expect(needsEmail(byId, "U0BOB")).toBe(false);
  });

  it("an email identity needs Slack's email for the clicker, compared exactly", () => {
    expect(needsEmail(byEmail, "U0BOB")).toBe(true);
    expect(selfCheck(byEmail, { id: "U0BOB" })).toBe("unknown");
    expect(selfCheck(byEmail, { id: "U0BOB", email: "Bob@Example.com" })).toBe("self");
    expect(selfCheck(byEmail, { id: "U0BOB", email: "bob@example.org" })).toBe("other");
    // The local part alone is not the person: bob@other.com is someone else.
    expect(selfCheck(byEmail, { id: "U0X", email: "bob@other.com" })).toBe("other");
  });

  it("an unverified requester is never matched: it needs two approvers instead", () => {
    expect(
      selfCheck({ verified: false, reason: "x" }, { id: "U0BOB", email: "bob@example.com" }),
    ).toBe("other");
  });
});
