import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AddChange,
  DRIFT_EVENT_NAME,
  type DriftChange,
  type ModifyChange,
  type RemoveChange,
  UNKNOWN_REQUESTER,
} from "../../src/domain/change.js";
import {
  adoptedAtCreation,
  creationDefaults,
  diffRules,
  driftChange,
  driftFingerprint,
  explainsDrift,
  isDrift,
  unexplained,
} from "../../src/domain/drift.js";
import {
  applyOperationToRules,
  applyPlan,
  type Ec2Operation,
  revertPlan,
} from "../../src/domain/plan.js";
import { contentKey, type Rule, uniqueRules } from "../../src/domain/rule.js";
import { asMultiset, ruleArb } from "../support/domain-arbitraries.js";
import { CHANGE_BASE, GROUP, tcpIn, v4, v6 } from "../support/domain-builders.js";

const A = tcpIn(22, "10.0.0.0/8", { ruleId: "sgr-0000000000000000a", description: "ssh" });
const B = tcpIn(443, "0.0.0.0/0", { ruleId: "sgr-0000000000000000b" });
const N = tcpIn(3389, "0.0.0.0/0", { ruleId: "sgr-0000000000000000c" });
const EGRESS_ALL: Rule = {
  direction: "egress",
  protocol: "all",
  fromPort: null,
  toPort: null,
  peer: v4("0.0.0.0/0"),
  ruleId: "sgr-0000000000000000e",
};

const drift = (over: Partial<DriftChange>): DriftChange => ({
  ...CHANGE_BASE,
  eventName: DRIFT_EVENT_NAME,
  kind: "drift",
  requester: UNKNOWN_REQUESTER,
  added: [],
  removed: [],
  modifications: [],
  ...over,
});

describe("diffRules", () => {
  it("no drift for the same rules in any order", () => {
    const diff = diffRules([A, B], [B, A]);
    expect(isDrift(diff)).toBe(false);
    expect(diff.renamed).toStrictEqual([]);
  });

  it("an approved rule under a new id is renamed, not drift", () => {
    const recreated = { ...A, ruleId: "sgr-0000000000000000f" };
    const diff = diffRules([A, B], [recreated, B]);
    expect(isDrift(diff)).toBe(false);
    expect(diff.renamed).toStrictEqual([{ fromId: A.ruleId, rule: recreated }]);
  });

  it("a live rule the baseline lacks is added; an approved rule not live is removed", () => {
    const diff = diffRules([A, B], [A, N]);
    expect(diff.added).toStrictEqual([N]);
    expect(diff.removed).toStrictEqual([B]);
    expect(diff.modifications).toStrictEqual([]);
  });

  it("a rule edited in place (same id) is a modification with the approved rule as before", () => {
    const opened = { ...A, peer: v4("0.0.0.0/0") };
    const diff = diffRules([A, B], [opened, B]);
    expect(diff.modifications).toStrictEqual([
      {
        ruleId: A.ruleId,
        rule: {
          protocol: "tcp",
          fromPort: 22,
          toPort: 22,
          peer: v4("0.0.0.0/0"),
          description: "ssh",
        },
        before: A,
      },
    ]);
    expect(diff.added).toStrictEqual([]);
  });

  it("a description changed under a new id: the old one removed, the new one added", () => {
    const other = { ...A, ruleId: "sgr-0000000000000000f", description: "ssh for all" };
    const diff = diffRules([A], [other]);
    expect(diff.removed).toStrictEqual([A]);
    expect(diff.added).toStrictEqual([other]);
  });

  it("property: the revert plan of a drift brings the live rules back to the approved content", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(ruleArb("ingress"), { minLength: 0, maxLength: 6, selector: contentKey }),
        fc.uniqueArray(ruleArb("ingress"), { minLength: 0, maxLength: 6, selector: contentKey }),
        (approvedRaw, extraRaw) => {
          let n = 0;
          const id = () => `sgr-${String(n++).padStart(17, "0")}`;
          const approved = uniqueRules(approvedRaw).map((r) => ({ ...r, ruleId: id() }));
          // Live: some approved rules gone, some new ones in.
          const keep = approved.filter((_, i) => i % 2 === 0);
          const extra = uniqueRules(extraRaw)
            .filter((r) => !approved.some((a) => contentKey(a) === contentKey(r)))
            .map((r) => ({ ...r, ruleId: id() }));
          const live = [...keep, ...extra];
          const diff = diffRules(approved, live);
          const change = driftChange(diff, {
            account: "111122223333",
            region: "us-east-1",
            groupId: GROUP,
            eventId: "drift-1",
            firstSeenAt: "2025-02-11T09:00:00Z",
          });
          let state: Rule[] = [...live];
          for (const op of revertPlan(change)) state = simulate(state, op, id);
          expect(asMultiset(state, contentKey)).toStrictEqual(asMultiset(approved, contentKey));
          // And applying the drift again gives the live content back.
          let again: Rule[] = [...state];
          for (const op of applyPlan(change)) again = simulate(again, op, id);
          expect(asMultiset(again, contentKey)).toStrictEqual(asMultiset(live, contentKey));
        },
      ),
    );
  });
});

function simulate(state: readonly Rule[], op: Ec2Operation, id: () => string): Rule[] {
  const created =
    op.action === "authorize" ? op.rules.map((r) => ({ ...r, ruleId: id() })) : undefined;
  return applyOperationToRules(state, op, created);
}

describe("unexplained: open changes may stand either way", () => {
  const openAdd: AddChange = {
    ...CHANGE_BASE,
    eventName: "AuthorizeSecurityGroupIngress",
    kind: "add",
    direction: "ingress",
    rules: [N],
  };
  const openRemove: RemoveChange = {
    ...CHANGE_BASE,
    eventName: "RevokeSecurityGroupIngress",
    kind: "remove",
    direction: "ingress",
    rules: [B],
    ruleIds: [],
  };

  it("a live rule an open add names is not drift; nor is an approved rule an open remove took", () => {
    const diff = diffRules([A, B], [A, N]);
    expect(isDrift(unexplained(diff, [openAdd, openRemove]))).toBe(false);
    expect(unexplained(diff, [openAdd]).removed).toStrictEqual([B]);
  });

  it("an open add's rule that is gone again is not drift either (it may go either way)", () => {
    expect(isDrift(unexplained(diffRules([A], [A]), [openAdd]))).toBe(false);
  });

  it("an edit an open modify names is not drift", () => {
    const opened = { ...A, peer: v4("0.0.0.0/0") };
    const openModify: ModifyChange = {
      ...CHANGE_BASE,
      eventName: "ModifySecurityGroupRules",
      kind: "modify",
      modifications: [{ ruleId: A.ruleId as string, rule: { ...opened }, before: A }],
    };
    expect(isDrift(unexplained(diffRules([A], [opened]), [openModify]))).toBe(false);
  });
});

describe("driftFingerprint", () => {
  it("is the same for the same difference whatever the order EC2 listed the rules in", () => {
    expect(driftFingerprint(diffRules([A], [A, N, B]))).toBe(
      driftFingerprint(diffRules([A], [B, N, A])),
    );
  });

  it("differs for another difference", () => {
    expect(driftFingerprint(diffRules([A], [A, N]))).not.toBe(
      driftFingerprint(diffRules([A], [A, B])),
    );
  });
});

describe("creation defaults", () => {
  it("a new group: the all-traffic egress rule is adopted, anything else is not", () => {
    const group = { groupId: GROUP, groupName: "web" };
    expect(creationDefaults(group)).toHaveLength(1);
    expect(adoptedAtCreation(group, [EGRESS_ALL, N])).toStrictEqual([EGRESS_ALL]);
  });

  it("a VPC's default group also keeps its IPv6 egress and its self-reference", () => {
    const group = { groupId: GROUP, groupName: "default" };
    const self: Rule = {
      direction: "ingress",
      protocol: "all",
      fromPort: null,
      toPort: null,
      peer: { kind: "group", groupId: GROUP },
      ruleId: "sgr-00000000000000011",
    };
    const v6all = { ...EGRESS_ALL, peer: v6("::/0"), ruleId: "sgr-00000000000000012" };
    expect(adoptedAtCreation(group, [EGRESS_ALL, v6all, self, N])).toStrictEqual([
      EGRESS_ALL,
      v6all,
      self,
    ]);
  });

  it("a second copy of a default rule is not adopted twice", () => {
    const group = { groupId: GROUP };
    const twin = { ...EGRESS_ALL, ruleId: "sgr-00000000000000013" };
    expect(adoptedAtCreation(group, [EGRESS_ALL, twin])).toStrictEqual([EGRESS_ALL]);
  });
});

describe("explainsDrift: a late event joins the drift it caused", () => {
  const filed = drift({ added: [N], removed: [B] });
  const add = (rules: Rule[]): AddChange => ({
    ...CHANGE_BASE,
    eventName: "AuthorizeSecurityGroupIngress",
    kind: "add",
    direction: "ingress",
    rules,
  });

  it("an add of a rule the drift added joins it", () => {
    expect(explainsDrift(add([{ ...N, ruleId: undefined } as Rule]), filed)).toBe(true);
  });

  it("an add of any other rule does not", () => {
    expect(explainsDrift(add([N, A]), filed)).toBe(false);
  });

  it("a revoke by id of a rule the drift removed joins it", () => {
    const revoke: RemoveChange = {
      ...CHANGE_BASE,
      eventName: "RevokeSecurityGroupIngress",
      kind: "remove",
      direction: "ingress",
      rules: [],
      ruleIds: [B.ruleId as string],
    };
    expect(explainsDrift(revoke, filed)).toBe(true);
  });
});
