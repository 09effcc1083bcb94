import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeMatch, describePolicy } from "../../../src/domain/policy/describe.js";
import { policyFromLegacy } from "../../../src/domain/policy/legacy.js";
import { parsePolicyText } from "../../../src/domain/policy/load.js";
import { REPO_ROOT } from "../../support/domain-fixtures.js";

describe("describePolicy", () => {
  it("one row per rule in order, the default, the accounts; header first", () => {
    const text = readFileSync(join(REPO_ROOT, "policy.example.json"), "utf8");
    const rows = describePolicy(parsePolicyText(text));
    expect(rows[0]).toEqual(["rule", "match", "action", "decision"]);
    expect(rows.map((r) => r[0])).toEqual([
      "rule",
      "break-glass",
      "new-group-default-egress",
      "no-ssh-rdp-from-internet",
      "rules-need-description",
      "pipeline-auto-approve",
      "production-two-approvers",
      "critical-risk-two-approvers",
      "internal-https",
      "default",
      "default",
      "account 444455556666",
    ]);
    for (const row of rows) expect(row).toHaveLength(4);
    expect(rows[2]).toEqual([
      "new-group-default-egress",
      "kind create",
      "auto_approve",
      "a new group keeps its default egress (all traffic out), as EC2 creates it",
    ]);
    expect(rows[4]?.slice(0, 3)).toEqual([
      "rules-need-description",
      "kind add, modify, drift; any rule: no description",
      "auto_deny",
    ]);
    expect(rows[3]).toEqual([
      "no-ssh-rdp-from-internet",
      "any rule: ingress, ports overlapping 22, 3389, peer public",
      "auto_deny",
      "SSH and RDP must not be open to the internet: use Session Manager or the VPN",
    ]);
    expect(rows[6]).toEqual([
      "production-two-approvers",
      "tags env=production",
      "require_approval",
      "2 approvals, from group S0SECURITY1, in C0SGPROD001, expires after 24 h: a production group: two security approvers",
    ]);
    expect(rows[8]?.[1]).toBe(
      "verified requester; kind add; every rule: ingress, protocol tcp, ports within 443, peer within 10.0.0.0/8, 172.16.0.0/12",
    );
    // A creation is never left to the engine's default: its egress stays when no rule names it.
    expect(rows[10]?.slice(1, 3)).toEqual([
      "a new group's default egress (kind create) no rule matches",
      "exempt",
    ]);
    expect(rows[11]).toEqual([
      "account 444455556666",
      "changes in 444455556666",
      "notify",
      "nothing is reverted (roll-out)",
    ]);
  });

  it("describes the legacy switches and an empty match", () => {
    const rows = describePolicy(
      policyFromLegacy({
        systemRoleArns: ["arn:aws:iam::1:role/sys"],
        exemptPrincipals: [],
        maxEventAgeSeconds: 300,
        autoDenyWithoutDescription: true,
      }),
    );
    expect(rows.slice(1).map((r) => r.slice(0, 3))).toEqual([
      ["system-roles", "principal arn:aws:iam::1:role/sys", "ignore"],
      ["max-event-age", "event over 300 s late", "notify"],
      ["require-description", "kind add, modify, drift; any rule: no description", "auto_deny"],
      ["default", "anything else", "require_approval"],
      ["default", "a new group's default egress (kind create) no rule matches", "exempt"],
    ]);
    expect(describeMatch({ name: "x", match: {}, action: "notify" })).toBe("any change");
  });
});
