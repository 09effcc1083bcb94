/** fast-check arbitraries for the policy properties: rules, changes, facts, policy rules. */
import fc from "fast-check";
import type { Change, Modification } from "../../../src/domain/change.js";
import type { Verification } from "../../../src/domain/identity.js";
import type { Match, PolicyAction, PolicyRule } from "../../../src/domain/policy/types.js";
import { POLICY_ACTIONS } from "../../../src/domain/policy/types.js";
import type { Requester } from "../../../src/domain/requester.js";
import type { Peer, Rule } from "../../../src/domain/rule.js";
import { ACCOUNT, assumedRole, EVENT_TIME, iamUser, UNVERIFIED, VERIFIED } from "./support.js";

/** A small world of nested ranges, so that "within" is often true and often false. */
export const V4_CIDRS = [
  "0.0.0.0/0",
  "10.0.0.0/8",
  "10.1.0.0/16",
  "10.1.2.0/24",
  "172.16.0.0/12",
  "192.168.1.0/24",
  "203.0.113.0/24",
  "203.0.113.10/32",
] as const;
export const V6_CIDRS = ["::/0", "fd00::/8", "fd00:1::/32", "2001:db8::/32"] as const;
export const PORTS = [22, 80, 443, 3389, 5432, 8080] as const;

export const peerArb: fc.Arbitrary<Peer> = fc.oneof(
  fc.constantFrom(...V4_CIDRS).map((cidr): Peer => ({ kind: "cidrIpv4", cidr })),
  fc.constantFrom(...V6_CIDRS).map((cidr): Peer => ({ kind: "cidrIpv6", cidr })),
  fc
    .constantFrom("pl-0abc", "pl-0def")
    .map((prefixListId): Peer => ({ kind: "prefixList", prefixListId })),
  fc.record({ userId: fc.constantFrom(undefined, ACCOUNT, "444455556666") }).map(
    ({ userId }): Peer => ({
      kind: "group",
      groupId: "sg-0aaaaaaaaaaaaaaaa",
      ...(userId ? { userId } : {}),
    }),
  ),
);

const portsArb = fc.oneof(
  fc.constantFrom(...PORTS).map((p) => ({ fromPort: p, toPort: p })),
  fc
    .tuple(fc.constantFrom(0, 22, 80, 443, 1024), fc.constantFrom(22, 443, 8080, 65535))
    .filter(([a, b]) => a <= b)
    .map(([fromPort, toPort]) => ({ fromPort, toPort })),
);

export const ruleArb: fc.Arbitrary<Rule> = fc
  .record({
    direction: fc.constantFrom("ingress" as const, "egress" as const),
    proto: fc.constantFrom("tcp", "tcp", "udp", "all", "icmp"),
    ports: portsArb,
    peer: peerArb,
    description: fc.constantFrom(undefined, "", "ticket OPS-1"),
  })
  .map(({ direction, proto, ports, peer, description }): Rule => {
    const p =
      proto === "all"
        ? { fromPort: null, toPort: null }
        : proto === "icmp"
          ? { fromPort: 8, toPort: -1 }
          : ports;
    return {
      direction,
      protocol: proto,
      ...p,
      peer,
      ...(description !== undefined ? { description } : {}),
    };
  });

export const requesterArb: fc.Arbitrary<Requester> = fc.constantFrom(
  iamUser("alice"),
  assumedRole("terraform-ci", "run-1"),
  assumedRole("BreakGlassAdmin", "bob"),
  assumedRole("secgroup-approval-member", "revert"),
);

const body = ({ direction: _d, ruleId: _r, ...rest }: Rule) => rest;

const modificationArb: fc.Arbitrary<Modification> = fc
  .tuple(ruleArb, fc.option(ruleArb, { nil: undefined }), fc.integer({ min: 1, max: 99 }))
  .map(
    ([after, before, id]): Modification => ({
      ruleId: `sgr-${id}`,
      rule: body(after),
      ...(before ? { before } : {}),
    }),
  );

export const changeArb: fc.Arbitrary<Change> = fc
  .record({
    kind: fc.constantFrom("add", "add", "remove", "modify", "drift"),
    rules: fc.array(ruleArb, { minLength: 1, maxLength: 4 }),
    more: fc.array(ruleArb, { maxLength: 2 }),
    modifications: fc.array(modificationArb, { minLength: 1, maxLength: 2 }),
    requester: requesterArb,
    account: fc.constantFrom(ACCOUNT, "444455556666"),
    region: fc.constantFrom("us-east-1", "eu-west-1"),
    ageSeconds: fc.integer({ min: -10, max: 1000 }),
  })
  .map(({ kind, rules, more, modifications, requester, account, region }): Change => {
    const base = {
      eventId: "e-1",
      eventTime: EVENT_TIME,
      account,
      region,
      groupId: "sg-0123456789abcdef0",
      requester,
    };
    const direction = rules[0]?.direction ?? "ingress";
    switch (kind) {
      case "add":
        return { ...base, eventName: "AuthorizeSecurityGroupIngress", kind, direction, rules };
      case "remove":
        return {
          ...base,
          eventName: "RevokeSecurityGroupIngress",
          kind,
          direction,
          rules,
          ruleIds: [],
        };
      case "modify":
        return { ...base, eventName: "ModifySecurityGroupRules", kind, modifications };
      default:
        return {
          ...base,
          eventName: "DriftDetected",
          kind: "drift",
          added: rules,
          removed: more,
          modifications: modifications.filter((m) => m.before),
        };
    }
  });

export const verificationArb: fc.Arbitrary<Verification> = fc.constantFrom(VERIFIED, UNVERIFIED);

export const receivedAtArb = fc
  .integer({ min: -10, max: 1000 })
  .map((s) => new Date(Date.parse(EVENT_TIME) + s * 1000));

const portSpecArb = fc.oneof(
  fc.constantFrom(...PORTS),
  fc.constantFrom("0-65535", "80-443", "1024-65535", "22-22", "8000-8999"),
);

const MATCHER_ARBS = {
  principal: fc.constantFrom("arn:aws:iam::*:role/terraform-ci", "arn:aws:iam::*:user/*", "*"),
  verified: fc.boolean(),
  account: fc.constantFrom(ACCOUNT, "444455556666"),
  region: fc.constantFrom("us-*", "eu-west-1"),
  kind: fc.constantFrom("add" as const, "remove" as const, ["add" as const, "modify" as const]),
  risk: fc.constantFrom({ atLeast: "high" as const }, { atMost: "medium" as const }),
  eventAgeOverSeconds: fc.constantFrom(0, 300),
  direction: fc.constantFrom("ingress" as const, "egress" as const),
  protocol: fc.constantFrom("tcp", ["tcp", "udp"], "all"),
  ports: fc.oneof(portSpecArb, fc.array(portSpecArb, { minLength: 1, maxLength: 3 })),
  peer: fc.oneof(
    fc.record({
      cidrWithin: fc.array(fc.constantFrom(...V4_CIDRS, ...V6_CIDRS), {
        minLength: 1,
        maxLength: 2,
      }),
    }),
    fc.record({ public: fc.boolean() }),
    fc.record({ prefixList: fc.boolean() }),
    fc.record({
      cidrWithin: fc.constantFrom(...V4_CIDRS),
      public: fc.boolean(),
    }),
  ),
  descriptionMissing: fc.boolean(),
} satisfies { [K in keyof Match]?: fc.Arbitrary<NonNullable<Match[K]>> };

type ArbKey = keyof typeof MATCHER_ARBS;

/** A random `match`: up to three matchers, each with a random config. */
export const matchArb: fc.Arbitrary<Match> = fc
  .uniqueArray(fc.constantFrom(...(Object.keys(MATCHER_ARBS) as ArbKey[])), { maxLength: 3 })
  .chain((keys) =>
    fc.record(
      Object.fromEntries(keys.map((k) => [k, MATCHER_ARBS[k]])) as {
        [K in ArbKey]: (typeof MATCHER_ARBS)[K];
      },
    ),
  ) as fc.Arbitrary<Match>;

export const actionArb: fc.Arbitrary<PolicyAction> = fc.constantFrom(...POLICY_ACTIONS);

export const policyRuleArb = (name: string): fc.Arbitrary<PolicyRule> =>
  fc
    .record({
      match: matchArb,
      action: actionArb,
      approvals: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
      quantifier: fc.constantFrom(undefined, "all" as const, "any" as const),
    })
    .map(
      ({ match, action, approvals, quantifier }): PolicyRule => ({
        name,
        match,
        action,
        reason: `because ${name}`,
        ...(quantifier ? { quantifier } : {}),
        ...(action === "require_approval" && approvals !== undefined ? { approvals } : {}),
      }),
    );

export const policyRulesArb: fc.Arbitrary<PolicyRule[]> = fc
  .integer({ min: 0, max: 6 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => policyRuleArb(`rule-${i}`))));
