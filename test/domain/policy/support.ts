/** Builders for the policy tests: rules, changes, facts, and running one matcher. */
import { expect } from "vitest";
import type {
  AddChange,
  Change,
  DriftChange,
  ModifyChange,
  RemoveChange,
} from "../../../src/domain/change.js";
import type { Verification } from "../../../src/domain/identity.js";
import { matchContext } from "../../../src/domain/policy/engine.js";
import type { AnyMatcher } from "../../../src/domain/policy/matchers/matcher.js";
import type { PolicyFacts, RuleView } from "../../../src/domain/policy/types.js";
import type { Requester } from "../../../src/domain/requester.js";
import type { Peer, Rule } from "../../../src/domain/rule.js";

export const ACCOUNT = "111122223333";
export const EVENT_TIME = "2025-02-11T09:00:00Z";

export const VERIFIED: Verification = {
  verified: true,
  via: "identity-center",
  identity: "alice@example.com",
  email: "alice@example.com",
};
export const UNVERIFIED: Verification = { verified: false, reason: "IAM user bob is not mapped" };

export const facts = (over: Partial<PolicyFacts> = {}): PolicyFacts => ({
  verification: VERIFIED,
  ...over,
});

export const v4 = (cidr: string): Peer => ({ kind: "cidrIpv4", cidr });
export const v6 = (cidr: string): Peer => ({ kind: "cidrIpv6", cidr });

/** A rule: "tcp 22 0.0.0.0/0" style shorthand via fields. */
export function rule(over: Partial<Rule> = {}): Rule {
  return {
    direction: "ingress",
    protocol: "tcp",
    fromPort: 443,
    toPort: 443,
    peer: v4("10.0.0.0/8"),
    description: "ticket OPS-1",
    ...over,
  };
}

export const tcp = (from: number, to: number, peer: Peer, over: Partial<Rule> = {}): Rule =>
  rule({ fromPort: from, toPort: to, peer, ...over });

export const assumedRole = (role: string, session: string, account = ACCOUNT): Requester => ({
  arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
  type: "AssumedRole",
  name: session,
  roleArn: `arn:aws:iam::${account}:role/${role}`,
  roleName: role,
});

export const iamUser = (name: string): Requester => ({
  arn: `arn:aws:iam::${ACCOUNT}:user/${name}`,
  type: "IAMUser",
  name,
});

const base = {
  eventId: "e-1",
  eventTime: EVENT_TIME,
  account: ACCOUNT,
  region: "us-east-1",
  groupId: "sg-0123456789abcdef0",
  requester: iamUser("alice"),
};

export function add(rules: Rule[] = [rule()], over: Partial<AddChange> = {}): AddChange {
  return {
    ...base,
    eventName: "AuthorizeSecurityGroupIngress",
    kind: "add",
    direction: rules[0]?.direction ?? "ingress",
    rules,
    ...over,
  };
}

export function remove(rules: Rule[] = [rule()], over: Partial<RemoveChange> = {}): RemoveChange {
  return {
    ...base,
    eventName: "RevokeSecurityGroupIngress",
    kind: "remove",
    direction: rules[0]?.direction ?? "ingress",
    rules,
    ruleIds: [],
    ...over,
  };
}

export function modify(after: Rule, before?: Rule, over: Partial<ModifyChange> = {}): ModifyChange {
  const { direction: _d, ruleId: _r, ...body } = after;
  return {
    ...base,
    eventName: "ModifySecurityGroupRules",
    kind: "modify",
    modifications: [{ ruleId: "sgr-1", rule: body, ...(before ? { before } : {}) }],
    ...over,
  };
}

export function drift(over: Partial<DriftChange> = {}): DriftChange {
  return {
    ...base,
    eventName: "DriftDetected",
    kind: "drift",
    added: [],
    removed: [],
    modifications: [],
    ...over,
  };
}

/** A rule as a rule-level matcher sees it. */
export const view = (r: Rule, over: Partial<RuleView> = {}): RuleView => ({
  rule: r,
  direction: r.direction,
  removed: false,
  ...over,
});

/**
 * Runs one matcher: a change-level one on `subject` (a change), a rule-level one on `subject` (a
 * rule view, in `change`). The config must pass the matcher's own schema.
 */
export function run(
  matcher: AnyMatcher,
  config: unknown,
  subject: Change | RuleView,
  f: PolicyFacts = facts(),
  change: Change = add(),
): boolean {
  const parsed = matcher.schema.safeParse(config);
  expect(parsed.success, `config ${JSON.stringify(config)} should be valid`).toBe(true);
  if (matcher.level === "change") return matcher.test(config, matchContext(subject as Change, f));
  return matcher.test(config, subject as RuleView, matchContext(change, f));
}

/** The configs a matcher's schema refuses. */
export function refused(matcher: AnyMatcher, config: unknown): boolean {
  return !matcher.schema.safeParse(config).success;
}
