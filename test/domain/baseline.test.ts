import { describe, expect, it } from "vitest";
import { diffRuleSets, type PerformedOperation, ruleSetAfter } from "../../src/domain/baseline.js";
import type { AddChange, ModifyChange, RemoveChange } from "../../src/domain/change.js";
import { applyPlan, revertPlan } from "../../src/domain/plan.js";
import type { Rule } from "../../src/domain/rule.js";
import { CHANGE_BASE, v4 } from "../support/domain-builders.js";

const tcp = (port: number, cidr: string, extra: Partial<Rule> = {}): Rule => ({
  direction: "ingress",
  protocol: "tcp",
  fromPort: port,
  toPort: port,
  peer: v4(cidr),
  ...extra,
});

const A = tcp(22, "10.0.0.0/8", { ruleId: "sgr-a", description: "ssh" });
const B = tcp(443, "0.0.0.0/0", { ruleId: "sgr-b" });
const N = tcp(3389, "0.0.0.0/0", { ruleId: "sgr-n" });

describe("diffRuleSets", () => {
  it("nothing to write for the same rules, whatever their order", () => {
    expect(diffRuleSets([A, B], [B, A])).toStrictEqual({ put: [], removeIds: [] });
  });

  it("puts new rules and removes gone ones, by id", () => {
    expect(diffRuleSets([A, B], [A, N])).toStrictEqual({ put: [N], removeIds: ["sgr-b"] });
  });

  it("puts a rule whose content changed under the same id", () => {
    const moved = { ...B, fromPort: 8443, toPort: 8443 };
    expect(diffRuleSets([A, B], [A, moved])).toStrictEqual({ put: [moved], removeIds: [] });
  });

  it("puts a rule whose description alone changed, or was removed", () => {
    const renamed = { ...A, description: "ssh from vpn" };
    expect(diffRuleSets([A], [renamed])).toStrictEqual({ put: [renamed], removeIds: [] });
    const { description: _d, ...bare } = A;
    expect(diffRuleSets([A], [bare])).toStrictEqual({ put: [bare], removeIds: [] });
  });

  it("cannot store rules without an id, on either side", () => {
    const noId = tcp(80, "10.0.0.0/8");
    expect(diffRuleSets([noId], [A])).toStrictEqual({ put: [A], removeIds: [] });
    expect(diffRuleSets([A], [A, noId])).toStrictEqual({ put: [], removeIds: [] });
  });

  it("removes every rule of an emptied group", () => {
    expect(diffRuleSets([A, B, N], [])).toStrictEqual({
      put: [],
      removeIds: ["sgr-a", "sgr-b", "sgr-n"],
    });
  });
});

describe("ruleSetAfter", () => {
  const add: AddChange = {
    ...CHANGE_BASE,
    eventName: "AuthorizeSecurityGroupIngress",
    kind: "add",
    direction: "ingress",
    rules: [N],
  };

  it("the person's add, then the revert: the baseline is unchanged", () => {
    const performed: PerformedOperation[] = revertPlan(add).map((op) => ({ op, created: [] }));
    const after = ruleSetAfter([A, B], add, performed);
    expect(after).toStrictEqual([A, B]);
    expect(diffRuleSets([A, B], after)).toStrictEqual({ put: [], removeIds: [] });
  });

  it("the apply of an approved add (no change given): the new rule with the id EC2 gave it", () => {
    const [op] = applyPlan(add);
    if (!op) throw new Error("no op");
    const created = [{ ...N, ruleId: "sgr-n2" }];
    const after = ruleSetAfter([A, B], undefined, [{ op, created }]);
    expect(after).toStrictEqual([A, B, created[0]]);
    expect(diffRuleSets([A, B], after)).toStrictEqual({ put: created, removeIds: [] });
  });

  it("a remove by rule id reverted: the rule comes back under a new id", () => {
    const remove: RemoveChange = {
      ...CHANGE_BASE,
      eventName: "RevokeSecurityGroupIngress",
      kind: "remove",
      direction: "ingress",
      rules: [A],
      ruleIds: ["sgr-a"],
    };
    const performed = revertPlan(remove).map((op) => ({
      op,
      created: op.rules.map((r) => ({ ...r, ruleId: "sgr-a2" })),
    }));
    const after = ruleSetAfter([A, B], remove, performed);
    const restored = { ...A, ruleId: "sgr-a2" };
    expect(after).toStrictEqual([B, restored]);
    expect(diffRuleSets([A, B], after)).toStrictEqual({ put: [restored], removeIds: ["sgr-a"] });
  });

  it("a modify reverted: the same ids and contents as before", () => {
    const modify: ModifyChange = {
      ...CHANGE_BASE,
      eventName: "ModifySecurityGroupRules",
      kind: "modify",
      modifications: [
        {
          ruleId: "sgr-a",
          rule: { protocol: "tcp", fromPort: 22, toPort: 22, peer: v4("0.0.0.0/0") },
          before: A,
        },
      ],
    };
    const changed = ruleSetAfter([A, B], modify, []);
    expect(changed[0]).toStrictEqual({
      direction: "ingress",
      protocol: "tcp",
      fromPort: 22,
      toPort: 22,
      peer: v4("0.0.0.0/0"),
      ruleId: "sgr-a",
    });
    const performed = revertPlan(modify).map((op) => ({ op, created: [] }));
    expect(ruleSetAfter([A, B], modify, performed)).toStrictEqual([A, B]);
  });

  it("does not change the array it was given", () => {
    const before = [A, B];
    ruleSetAfter(before, add, []);
    expect(before).toStrictEqual([A, B]);
  });
});
