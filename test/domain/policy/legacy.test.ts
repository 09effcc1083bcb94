import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Change, changedRules, type PrefixListChange } from "../../../src/domain/change.js";
import { createGroupDecision } from "../../../src/domain/create-group.js";
import { decide } from "../../../src/domain/policy/engine.js";
import {
  type LegacyDecision,
  mergePolicies,
  policyFromLegacy,
} from "../../../src/domain/policy/legacy.js";
import type { Policy } from "../../../src/domain/policy/types.js";
import { DEFAULT_POLICY, evaluatePolicy, type PolicyConfig } from "../../../src/domain/policy.js";
import { matchingArnPattern } from "../../../src/domain/requester.js";
import type { Rule } from "../../../src/domain/rule.js";
import { changeArb, receivedAtArb } from "./arbitraries.js";
import { add, assumedRole, drift, facts, tcp, v4 } from "./support.js";

/** evaluatePolicy as it was before the engine (git history: src/domain/policy.ts), verbatim. */
function reference(change: Change, config: PolicyConfig, receivedAt: Date): LegacyDecision {
  const system = matchingArnPattern(change.requester, config.systemRoleArns);
  if (system) return { action: "ignore", reason: `made by this system's own role (${system})` };
  const exempt = matchingArnPattern(change.requester, config.exemptPrincipals);
  if (exempt) return { action: "exempt", reason: `${change.requester.arn} is exempt (${exempt})` };
  if (config.maxEventAgeSeconds !== null) {
    const ageSeconds = (receivedAt.getTime() - Date.parse(change.eventTime)) / 1000;
    if (ageSeconds > config.maxEventAgeSeconds) {
      return {
        action: "leave",
        rule: "max-event-age",
        reason: `the event arrived ${Math.round(ageSeconds)} s after the change, later than the ${config.maxEventAgeSeconds} s limit: it was not reverted`,
      };
    }
  }
  if (config.autoDenyWithoutDescription && change.kind !== "remove") {
    const bare = changedRules(change).filter((r) => !r.description?.trim());
    if (bare.length > 0) {
      return {
        action: "auto_deny",
        rule: "require-description",
        reason: `${bare.length} ${bare.length === 1 ? "rule has" : "rules have"} no description`,
      };
    }
  }
  return { action: "require_approval" };
}

const PATTERNS = [
  "arn:aws:iam::*:role/secgroup-approval-*",
  "arn:aws:iam::*:role/BreakGlass*",
  "arn:aws:iam::*:role/terraform-ci",
  "arn:aws:iam::*:user/alice",
  "arn:aws:iam::999999999999:*",
  "*",
];

const configArb: fc.Arbitrary<PolicyConfig> = fc.record({
  systemRoleArns: fc.subarray(PATTERNS, { maxLength: 2 }),
  exemptPrincipals: fc.subarray(PATTERNS, { maxLength: 3 }),
  maxEventAgeSeconds: fc.constantFrom(null, 0, 10, 300),
  autoDenyWithoutDescription: fc.boolean(),
});

describe("evaluatePolicy on top of the engine", () => {
  it("returns exactly what it always did, for any change, config and receipt time", () => {
    fc.assert(
      fc.property(changeArb, configArb, receivedAtArb, (change, config, receivedAt) => {
        expect(evaluatePolicy(change, config, receivedAt)).toStrictEqual(
          reference(change, config, receivedAt),
        );
      }),
      { numRuns: 3000 },
    );
  });

  it("and for an event time that does not parse, and the defaults", () => {
    const change = add([tcp(22, 22, v4("10.0.0.0/8"), { description: undefined })], {
      eventTime: "not a time",
    });
    const config = { ...DEFAULT_POLICY, autoDenyWithoutDescription: true };
    const at = new Date("2030-01-01T00:00:00Z");
    expect(evaluatePolicy(change, config, at)).toStrictEqual(reference(change, config, at));
    expect(evaluatePolicy(change, DEFAULT_POLICY, at)).toStrictEqual({
      action: "require_approval",
    });
  });
});

describe("policyFromLegacy", () => {
  it("each switch is one rule, in evaluatePolicy's order", () => {
    const policy = policyFromLegacy({
      systemRoleArns: ["arn:aws:iam::1:role/sys"],
      exemptPrincipals: ["arn:aws:iam::*:role/BreakGlassAdmin"],
      maxEventAgeSeconds: 300,
      autoDenyWithoutDescription: true,
    });
    expect(policy.rules.map((r) => [r.name, r.action, r.match])).toEqual([
      ["system-roles", "ignore", { principal: ["arn:aws:iam::1:role/sys"] }],
      ["exempt-principals", "exempt", { principal: ["arn:aws:iam::*:role/BreakGlassAdmin"] }],
      ["max-event-age", "notify", { eventAgeOverSeconds: 300 }],
      [
        "require-description",
        "auto_deny",
        { kind: ["add", "modify", "drift"], descriptionMissing: true },
      ],
    ]);
  });

  it("the description switch leaves a new group's default egress and a prefix list alone", () => {
    // The switch predates governed creations (CreateSecurityGroup and ModifyManagedPrefixList
    // were governed later): as a rule naming no kind it revoked every new group's egress.
    const policy = policyFromLegacy({ ...DEFAULT_POLICY, autoDenyWithoutDescription: true });
    const egress: Rule = {
      direction: "egress",
      protocol: "all",
      fromPort: null,
      toPort: null,
      peer: v4("0.0.0.0/0"),
    };
    const creation = add([egress], { eventName: "CreateSecurityGroup", direction: "egress" });
    expect(decide(creation, facts(), policy).rule).toBe("default");
    expect(createGroupDecision(creation, facts(), policy)).toMatchObject({ revoke: false });
    const list: PrefixListChange = {
      ...add(),
      eventName: "ModifyManagedPrefixList",
      kind: "prefixList",
      prefixListId: "pl-0123456789abcdef0",
      added: [{ cidr: "10.9.0.0/16" }],
      removed: [],
      references: [
        {
          groupId: "sg-0123456789abcdef0",
          rules: [
            tcp(
              443,
              443,
              { kind: "prefixList", prefixListId: "pl-0123456789abcdef0" },
              {
                description: undefined,
              },
            ),
          ],
        },
      ],
    };
    expect(decide(list, facts(), policy).rule).toBe("default");
    // What it always judged, it still does.
    const bare = tcp(443, 443, v4("10.0.0.0/8"), { description: undefined });
    expect(decide(add([bare]), facts(), policy).rule).toBe("require-description");
    expect(decide(drift({ added: [bare] }), facts(), policy).rule).toBe("require-description");
  });

  it("switches that are off make no rule", () => {
    expect(policyFromLegacy({ ...DEFAULT_POLICY, maxEventAgeSeconds: null }).rules).toEqual([]);
  });
});

describe("mergePolicies", () => {
  const legacy: PolicyConfig = {
    systemRoleArns: ["arn:aws:iam::*:role/secgroup-approval-*"],
    exemptPrincipals: ["arn:aws:iam::*:role/BreakGlassAdmin"],
    maxEventAgeSeconds: 300,
    autoDenyWithoutDescription: true,
  };
  const file: Policy = {
    accounts: { "444455556666": { mode: "notify" } },
    rules: [{ name: "deny-all", match: {}, action: "auto_deny", reason: "frozen" }],
  };

  it("the system's roles first, then the file's rules, then the other switches", () => {
    const merged = mergePolicies(legacy, file);
    expect(merged.rules.map((r) => r.name)).toEqual([
      "system-roles",
      "deny-all",
      "exempt-principals",
      "max-event-age",
      "require-description",
    ]);
    expect(merged.accounts).toEqual(file.accounts);
  });

  it("the system's own call is ignored whatever the file says; the file beats an exemption", () => {
    const merged = mergePolicies(legacy, file);
    const system = add(undefined, { requester: assumedRole("secgroup-approval-revert", "x") });
    expect(decide(system, facts(), merged).rule).toBe("system-roles");
    const breakGlass = add(undefined, { requester: assumedRole("BreakGlassAdmin", "alice") });
    expect(decide(breakGlass, facts(), merged).rule).toBe("deny-all");
    expect(decide(breakGlass, facts(), mergePolicies(legacy, { rules: [] })).rule).toBe(
      "exempt-principals",
    );
  });
});
