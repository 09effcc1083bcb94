import { describe, expect, it } from "vitest";
import {
  accountMode,
  decide,
  enforcedAction,
  matchContext,
  ruleMatches,
  ruleViews,
  unknownFacts,
} from "../../../src/domain/policy/engine.js";
import type { Policy, PolicyRule } from "../../../src/domain/policy/types.js";
import {
  add,
  assumedRole,
  drift,
  facts,
  modify,
  remove,
  rule,
  tcp,
  UNVERIFIED,
  VERIFIED,
  v4,
} from "./support.js";

const sshWorld = tcp(22, 22, v4("0.0.0.0/0"));
const httpsInternal = tcp(443, 443, v4("10.1.0.0/16"));

const DENY_SSH: PolicyRule = {
  name: "no-ssh",
  match: { direction: "ingress", portsOverlap: 22, peer: { public: true } },
  action: "auto_deny",
  reason: "no SSH from the internet",
};
const APPROVE_INTERNAL: PolicyRule = {
  name: "internal-https",
  match: { ports: 443, peer: { cidrWithin: "10.0.0.0/8" } },
  action: "auto_approve",
};

describe("decide", () => {
  it("the first matching rule decides, with its name and reason", () => {
    const policy: Policy = { rules: [APPROVE_INTERNAL, DENY_SSH] };
    expect(decide(add([sshWorld]), facts(), policy)).toStrictEqual({
      action: "auto_deny",
      rule: "no-ssh",
      reason: "no SSH from the internet",
      mode: "enforce",
    });
    const both: Policy = { rules: [{ ...DENY_SSH, match: {} }, APPROVE_INTERNAL] };
    expect(decide(add([httpsInternal]), facts(), both).rule).toBe("no-ssh");
  });

  it("a reason falls back to the description, then to the rule's name", () => {
    const r: PolicyRule = { name: "x", match: {}, action: "notify" };
    expect(decide(add(), facts(), { rules: [r] }).reason).toBe('policy rule "x"');
    expect(decide(add(), facts(), { rules: [{ ...r, description: "why" }] }).reason).toBe("why");
  });

  it("nothing matching: require_approval by the default, 1 approval verified, 2 unverified", () => {
    const policy: Policy = { rules: [DENY_SSH] };
    expect(decide(add([httpsInternal]), facts(), policy)).toStrictEqual({
      action: "require_approval",
      rule: "default",
      reason: "no policy rule matched: a person decides",
      mode: "enforce",
      approvals: 1,
    });
    expect(decide(add(), facts({ verification: UNVERIFIED }), { rules: [] }).approvals).toBe(2);
  });

  it("require_approval carries its settings and never fewer approvals than the requester needs", () => {
    const r: PolicyRule = {
      name: "prod",
      match: {},
      action: "require_approval",
      approvers: { userGroup: "S0SECURITY1", users: ["U0ALICE"] },
      channel: "C0SGPROD001",
      expiryHours: 4,
      reason: "production",
    };
    expect(decide(add(), facts(), { rules: [r] })).toStrictEqual({
      action: "require_approval",
      rule: "prod",
      reason: "production",
      mode: "enforce",
      approvals: 1,
      approvers: { userGroup: "S0SECURITY1", users: ["U0ALICE"] },
      channel: "C0SGPROD001",
      expiryHours: 4,
    });
    expect(decide(add(), facts({ verification: UNVERIFIED }), { rules: [r] }).approvals).toBe(2);
    const three = { ...r, approvals: 3 };
    expect(decide(add(), facts({ verification: UNVERIFIED }), { rules: [three] }).approvals).toBe(
      3,
    );
    expect(decide(add(), facts(), { rules: [three] }).approvals).toBe(3);
  });

  it("only require_approval carries approvals", () => {
    for (const action of ["exempt", "auto_approve", "auto_deny", "notify", "ignore"] as const) {
      const d = decide(add(), facts(), { rules: [{ name: "r", match: {}, action, reason: "r" }] });
      expect(Object.keys(d).sort()).toEqual(["action", "mode", "reason", "rule"]);
    }
  });

  it("an empty match matches every change; an unknown matcher (built in code) none", () => {
    const change = remove([sshWorld]);
    expect(
      ruleMatches({ name: "a", match: {}, action: "notify" }, matchContext(change, facts())),
    ).toBe(true);
    const bogus = {
      name: "b",
      match: { colour: "red" },
      action: "auto_deny",
    } as unknown as PolicyRule;
    expect(ruleMatches(bogus, matchContext(change, facts()))).toBe(false);
  });
});

describe("which of the change's rules must match", () => {
  it("permissive (all): every rule of the change must be inside the ranges", () => {
    const policy: Policy = { rules: [APPROVE_INTERNAL] };
    expect(decide(add([httpsInternal]), facts(), policy).rule).toBe("internal-https");
    expect(decide(add([httpsInternal, tcp(443, 443, v4("0.0.0.0/0"))]), facts(), policy).rule).toBe(
      "default",
    );
    expect(
      decide(add([httpsInternal, tcp(443, 444, v4("10.0.0.0/8"))]), facts(), policy).rule,
    ).toBe("default");
  });

  it("restrictive (any): one rule put in place is enough", () => {
    const policy: Policy = { rules: [DENY_SSH] };
    expect(decide(add([httpsInternal, sshWorld]), facts(), policy).rule).toBe("no-ssh");
  });

  it("the rule-level matchers must hold for the same rule", () => {
    // An egress SSH to the world and an ingress HTTPS from it: no ingress SSH from the world.
    const change = add([
      tcp(22, 22, v4("0.0.0.0/0"), { direction: "egress" }),
      tcp(443, 443, v4("0.0.0.0/0")),
    ]);
    expect(decide(change, facts(), { rules: [DENY_SSH] }).rule).toBe("default");
  });

  it("taking a rule away never triggers a restrictive rule: removing SSH from anywhere is not denied", () => {
    expect(decide(remove([sshWorld]), facts(), { rules: [DENY_SSH] }).rule).toBe("default");
    // Nor the old content of a modified rule.
    expect(decide(modify(httpsInternal, sshWorld), facts(), { rules: [DENY_SSH] }).rule).toBe(
      "default",
    );
    expect(decide(modify(sshWorld, httpsInternal), facts(), { rules: [DENY_SSH] }).rule).toBe(
      "no-ssh",
    );
  });

  it("a permissive rule judges the rules taken away too (a removal, a modify's old rule)", () => {
    const policy: Policy = { rules: [APPROVE_INTERNAL] };
    expect(decide(remove([httpsInternal]), facts(), policy).rule).toBe("internal-https");
    expect(decide(remove([sshWorld]), facts(), policy).rule).toBe("default");
    expect(decide(modify(httpsInternal, sshWorld), facts(), policy).rule).toBe("default");
    expect(
      decide(modify(httpsInternal, tcp(443, 443, v4("10.2.0.0/16"))), facts(), policy).rule,
    ).toBe("internal-https");
  });

  it("the quantifier can be given: all for a restrictive rule, any for a permissive one", () => {
    const change = add([httpsInternal, sshWorld]);
    const allDeny: PolicyRule = { ...DENY_SSH, quantifier: "all" };
    expect(decide(change, facts(), { rules: [allDeny] }).rule).toBe("default");
    expect(decide(add([sshWorld]), facts(), { rules: [allDeny] }).rule).toBe("no-ssh");
    const anyApprove: PolicyRule = { ...APPROVE_INTERNAL, quantifier: "any" };
    expect(decide(change, facts(), { rules: [anyApprove] }).rule).toBe("internal-https");
  });

  it("a change with no known rules matches no rule-level matcher", () => {
    const byIds = remove([], { ruleIds: ["sgr-1"] });
    expect(ruleViews(byIds)).toEqual([]);
    expect(decide(byIds, facts(), { rules: [APPROVE_INTERNAL, DENY_SSH] }).rule).toBe("default");
  });

  it("a modify without its old rule has an unknown direction", () => {
    const m = modify(sshWorld);
    expect(ruleViews(m)).toStrictEqual([
      { rule: modify(sshWorld).modifications[0]?.rule, removed: false },
    ]);
    expect(decide(m, facts(), { rules: [DENY_SSH] }).rule).toBe("default");
    const anyDirection = { ...DENY_SSH, match: { portsOverlap: 22, peer: { public: true } } };
    expect(decide(m, facts(), { rules: [anyDirection] }).rule).toBe("no-ssh");
  });

  it("a drift: added, modified (new and old) and removed rules", () => {
    const d = drift({
      added: [httpsInternal],
      removed: [sshWorld],
      modifications: [{ ruleId: "sgr-9", rule: { ...httpsInternal }, before: rule() }],
    });
    expect(ruleViews(d).map((v) => v.removed)).toEqual([false, false, true, true]);
    expect(decide(d, facts(), { rules: [DENY_SSH] }).rule).toBe("default");
    expect(decide(d, facts(), { rules: [APPROVE_INTERNAL] }).rule).toBe("default");
  });
});

describe("facts", () => {
  it("a matcher whose fact is unknown does not match, and unknownFacts names it", () => {
    const prod: PolicyRule = {
      name: "prod",
      match: { groupTags: { env: "production" } },
      action: "require_approval",
      approvals: 2,
    };
    const policy: Policy = { rules: [prod] };
    expect(decide(add(), facts(), policy).rule).toBe("default");
    expect(unknownFacts(policy, facts())).toEqual(["the group's tags (groupTags)"]);
    const known = facts({ group: { tags: { env: "production" } } });
    expect(decide(add(), known, policy).rule).toBe("prod");
    expect(unknownFacts(policy, known)).toEqual([]);
    expect(
      unknownFacts(
        {
          rules: [
            {
              name: "x",
              match: { groupName: "a", vpc: "v", eventAgeOverSeconds: 1 },
              action: "notify",
            },
          ],
        },
        facts(),
      ),
    ).toEqual([
      "the group's name (groupName)",
      "the group's VPC (vpc)",
      "when the event was received (eventAgeOverSeconds)",
    ]);
  });

  it("verified and identityCenterUser read the verification", () => {
    const r: PolicyRule = {
      name: "v",
      match: { verified: true, identityCenterUser: "*@example.com" },
      action: "auto_approve",
    };
    expect(decide(add(), facts({ verification: VERIFIED }), { rules: [r] }).rule).toBe("v");
    expect(decide(add(), facts({ verification: UNVERIFIED }), { rules: [r] }).rule).toBe("default");
  });

  it("principal reads the requester", () => {
    const r: PolicyRule = {
      name: "ci",
      match: { principal: "arn:aws:iam::*:role/terraform-ci" },
      action: "auto_approve",
    };
    const ci = add(undefined, { requester: assumedRole("terraform-ci", "run-7") });
    expect(decide(ci, facts(), { rules: [r] }).rule).toBe("ci");
  });
});

describe("mode", () => {
  const policy: Policy = {
    mode: "enforce",
    accounts: { "444455556666": { mode: "notify" } },
    rules: [DENY_SSH],
  };

  it("an account listed in notify mode: the decision says so", () => {
    const staging = add([sshWorld], { account: "444455556666" });
    expect(decide(staging, facts(), policy)).toMatchObject({ action: "auto_deny", mode: "notify" });
    expect(decide(add([sshWorld]), facts(), policy).mode).toBe("enforce");
  });

  it("precedence: the account's entry, the deployment's mode, the policy's mode, enforce", () => {
    expect(accountMode({ rules: [] }, "1")).toBe("enforce");
    expect(accountMode({ rules: [], mode: "notify" }, "1")).toBe("notify");
    expect(accountMode({ rules: [], mode: "notify" }, "1", { mode: "enforce" })).toBe("enforce");
    expect(accountMode(policy, "444455556666", { mode: "enforce" })).toBe("notify");
    expect(
      accountMode({ rules: [], accounts: { "1": { mode: "enforce" } } }, "1", { mode: "notify" }),
    ).toBe("enforce");
    // Only own entries count.
    expect(accountMode({ rules: [] }, "constructor")).toBe("enforce");
  });

  it("enforcedAction: in notify mode what would revert only notifies", () => {
    const cases = [
      ["auto_deny", "notify"],
      ["require_approval", "notify"],
      ["auto_approve", "auto_approve"],
      ["exempt", "exempt"],
      ["ignore", "ignore"],
      ["notify", "notify"],
    ] as const;
    for (const [action, expected] of cases) {
      expect(enforcedAction({ action, mode: "notify" })).toBe(expected);
      expect(enforcedAction({ action, mode: "enforce" })).toBe(action);
    }
  });
});
