import { describe, expect, it } from "vitest";
import { approvedAfter, diffRuleSets, withLiveIds, withoutIds } from "../../src/domain/baseline.js";
import {
  type AddChange,
  DRIFT_EVENT_NAME,
  type DriftChange,
  type ModifyChange,
  type RemoveChange,
} from "../../src/domain/change.js";
import type { Rule } from "../../src/domain/rule.js";
import { CHANGE_BASE, tcpIn, v4 } from "../support/domain-builders.js";

const A = tcpIn(22, "10.0.0.0/8", { ruleId: "sgr-a", description: "ssh" });
const B = tcpIn(443, "0.0.0.0/0", { ruleId: "sgr-b" });
const N = tcpIn(3389, "0.0.0.0/0", { ruleId: "sgr-n" });

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
    const noId = tcpIn(80, "10.0.0.0/8");
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

describe("withLiveIds", () => {
  it("keeps an id EC2 still has for the same content", () => {
    expect(withLiveIds([A, B], [B, A])).toStrictEqual([A, B]);
  });

  it("gives a rule the id of its live twin when the revert re-created it", () => {
    const recreated = { ...A, ruleId: "sgr-new" };
    expect(withLiveIds([A, B], [B, recreated])).toStrictEqual([recreated, B]);
  });

  it("matches content with the description, each live rule once", () => {
    const otherDescription = { ...A, ruleId: "sgr-x", description: "not ssh" };
    expect(withLiveIds([A], [otherDescription])).toStrictEqual([A]);
    const twin1 = { ...N, ruleId: "sgr-1" };
    const bare = { ...N, ruleId: undefined };
    delete bare.ruleId;
    expect(withLiveIds([bare, bare], [twin1])).toStrictEqual([twin1, bare]);
  });

  it("leaves a rule with no live twin as it was", () => {
    expect(withLiveIds([A], [])).toStrictEqual([A]);
  });
});

describe("approvedAfter: the approved rules once a change is applied", () => {
  const base = { ...CHANGE_BASE };

  it("an add joins the approved rules without the ids of its first, reverted, creation", () => {
    const add: AddChange = {
      ...base,
      eventName: "AuthorizeSecurityGroupIngress",
      kind: "add",
      direction: "ingress",
      rules: [N],
    };
    const { ruleId: _, ...bareN } = N;
    expect(approvedAfter([A, B], add)).toStrictEqual([A, B, bareN]);
  });

  it("a remove takes its rules away by content, whatever id the revert gave them since", () => {
    const remove: RemoveChange = {
      ...base,
      eventName: "RevokeSecurityGroupIngress",
      kind: "remove",
      direction: "ingress",
      rules: [{ ...B, ruleId: "sgr-old" }],
      ruleIds: ["sgr-old"],
    };
    expect(approvedAfter([A, B], remove)).toStrictEqual([A]);
  });

  it("a modify gives the approved rule its new content and keeps the rule's current id", () => {
    const modify: ModifyChange = {
      ...base,
      eventName: "ModifySecurityGroupRules",
      kind: "modify",
      modifications: [
        {
          ruleId: "sgr-gone",
          rule: { ...body(A), peer: v4("0.0.0.0/0") },
          before: { ...A, ruleId: "sgr-gone" },
        },
      ],
    };
    expect(approvedAfter([A, B], modify)).toStrictEqual([{ ...A, peer: v4("0.0.0.0/0") }, B]);
  });

  it("an approved drift: what drifted in joins, what drifted away leaves", () => {
    const drift: DriftChange = {
      ...base,
      eventName: DRIFT_EVENT_NAME,
      kind: "drift",
      added: [N],
      removed: [B],
      modifications: [],
    };
    const { ruleId: _, ...bareN } = N;
    expect(approvedAfter([A, B], drift)).toStrictEqual([A, bareN]);
    expect(withoutIds(approvedAfter([A, B], drift))).toStrictEqual([bareN]);
  });
});

function body(r: Rule) {
  const { direction: _d, ruleId: _i, ...rest } = r;
  return rest;
}
