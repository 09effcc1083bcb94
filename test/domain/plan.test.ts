import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AddChange,
  applyChangeToRules,
  BaselineGapError,
  type Change,
  type ModifyChange,
  type RemoveChange,
  resolveChange,
} from "../../src/domain/change.js";
import {
  applyOperationToRules,
  applyPlan,
  applyPlanAgainst,
  describeOperation,
  type Ec2Operation,
  revertPlan,
} from "../../src/domain/plan.js";
import {
  type Direction,
  type Ec2IpPermission,
  normalisePorts,
  normaliseProtocol,
  type Peer,
  type Rule,
  type RuleBody,
  ruleKey,
  rulesFromIpPermission,
  toIpPermissions,
} from "../../src/domain/rule.js";
import {
  asMultiset,
  descriptionArb,
  directionArb,
  peerArb,
  ruleArb,
  ruleBodyArb,
} from "../support/domain-arbitraries.js";
import { CHANGE_BASE, GROUP, v4 } from "../support/domain-builders.js";

// ---- helpers ----

const rule = (
  direction: Direction,
  fromPort: number,
  peer: Peer,
  extra: Partial<Rule> = {},
): Rule => ({ direction, protocol: "tcp", fromPort, toPort: fromPort, peer, ...extra });

const add = (direction: Direction, rules: Rule[]): AddChange => ({
  ...CHANGE_BASE,
  eventName:
    direction === "ingress" ? "AuthorizeSecurityGroupIngress" : "AuthorizeSecurityGroupEgress",
  kind: "add",
  direction,
  rules,
});
const remove = (direction: Direction, rules: Rule[], ruleIds: string[] = []): RemoveChange => ({
  ...CHANGE_BASE,
  eventName: direction === "ingress" ? "RevokeSecurityGroupIngress" : "RevokeSecurityGroupEgress",
  kind: "remove",
  direction,
  rules,
  ruleIds,
});
const modify = (modifications: ModifyChange["modifications"]): ModifyChange => ({
  ...CHANGE_BASE,
  eventName: "ModifySecurityGroupRules",
  kind: "modify",
  modifications,
});

/** Rule keys with descriptions, as a multiset: what a group "is" to EC2 and to a person. */
const contents = (rules: readonly Rule[]): string[] =>
  asMultiset(rules, (r) => [ruleKey(r), r.description ?? null]);

function freshIds(prefix: string): () => string {
  let n = 0;
  return () => `sgr-${prefix}${String(n++).padStart(12, "0")}`;
}

/** Runs operations on a rule set; an authorize creates its rules with fresh ids, as EC2 does. */
function run(state: readonly Rule[], ops: readonly Ec2Operation[], nextId: () => string): Rule[] {
  let s = [...state];
  for (const op of ops) {
    const created =
      op.action === "authorize" ? op.rules.map((r) => ({ ...r, ruleId: nextId() })) : undefined;
    s = applyOperationToRules(s, op, created);
  }
  return s;
}

function expectGap(fn: () => unknown, ids: string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(BaselineGapError);
  const gap = caught as BaselineGapError;
  expect(gap.missingRuleIds).toEqual(ids);
  expect(gap.groupId).toBe(GROUP);
  for (const id of ids) expect(gap.message).toContain(id);
  expect(gap.message).toContain(GROUP);
}

const withoutId = ({ ruleId: _id, ...r }: Rule): Rule => r;

// ---- examples ----

const A = rule("ingress", 22, v4("10.0.0.0/8"), { ruleId: "sgr-a", description: "ssh" });
const B = rule("ingress", 443, v4("0.0.0.0/0"), { ruleId: "sgr-b" });
const C = rule("egress", 443, v4("0.0.0.0/0"), { ruleId: "sgr-c", description: "https out" });
const D = rule("ingress", 443, { kind: "cidrIpv6", cidr: "::/0" }, { ruleId: "sgr-d" });

describe("revertPlan", () => {
  it("add with every rule id known: one revoke by rule ids", () => {
    const ops = revertPlan(add("ingress", [A, B]));
    expect(ops.map(describeOperation)).toStrictEqual([
      {
        action: "revoke",
        groupId: GROUP,
        direction: "ingress",
        securityGroupRuleIds: ["sgr-a", "sgr-b"],
      },
    ]);
    expect(ops[0]?.rules).toEqual([A, B]);
  });

  it("add with one id unknown: one revoke by permissions, packed", () => {
    const ops = revertPlan(add("ingress", [B, withoutId(D)]));
    expect(ops.map(describeOperation)).toStrictEqual([
      {
        action: "revoke",
        groupId: GROUP,
        direction: "ingress",
        ipPermissions: [
          {
            IpProtocol: "tcp",
            FromPort: 443,
            ToPort: 443,
            IpRanges: [{ CidrIp: "0.0.0.0/0" }],
            Ipv6Ranges: [{ CidrIpv6: "::/0" }],
          },
        ],
      },
    ]);
  });

  it("one operation per direction, ingress first", () => {
    const ops = revertPlan(add("ingress", [C, A, B]));
    expect(ops.map((o) => [o.action, "direction" in o ? o.direction : undefined])).toEqual([
      ["revoke", "ingress"],
      ["revoke", "egress"],
    ]);
    expect(ops[0]?.rules).toEqual([A, B]);
    expect(ops[1]?.rules).toEqual([C]);
  });

  it("remove: authorize the removed rules with their descriptions and without their old ids", () => {
    const ops = revertPlan(remove("ingress", [A, B]));
    expect(ops.map(describeOperation)).toStrictEqual([
      {
        action: "authorize",
        groupId: GROUP,
        direction: "ingress",
        ipPermissions: [
          {
            IpProtocol: "tcp",
            FromPort: 22,
            ToPort: 22,
            IpRanges: [{ CidrIp: "10.0.0.0/8", Description: "ssh" }],
          },
          { IpProtocol: "tcp", FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
        ],
      },
    ]);
    for (const r of ops[0]?.rules ?? []) expect(r.ruleId).toBeUndefined();
    expect(ops[0]?.rules[0]?.description).toBe("ssh");
  });

  it("modify: one ModifySecurityGroupRules putting back the before contents", () => {
    const change = modify([
      {
        ruleId: "sgr-a",
        rule: { protocol: "tcp", fromPort: 2222, toPort: 2222, peer: v4("0.0.0.0/0") },
        before: A,
      },
      {
        ruleId: "sgr-c",
        rule: {
          protocol: "all",
          fromPort: null,
          toPort: null,
          peer: v4("0.0.0.0/0"),
          description: "x",
        },
        before: C,
      },
    ]);
    const ops = revertPlan(change);
    expect(ops.map(describeOperation)).toStrictEqual([
      {
        action: "modify",
        groupId: GROUP,
        securityGroupRules: [
          {
            SecurityGroupRuleId: "sgr-a",
            SecurityGroupRule: {
              IpProtocol: "tcp",
              FromPort: 22,
              ToPort: 22,
              CidrIpv4: "10.0.0.0/8",
              Description: "ssh",
            },
          },
          {
            SecurityGroupRuleId: "sgr-c",
            SecurityGroupRule: {
              IpProtocol: "tcp",
              FromPort: 443,
              ToPort: 443,
              CidrIpv4: "0.0.0.0/0",
              Description: "https out",
            },
          },
        ],
      },
    ]);
    expect(ops[0]?.rules).toEqual([A, C]);
  });

  it("an unresolved remove by rule id is a BaselineGapError naming the ids", () => {
    expectGap(() => revertPlan(remove("ingress", [], ["sgr-x", "sgr-y"])), ["sgr-x", "sgr-y"]);
  });

  it("an unresolved modify is a BaselineGapError naming only the rules without a before", () => {
    const change = modify([
      { ruleId: "sgr-a", rule: A, before: A },
      {
        ruleId: "sgr-z",
        rule: { protocol: "tcp", fromPort: 1, toPort: 1, peer: v4("1.1.1.1/32") },
      },
    ]);
    expectGap(() => revertPlan(change), ["sgr-z"]);
    expectGap(() => applyPlan(change), ["sgr-z"]);
  });
});

describe("applyPlan (the inverse)", () => {
  it("add: authorize the rules again, without the ids the revert removed", () => {
    const ops = applyPlan(add("ingress", [A, B]));
    expect(ops).toHaveLength(1);
    expect(ops[0]).toMatchObject({ action: "authorize", direction: "ingress" });
    expect(ops[0]?.rules).toStrictEqual([
      rule("ingress", 22, v4("10.0.0.0/8"), { description: "ssh" }),
      rule("ingress", 443, v4("0.0.0.0/0")),
    ]);
  });

  it("remove: revoke by permissions (the revert gave the rules new ids)", () => {
    const ops = applyPlan(remove("ingress", [A, B], ["sgr-a", "sgr-b"]));
    expect(ops.map(describeOperation)).toStrictEqual([
      {
        action: "revoke",
        groupId: GROUP,
        direction: "ingress",
        ipPermissions: [
          {
            IpProtocol: "tcp",
            FromPort: 22,
            ToPort: 22,
            IpRanges: [{ CidrIp: "10.0.0.0/8", Description: "ssh" }],
          },
          { IpProtocol: "tcp", FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
        ],
      },
    ]);
  });

  it("modify: the new contents on the same ids, keeping each rule's direction", () => {
    const after: RuleBody = { protocol: "udp", fromPort: 53, toPort: 53, peer: v4("10.0.0.0/8") };
    const ops = applyPlan(modify([{ ruleId: "sgr-c", rule: after, before: C }]));
    expect(ops).toHaveLength(1);
    expect(ops[0]?.rules).toStrictEqual([{ ...after, direction: "egress", ruleId: "sgr-c" }]);
    expect(describeOperation(ops[0] as Ec2Operation)).toStrictEqual({
      action: "modify",
      groupId: GROUP,
      securityGroupRules: [
        {
          SecurityGroupRuleId: "sgr-c",
          SecurityGroupRule: {
            IpProtocol: "udp",
            FromPort: 53,
            ToPort: 53,
            CidrIpv4: "10.0.0.0/8",
          },
        },
      ],
    });
  });
});

describe("resolveChange", () => {
  const baseline = [A, B, C, D];

  it("fills a remove by rule id from the baseline, in the order of the ids", () => {
    const resolved = resolveChange(remove("ingress", [], ["sgr-d", "sgr-a"]), baseline);
    expect(resolved).toMatchObject({ rules: [D, A], ruleIds: ["sgr-d", "sgr-a"] });
  });

  it("fills each modification's before", () => {
    const after: RuleBody = { protocol: "tcp", fromPort: 1, toPort: 1, peer: v4("1.1.1.1/32") };
    const resolved = resolveChange(modify([{ ruleId: "sgr-b", rule: after }]), baseline);
    expect(resolved).toMatchObject({
      modifications: [{ ruleId: "sgr-b", rule: after, before: B }],
    });
  });

  it("names exactly the ids the baseline lacks", () => {
    expectGap(
      () => resolveChange(remove("ingress", [], ["sgr-a", "sgr-nope", "sgr-gone"]), baseline),
      ["sgr-nope", "sgr-gone"],
    );
    expectGap(
      () =>
        resolveChange(
          modify([
            { ruleId: "sgr-nope", rule: A },
            { ruleId: "sgr-a", rule: A },
          ]),
          baseline,
        ),
      ["sgr-nope"],
    );
  });

  it("refuses a rule id of the other direction", () => {
    let caught: unknown;
    try {
      resolveChange(remove("ingress", [], ["sgr-c"]), baseline);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BaselineGapError);
    expect((caught as Error).message).toMatch(/sgr-c \(an egress rule, revoked as ingress\)/);
  });

  it("returns a change that needs nothing unchanged, even with an empty baseline", () => {
    const change = add("ingress", [A]);
    expect(resolveChange(change, [])).toBe(change);
  });
});

// ---- property 1: revert restores; apply(revert(change)) leaves the group as the change made it ----

interface Scenario {
  before: Rule[];
  change: Change;
}

/** A group's rules: unique ids, unique rule keys, both directions. */
const groupRulesArb = fc
  .uniqueArray(ruleArb(), { maxLength: 10, selector: ruleKey })
  .map((rules) => rules.map((r, i) => ({ ...r, ruleId: `sgr-base${String(i).padStart(9, "0")}` })));

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .tuple(
    groupRulesArb,
    directionArb,
    fc.constantFrom("add", "removeById", "removeByPermissions", "modify"),
    fc.uniqueArray(ruleBodyArb, { minLength: 1, maxLength: 5 }),
    fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
    fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
  )
  .map(([before, direction, kind, bodies, pick, flags]): Scenario | undefined => {
    const chosen = before.filter((_, i) => pick[i]);
    const ofDirection = chosen.filter((r) => r.direction === direction);
    switch (kind) {
      case "add": {
        const taken = new Set(before.map(ruleKey));
        const fresh: Rule[] = [];
        for (const b of bodies) {
          const r: Rule = { direction, ...b };
          if (taken.has(ruleKey(r))) continue;
          taken.add(ruleKey(r));
          fresh.push(r);
        }
        if (fresh.length === 0) return undefined;
        // Rule ids known for every rule (eventVersion >= 1.08), or only for some, or none.
        const allKnown = flags[0] === true;
        const rules = fresh.map((r, i) =>
          allKnown || flags[(i + 1) % flags.length]
            ? { ...r, ruleId: `sgr-added${String(i).padStart(8, "0")}` }
            : r,
        );
        return { before, change: add(direction, rules) };
      }
      case "removeById": {
        if (ofDirection.length === 0) return undefined;
        const unresolved = remove(
          direction,
          [],
          ofDirection.map((r) => r.ruleId as string),
        );
        return { before, change: resolveChange(unresolved, before) };
      }
      case "removeByPermissions": {
        if (ofDirection.length === 0) return undefined;
        // With the ids from the response, or without them (older records).
        const rules = flags[0] ? ofDirection : ofDirection.map(withoutId);
        return { before, change: remove(direction, rules) };
      }
      case "modify": {
        if (chosen.length === 0) return undefined;
        const modifications = chosen.map((r, i) => ({
          ruleId: r.ruleId as string,
          rule: bodies[i % bodies.length] as RuleBody,
        }));
        const change = resolveChange(modify(modifications), before);
        // EC2 refuses a modify that would duplicate another rule of the group.
        const after = applyChangeToRules(before, change);
        if (new Set(after.map(ruleKey)).size !== after.length) return undefined;
        return { before, change };
      }
    }
    return undefined;
  })
  .filter((s): s is Scenario => s !== undefined);

describe("property: revert and apply plans", () => {
  it("revert(change) restores the group; apply(revert(change)) leaves it as the change made it", () => {
    fc.assert(
      fc.property(scenarioArb, ({ before, change }) => {
        const nextId = freshIds("new");
        const s1 = applyChangeToRules(before, change);
        const s2 = run(s1, revertPlan(change), nextId);
        const s3 = run(s2, applyPlan(change), nextId);
        expect(contents(s2)).toEqual(contents(before));
        expect(contents(s3)).toEqual(contents(s1));
        // Every rule a real group holds has an id.
        for (const r of [...s2, ...s3]) expect(r.ruleId).toMatch(/^sgr-/);
      }),
      { numRuns: 500 },
    );
  });

  it("the revert never touches the rules outside the change: they keep their ids", () => {
    fc.assert(
      fc.property(scenarioArb, ({ before, change }) => {
        const s1 = applyChangeToRules(before, change);
        const s2 = run(s1, revertPlan(change), freshIds("new"));
        const untouched = (rules: readonly Rule[]) => {
          const changed = new Set(
            change.kind === "modify" || change.kind === "drift"
              ? change.modifications.map((m) => m.ruleId)
              : change.kind === "prefixList"
                ? []
                : change.rules.map(ruleKey),
          );
          return rules.filter((r) =>
            change.kind === "modify" ? !changed.has(r.ruleId as string) : !changed.has(ruleKey(r)),
          );
        };
        // The rules the change did not concern keep their ids too.
        expect(asMultiset(untouched(s2))).toEqual(asMultiset(untouched(before)));
      }),
      { numRuns: 300 },
    );
  });
});

// ---- property 2: normalise -> toIpPermissions -> rulesFromIpPermission is the identity ----

const rawProtocolArb = fc.constantFrom<string | number>(
  6,
  "6",
  "tcp",
  "TCP",
  17,
  "udp",
  1,
  "icmp",
  "58",
  "icmpv6",
  -1,
  "-1",
  "all",
  "50",
  132,
);
const rawPortArb = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: -1, max: 65535 }),
  fc.integer({ min: 0, max: 255 }).map(String),
);

/** A rule from raw (EC2/CloudTrail-like) values, normalised; undefined when EC2 would refuse it. */
const normalisedRuleArb = (direction: Direction): fc.Arbitrary<Rule | undefined> =>
  fc
    .tuple(rawProtocolArb, rawPortArb, rawPortArb, peerArb, descriptionArb)
    .map(([rawProtocol, rawFrom, rawTo, peer, description]) => {
      const protocol = normaliseProtocol(rawProtocol);
      let ports: { fromPort: number | null; toPort: number | null };
      try {
        ports = normalisePorts(protocol, rawFrom, rawTo);
      } catch {
        return undefined;
      }
      const r: Rule = { direction, protocol, ...ports, peer };
      if (description !== undefined) r.description = description;
      return r;
    });

describe("property: rules -> IpPermissions -> rules", () => {
  it("gives back the same rules (as a multiset, descriptions and group details kept)", () => {
    fc.assert(
      fc.property(
        directionArb.chain((d) =>
          fc.tuple(fc.constant(d), fc.array(normalisedRuleArb(d), { maxLength: 12 })),
        ),
        ([direction, maybe]) => {
          const rules = maybe.filter((r): r is Rule => r !== undefined);
          const perms: Ec2IpPermission[] = toIpPermissions(rules);
          const back = perms.flatMap((p) => rulesFromIpPermission(direction, p));
          expect(asMultiset(back)).toEqual(asMultiset(rules));
          // The fewest permissions: one per distinct (protocol, ports).
          const ranges = new Set(rules.map((r) => `${r.protocol}|${r.fromPort}|${r.toPort}`));
          expect(perms).toHaveLength(ranges.size);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("packing is stable: packing the unpacked permissions gives the same permissions", () => {
    fc.assert(
      fc.property(fc.array(ruleArb("egress"), { maxLength: 12 }), (rules) => {
        const perms = toIpPermissions(rules);
        const again = toIpPermissions(perms.flatMap((p) => rulesFromIpPermission("egress", p)));
        expect(again).toStrictEqual(perms);
      }),
      { numRuns: 200 },
    );
  });
});

describe("applyPlanAgainst: an approved edit is made on the rule as it is now", () => {
  const before = rule("ingress", 22, v4("10.0.0.0/8"), {
    ruleId: "sgr-00000000000000001",
    description: "ssh",
  });
  const after: RuleBody = {
    protocol: "tcp",
    fromPort: 22,
    toPort: 22,
    peer: v4("0.0.0.0/0"),
    description: "ssh",
  };
  const edit = modify([{ ruleId: "sgr-00000000000000001", rule: after, before }]);

  it("the rule still has its id: one ModifySecurityGroupRules on that id", () => {
    const [op, ...rest] = applyPlanAgainst(edit, [before]);
    expect(rest).toEqual([]);
    expect(op).toMatchObject({
      action: "modify",
      securityGroupRules: [{ SecurityGroupRuleId: "sgr-00000000000000001" }],
    });
  });

  it("a later revert re-created the rule under a new id: the edit goes to the new id", () => {
    const recreated = { ...before, ruleId: "sgr-00000000000000002" };
    const ops = applyPlanAgainst(edit, [recreated]);
    expect(ops).toHaveLength(1);
    expect(ops[0]).toMatchObject({
      action: "modify",
      securityGroupRules: [{ SecurityGroupRuleId: "sgr-00000000000000002" }],
    });
  });

  it("the old rule is nowhere: revoke of the old content, authorize of the new", () => {
    const ops = applyPlanAgainst(edit, []);
    expect(ops.map((o) => o.action)).toEqual(["revoke", "authorize"]);
    expect(ops[0]?.rules.map(ruleKey)).toEqual([ruleKey(before)]);
    expect(ops[1]?.rules.map(ruleKey)).toEqual([ruleKey({ ...after, direction: "ingress" })]);
  });

  it("a change that is not an edit is planned as applyPlan does", () => {
    const a = add("ingress", [rule("ingress", 443, v4("0.0.0.0/0"))]);
    expect(applyPlanAgainst(a, [])).toStrictEqual(applyPlan(a));
  });
});

describe("drift plans", () => {
  const approvedRule = rule("ingress", 5432, v4("10.0.0.0/16"), {
    ruleId: "sgr-0000000000000000a",
  });
  const driftedIn = rule("ingress", 22, v4("0.0.0.0/0"), { ruleId: "sgr-0000000000000000b" });
  const change: Change = {
    ...CHANGE_BASE,
    eventName: "DriftDetected",
    kind: "drift",
    added: [driftedIn],
    removed: [approvedRule],
    modifications: [],
  };

  it("revert: revoke what drifted in (by id), then authorize what went", () => {
    const ops = revertPlan(change);
    expect(ops.map((o) => o.action)).toEqual(["revoke", "authorize"]);
    expect(ops[0]).toMatchObject({ securityGroupRuleIds: ["sgr-0000000000000000b"] });
  });

  it("apply: revoke the re-created approved rule by content, then authorize the drift again", () => {
    const ops = applyPlan(change);
    expect(ops.map((o) => o.action)).toEqual(["revoke", "authorize"]);
    expect(ops[0]).toHaveProperty("ipPermissions");
    expect(ops[1]?.rules.map(ruleKey)).toEqual([ruleKey(driftedIn)]);
  });
});
