/**
 * The engine's promises, for any change and any policy: the first matching rule decides (moving
 * a matching rule first makes it the decision); a permissive rule with port and CIDR ranges never
 * matches a change with a rule outside them; the default applies when nothing matches; a
 * require_approval never asks an unverified requester for fewer than 2 approvals.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { minimumApprovals } from "../../../src/domain/identity.js";
import { cidrWithin, parseCidr } from "../../../src/domain/policy/cidr.js";
import { decide, matchContext, ruleMatches, ruleViews } from "../../../src/domain/policy/engine.js";
import { parsePortSpec, rulePortSpan } from "../../../src/domain/policy/matchers/port-range.js";
import { policyIssues } from "../../../src/domain/policy/schema.js";
import {
  type Match,
  PERMISSIVE_ACTIONS,
  type PolicyFacts,
  type PolicyRule,
} from "../../../src/domain/policy/types.js";
import {
  changeArb,
  matchArb,
  policyRulesArb,
  receivedAtArb,
  verificationArb,
} from "./arbitraries.js";

const factsArb: fc.Arbitrary<PolicyFacts> = fc.record({
  verification: verificationArb,
  receivedAt: receivedAtArb,
});

const RUNS = { numRuns: 500 };

describe("engine properties", () => {
  it("the generated policies are valid files (so the properties are about real policies)", () => {
    fc.assert(
      fc.property(policyRulesArb, (rules) => {
        const issues = policyIssues({ rules }).filter(
          (i) => !/not in a permissive/.test(i.message),
        );
        expect(issues).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it("first match wins: the decision is the first matching rule, and moving any matching rule first makes it the decision", () => {
    fc.assert(
      fc.property(changeArb, factsArb, policyRulesArb, fc.nat(), (change, facts, rules, pick) => {
        const ctx = matchContext(change, facts);
        const matching = rules.filter((r) => ruleMatches(r, ctx));
        const decision = decide(change, facts, { rules });
        expect(decision.rule).toBe(matching[0]?.name ?? "default");
        if (matching.length === 0) return;
        const chosen = matching[pick % matching.length] as PolicyRule;
        const reordered = [chosen, ...rules.filter((r) => r !== chosen)];
        const after = decide(change, facts, { rules: reordered });
        expect(after.rule).toBe(chosen.name);
        expect(after.action).toBe(chosen.action);
        // Moving a rule that does not match changes nothing.
        const idle = rules.find((r) => !ruleMatches(r, ctx));
        if (idle) {
          const moved = [idle, ...rules.filter((r) => r !== idle)];
          expect(decide(change, facts, { rules: moved })).toStrictEqual(decision);
        }
      }),
      RUNS,
    );
  });

  it("a permissive rule with port and CIDR ranges never matches a change with a rule outside them", () => {
    // Ranges drawn from the change's own rules (some left out) and from a small world, so that
    // "every rule inside" and "one rule just outside" both come up often.
    const caseArb = changeArb.chain((change) => {
      const views = ruleViews(change);
      const ownPorts = views.flatMap((v) => {
        const span = rulePortSpan(v.rule);
        return span ? [`${span.from}-${span.to}`] : [];
      });
      const ownCidrs = views.flatMap((v) =>
        v.rule.peer.kind === "cidrIpv4" || v.rule.peer.kind === "cidrIpv6"
          ? [v.rule.peer.cidr]
          : [],
      );
      return fc.record({
        change: fc.constant(change),
        ports: fc.subarray([...new Set([...ownPorts, "22", "80-443", "0-65535"])], {
          minLength: 1,
        }),
        cidrs: fc.subarray([...new Set([...ownCidrs, "10.0.0.0/8", "0.0.0.0/0", "fd00::/8"])], {
          minLength: 1,
        }),
      });
    });
    let matched = 0;
    fc.assert(
      fc.property(
        caseArb,
        factsArb,
        fc.constantFrom<Match>({}, { kind: "add" }, { verified: true }, { direction: "ingress" }),
        fc.constantFrom(...PERMISSIVE_ACTIONS),
        ({ change, ports, cidrs }, facts, extra, action) => {
          const rule: PolicyRule = {
            name: "permissive",
            match: { ...extra, ports, peer: { cidrWithin: cidrs } },
            action,
          };
          const decision = decide(change, facts, { rules: [rule] });
          if (decision.rule !== "permissive") return;
          matched += 1;
          const spans = ports.map((p) => parsePortSpec(p) as { from: number; to: number });
          const outer = cidrs.map((c) => parseCidr(c) as NonNullable<ReturnType<typeof parseCidr>>);
          const views = ruleViews(change);
          expect(views.length).toBeGreaterThan(0);
          for (const v of views) {
            const span = rulePortSpan(v.rule);
            expect(span && spans.some((s) => s.from <= span.from && span.to <= s.to)).toBe(true);
            const p = v.rule.peer;
            const inner =
              p.kind === "cidrIpv4" || p.kind === "cidrIpv6" ? parseCidr(p.cidr) : undefined;
            expect(inner && outer.some((o) => cidrWithin(inner, o))).toBe(true);
          }
        },
      ),
      { numRuns: 2000 },
    );
    // Not vacuous: the rule did match a fair share of the changes.
    expect(matched).toBeGreaterThan(30);
  });

  it("the default applies when nothing matches: require_approval, the requester's minimum", () => {
    fc.assert(
      fc.property(changeArb, factsArb, policyRulesArb, (change, facts, rules) => {
        const ctx = matchContext(change, facts);
        const none = rules.filter((r) => !ruleMatches(r, ctx));
        expect(decide(change, facts, { rules: none })).toStrictEqual({
          action: "require_approval",
          rule: "default",
          reason: "no policy rule matched: a person decides",
          mode: "enforce",
          approvals: minimumApprovals(facts.verification),
        });
      }),
      RUNS,
    );
  });

  it("require_approval never asks an unverified requester for fewer than 2 approvals, nor fewer than the rule says", () => {
    fc.assert(
      fc.property(changeArb, factsArb, policyRulesArb, (change, facts, rules) => {
        const decision = decide(change, facts, { rules });
        if (decision.action !== "require_approval") {
          expect(decision.approvals).toBeUndefined();
          return;
        }
        const approvals = decision.approvals ?? 0;
        expect(approvals).toBeGreaterThanOrEqual(facts.verification.verified ? 1 : 2);
        const rule = rules.find((r) => r.name === decision.rule);
        expect(approvals).toBeGreaterThanOrEqual(rule?.approvals ?? 1);
      }),
      RUNS,
    );
  });

  it("a restrictive rule is never triggered by the rules a change only takes away", () => {
    fc.assert(
      fc.property(changeArb, factsArb, matchArb, (change, facts, match) => {
        const rule: PolicyRule = { name: "deny", match, action: "auto_deny", reason: "no" };
        const granted = ruleViews(change).filter((v) => !v.removed);
        if (
          granted.length > 0 ||
          !Object.keys(match).some((k) =>
            ["direction", "protocol", "ports", "peer", "descriptionMissing"].includes(k),
          )
        )
          return;
        expect(decide(change, facts, { rules: [rule] }).rule).toBe("default");
      }),
      RUNS,
    );
  });
});
