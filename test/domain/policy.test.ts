import { describe, expect, it } from "vitest";
import type { AddChange, ModifyChange, RemoveChange } from "../../src/domain/change.js";
import { DEFAULT_POLICY, evaluatePolicy, type PolicyConfig } from "../../src/domain/policy.js";
import {
  arnGlobMatches,
  matchingArnPattern,
  type Requester,
  requesterArns,
} from "../../src/domain/requester.js";
import type { Rule } from "../../src/domain/rule.js";
import { fixtureChange } from "../support/domain-fixtures.js";

const ACCOUNT = "111122223333";
const EVENT_TIME = "2025-02-11T09:00:00Z";
const SOON = new Date("2025-02-11T09:00:05Z");
const SYSTEM_ROLE = `arn:aws:iam::${ACCOUNT}:role/secgroup-approval-revert`;

const assumed = (role: string, session: string, path = ""): Requester => ({
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${session}`,
  type: "AssumedRole",
  name: session,
  roleArn: `arn:aws:iam::${ACCOUNT}:role/${path}${role}`,
  roleName: role,
});
const iamUser = (name: string): Requester => ({
  arn: `arn:aws:iam::${ACCOUNT}:user/${name}`,
  type: "IAMUser",
  name,
});

const rule = (description?: string): Rule => ({
  direction: "ingress",
  protocol: "tcp",
  fromPort: 22,
  toPort: 22,
  peer: { kind: "cidrIpv4", cidr: "10.0.0.0/8" },
  ...(description !== undefined ? { description } : {}),
});

function addBy(requester: Requester, rules: Rule[] = [rule("ticket OPS-1")]): AddChange {
  return {
    eventName: "AuthorizeSecurityGroupIngress",
    eventId: "e-1",
    eventTime: EVENT_TIME,
    account: ACCOUNT,
    region: "us-east-1",
    groupId: "sg-1",
    requester,
    kind: "add",
    direction: "ingress",
    rules,
  };
}

const config = (over: Partial<PolicyConfig> = {}): PolicyConfig => ({ ...DEFAULT_POLICY, ...over });

describe("system roles", () => {
  const revertFn = assumed("secgroup-approval-revert", "secgroup-approval-revertSecurityGroup");

  it("a call by the system's own role (matched on the session's role ARN) is ignored", () => {
    const d = evaluatePolicy(addBy(revertFn), config({ systemRoleArns: [SYSTEM_ROLE] }), SOON);
    expect(d).toStrictEqual({
      action: "ignore",
      reason: `made by this system's own role (${SYSTEM_ROLE})`,
    });
  });

  it("a system role given as a glob matches too", () => {
    const d = evaluatePolicy(
      addBy(revertFn),
      config({ systemRoleArns: ["arn:aws:iam::*:role/secgroup-approval-*"] }),
      SOON,
    );
    expect(d.action).toBe("ignore");
  });

  it("an SSO person is not ignored for being an AssumedRole", () => {
    const sso = fixtureChange("AuthorizeSecurityGroupIngress/assumed-role-sso.json");
    expect(sso.requester.type).toBe("AssumedRole");
    const d = evaluatePolicy(
      sso,
      config({ systemRoleArns: [SYSTEM_ROLE], maxEventAgeSeconds: null }),
      SOON,
    );
    expect(d).toStrictEqual({ action: "require_approval" });
  });

  it("another role whose session is named like the system role is not the system", () => {
    const impostor = assumed("Developer", "secgroup-approval-revert");
    const d = evaluatePolicy(addBy(impostor), config({ systemRoleArns: [SYSTEM_ROLE] }), SOON);
    expect(d).toStrictEqual({ action: "require_approval" });
  });

  it("takes precedence over the age check", () => {
    const d = evaluatePolicy(
      addBy(revertFn),
      config({ systemRoleArns: [SYSTEM_ROLE] }),
      new Date("2025-03-01T00:00:00Z"),
    );
    expect(d).toMatchObject({ action: "ignore", reason: expect.stringMatching(/own role/) });
  });
});

describe("event age", () => {
  const change = addBy(iamUser("alice"));

  it("leaves unreverted, for a person, an event first received after maxEventAgeSeconds (5 minutes by default)", () => {
    expect(DEFAULT_POLICY.maxEventAgeSeconds).toBe(300);
    const d = evaluatePolicy(change, config(), new Date("2025-02-11T09:05:01Z"));
    expect(d).toStrictEqual({
      action: "leave",
      rule: "max-event-age",
      reason:
        "the event arrived 301 s after the change, later than the 300 s limit: it was not reverted",
    });
  });

  it("a late event that also lacks a description is left for a person, not auto-denied", () => {
    const d = evaluatePolicy(
      addBy(iamUser("alice"), [rule()]),
      config({ autoDenyWithoutDescription: true }),
      new Date("2025-02-11T09:10:00Z"),
    );
    expect(d.action).toBe("leave");
  });

  it("keeps an event exactly at the limit, and one from a clock slightly ahead", () => {
    expect(evaluatePolicy(change, config(), new Date("2025-02-11T09:05:00Z")).action).toBe(
      "require_approval",
    );
    expect(evaluatePolicy(change, config(), new Date("2025-02-11T08:59:58Z")).action).toBe(
      "require_approval",
    );
  });

  it("follows a configured limit", () => {
    const d = evaluatePolicy(
      change,
      config({ maxEventAgeSeconds: 10 }),
      new Date("2025-02-11T09:00:11Z"),
    );
    expect(d).toMatchObject({
      action: "leave",
      reason: expect.stringMatching(/arrived 11 s after/),
    });
  });

  it("null turns the check off", () => {
    const d = evaluatePolicy(
      change,
      config({ maxEventAgeSeconds: null }),
      new Date("2030-01-01T00:00:00Z"),
    );
    expect(d).toStrictEqual({ action: "require_approval" });
  });
});

describe("exempt principals", () => {
  const BREAK_GLASS = "arn:aws:iam::*:role/BreakGlass*";

  it("an assumed-role session of an exempt role is exempt, via its role ARN", () => {
    const r = assumed("BreakGlassAdmin", "alice");
    const d = evaluatePolicy(addBy(r), config({ exemptPrincipals: [BREAK_GLASS] }), SOON);
    expect(d).toStrictEqual({ action: "exempt", reason: `${r.arn} is exempt (${BREAK_GLASS})` });
  });

  it("a different role is not exempt, nor a session merely named like the role", () => {
    for (const r of [
      assumed("Admin", "alice"),
      assumed("Admin", "BreakGlassAdmin"),
      assumed("NotBreakGlass", "x"),
    ]) {
      const d = evaluatePolicy(addBy(r), config({ exemptPrincipals: [BREAK_GLASS] }), SOON);
      expect(d).toStrictEqual({ action: "require_approval" });
    }
  });

  it("a role of that name under a path is not matched by a pattern without the path", () => {
    const r = assumed("BreakGlass", "alice", "ops/");
    expect(matchingArnPattern(r, [BREAK_GLASS])).toBeUndefined();
    expect(matchingArnPattern(r, ["arn:aws:iam::*:role/*/BreakGlass"])).toBe(
      "arn:aws:iam::*:role/*/BreakGlass",
    );
  });

  it("exempt wins over auto-deny; the first matching pattern is reported", () => {
    const r = iamUser("pipeline");
    const d = evaluatePolicy(
      addBy(r, [rule()]),
      config({
        exemptPrincipals: ["arn:aws:iam::999999999999:*", "arn:aws:iam::*:user/pipe*", "*"],
        autoDenyWithoutDescription: true,
      }),
      SOON,
    );
    expect(d).toStrictEqual({
      action: "exempt",
      reason: `${r.arn} is exempt (arn:aws:iam::*:user/pipe*)`,
    });
  });

  it("an old event from an exempt principal is exempt, not left for a person", () => {
    const r = assumed("BreakGlassAdmin", "alice");
    const d = evaluatePolicy(
      addBy(r),
      config({ exemptPrincipals: [BREAK_GLASS] }),
      new Date("2025-02-11T10:00:00Z"),
    );
    expect(d.action).toBe("exempt");
  });
});

describe("arnGlobMatches", () => {
  it.each<[string, string, boolean]>([
    ["arn:aws:iam::*:role/BreakGlass*", `arn:aws:iam::${ACCOUNT}:role/BreakGlass`, true],
    ["arn:aws:iam::*:role/BreakGlass*", `arn:aws:iam::${ACCOUNT}:role/BreakGlassAdmin`, true],
    ["arn:aws:iam::*:role/BreakGlass*", `arn:aws:iam::${ACCOUNT}:role/Admin`, false],
    ["arn:aws:iam::*:role/BreakGlass*", `arn:aws:sts::${ACCOUNT}:assumed-role/BreakGlass/x`, false],
    // ? is exactly one character
    ["arn:aws:iam::11112222333?:user/alice", `arn:aws:iam::${ACCOUNT}:user/alice`, true],
    ["arn:aws:iam::11112222333?:user/alice", "arn:aws:iam::11112222333:user/alice", false],
    ["arn:aws:iam::11112222333?:user/alice", "arn:aws:iam::1111222233334:user/alice", false],
    // dots and other regex characters are literal
    [`arn:aws:iam::${ACCOUNT}:user/a.b`, `arn:aws:iam::${ACCOUNT}:user/a.b`, true],
    [`arn:aws:iam::${ACCOUNT}:user/a.b`, `arn:aws:iam::${ACCOUNT}:user/axb`, false],
    [`arn:aws:iam::${ACCOUNT}:user/a+b`, `arn:aws:iam::${ACCOUNT}:user/a+b`, true],
    [`arn:aws:iam::${ACCOUNT}:user/a+b`, `arn:aws:iam::${ACCOUNT}:user/aab`, false],
    [`arn:aws:iam::${ACCOUNT}:user/(x)`, `arn:aws:iam::${ACCOUNT}:user/(x)`, true],
    [`arn:aws:iam::${ACCOUNT}:user/[ab]`, `arn:aws:iam::${ACCOUNT}:user/a`, false],
    // the whole ARN must match
    [`arn:aws:iam::${ACCOUNT}:user/alice`, `arn:aws:iam::${ACCOUNT}:user/alice2`, false],
    [`iam::${ACCOUNT}:user/alice`, `arn:aws:iam::${ACCOUNT}:user/alice`, false],
    ["*", "anything at all", true],
  ])("%s vs %s -> %s", (pattern, arn, expected) => {
    expect(arnGlobMatches(pattern, arn)).toBe(expected);
  });

  it("requesterArns gives the session and its role", () => {
    const r = assumed("Admin", "alice");
    expect(requesterArns(r)).toEqual([r.arn, r.roleArn]);
    expect(requesterArns(iamUser("alice"))).toEqual([`arn:aws:iam::${ACCOUNT}:user/alice`]);
  });
});

describe("auto-deny a rule without a description", () => {
  const on = config({ autoDenyWithoutDescription: true });
  const alice = iamUser("alice");

  it("denies an add with a rule without description, counting them", () => {
    expect(evaluatePolicy(addBy(alice, [rule(), rule("ok")]), on, SOON)).toStrictEqual({
      action: "auto_deny",
      rule: "require-description",
      reason: "1 rule has no description",
    });
    expect(evaluatePolicy(addBy(alice, [rule(), rule("")]), on, SOON)).toMatchObject({
      reason: "2 rules have no description",
    });
  });

  it("counts a whitespace-only description as none", () => {
    expect(evaluatePolicy(addBy(alice, [rule("  \t ")]), on, SOON).action).toBe("auto_deny");
  });

  it("lets described rules through, and does nothing when switched off", () => {
    expect(evaluatePolicy(addBy(alice, [rule("OPS-1")]), on, SOON)).toStrictEqual({
      action: "require_approval",
    });
    expect(evaluatePolicy(addBy(alice, [rule()]), config(), SOON)).toStrictEqual({
      action: "require_approval",
    });
  });

  it("never auto-denies a remove", () => {
    const remove: RemoveChange = {
      ...addBy(alice),
      eventName: "RevokeSecurityGroupIngress",
      kind: "remove",
      rules: [rule()],
      ruleIds: [],
    };
    expect(evaluatePolicy(remove, on, SOON)).toStrictEqual({ action: "require_approval" });
  });

  it("judges a modify by the rules' new contents", () => {
    const { direction: _d, rules: _r, ...rest } = addBy(alice);
    const modify = (description?: string): ModifyChange => {
      const { direction: _dir, ...body } = rule(description);
      return {
        ...rest,
        eventName: "ModifySecurityGroupRules",
        kind: "modify",
        modifications: [{ ruleId: "sgr-1", rule: body, before: rule("was described") }],
      };
    };
    expect(evaluatePolicy(modify(), on, SOON).action).toBe("auto_deny");
    expect(evaluatePolicy(modify("now described"), on, SOON).action).toBe("require_approval");
  });
});
