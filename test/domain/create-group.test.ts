import { describe, expect, it } from "vitest";
import {
  createChange,
  createGroupDecision,
  defaultEgress,
  KEEP_DEFAULT_EGRESS_REASON,
  parseCreateGroupEvent,
} from "../../src/domain/create-group.js";
import { parseChangeMessage } from "../../src/domain/messages.js";
import { revertPlan } from "../../src/domain/plan.js";
import type { Policy, PolicyFacts } from "../../src/domain/policy/types.js";
import type { Rule } from "../../src/domain/rule.js";
import { loadFixture } from "../support/domain-fixtures.js";
import { facts } from "./policy/support.js";

const FIXTURE = "other/CreateSecurityGroup.json";
const EGRESS: Rule = {
  direction: "egress",
  protocol: "all",
  fromPort: null,
  toPort: null,
  peer: { kind: "cidrIpv4", cidr: "0.0.0.0/0" },
  ruleId: "sgr-0123456789abcdef0",
};

function created() {
  const parsed = parseCreateGroupEvent(loadFixture(FIXTURE));
  if (parsed.ignored) throw new Error(parsed.reason);
  return parsed.created;
}

const policy = (action: Policy["rules"][number]["action"], kind = "create"): Policy => ({
  rules: [
    {
      name: "no-open-egress",
      match: { kind: kind as "create" },
      action,
      reason: "new groups start closed",
    },
  ],
});

describe("CreateSecurityGroup", () => {
  it("parses the real record: the group id from responseElements, its name and VPC", () => {
    expect(created()).toMatchObject({
      eventName: "CreateSecurityGroup",
      groupId: "sg-0f3a9c2b7d1e4a5b6",
      groupName: "prod-webapp-webserver-security",
      vpcId: "vpc-0a1b2c3d4e5f60718",
      account: "111122223333",
      region: "us-east-1",
    });
  });

  it("ignores a failed call; refuses a success without a group id", () => {
    const failed = structuredClone(loadFixture(FIXTURE)) as { detail: Record<string, unknown> };
    failed.detail.errorCode = "Client.InvalidGroup.Duplicate";
    expect(parseCreateGroupEvent(failed)).toMatchObject({ ignored: true });
    const bad = structuredClone(loadFixture(FIXTURE)) as { detail: Record<string, unknown> };
    bad.detail.responseElements = { requestId: "x", _return: true };
    expect(() => parseCreateGroupEvent(bad)).toThrow(/groupId/);
  });

  it("the default egress is the live all-traffic rule to 0.0.0.0/0, nothing else", () => {
    const extra: Rule = {
      ...EGRESS,
      protocol: "tcp",
      fromPort: 443,
      toPort: 443,
      ruleId: "sgr-0123456789abcdef1",
    };
    expect(defaultEgress(created(), [EGRESS, extra])).toEqual([EGRESS]);
  });

  it("kept by default: no rule, or a rule about added rules, does not revoke it", () => {
    const change = createChange(created(), [EGRESS]);
    expect(createGroupDecision(change, facts(), { rules: [] })).toEqual({
      revoke: false,
      reason: KEEP_DEFAULT_EGRESS_REASON,
      mode: "enforce",
    });
    expect(createGroupDecision(change, facts(), policy("auto_deny", "add")).revoke).toBe(false);
    // A permissive rule that matches keeps it, and says which rule and action.
    expect(createGroupDecision(change, facts(), policy("notify"))).toEqual({
      revoke: false,
      action: "notify",
      rule: "no-open-egress",
      reason: "new groups start closed",
      mode: "enforce",
    });
  });

  it("revoked when a kind create rule auto-denies it or asks a person", () => {
    const change = createChange(created(), [EGRESS]);
    expect(createGroupDecision(change, facts(), policy("auto_deny"))).toEqual({
      revoke: true,
      action: "auto_deny",
      rule: "no-open-egress",
      reason: "new groups start closed",
      mode: "enforce",
    });
    expect(createGroupDecision(change, facts(), policy("require_approval"))).toEqual({
      revoke: true,
      action: "require_approval",
      rule: "no-open-egress",
      reason: "new groups start closed",
      approvals: 1,
      mode: "enforce",
    });
    // As the hub will ask: never fewer approvals than an unverified requester needs.
    expect(
      createGroupDecision(
        change,
        facts({ verification: { verified: false, reason: "not mapped" } }),
        policy("require_approval"),
      ),
    ).toMatchObject({ approvals: 2 });
    expect(revertPlan(change)).toEqual([
      expect.objectContaining({
        action: "revoke",
        groupId: "sg-0f3a9c2b7d1e4a5b6",
        direction: "egress",
        securityGroupRuleIds: ["sgr-0123456789abcdef0"],
      }),
    ]);
  });

  // The fixture's account, 111122223333, in each of the ways a policy sets its mode.
  const notifyHere: [string, Pick<Policy, "mode" | "accounts">, Partial<PolicyFacts>][] = [
    ["its accounts entry", { accounts: { "111122223333": { mode: "notify" } } }, {}],
    ["the policy's mode", { mode: "notify" }, {}],
    ["the deployment's mode", {}, { mode: "notify" }],
  ];

  it.each(notifyHere)(
    "an account in notify mode (%s): a revoking rule is not carried out, the egress stays for a person",
    (_how, mode, more) => {
      const change = createChange(created(), [EGRESS]);
      const f = facts(more);
      expect(createGroupDecision(change, f, { ...policy("auto_deny"), ...mode })).toEqual({
        revoke: false,
        notEnforced: true,
        action: "auto_deny",
        rule: "no-open-egress",
        reason: "new groups start closed",
        mode: "notify",
      });
      expect(createGroupDecision(change, f, { ...policy("require_approval"), ...mode })).toEqual({
        revoke: false,
        notEnforced: true,
        action: "require_approval",
        rule: "no-open-egress",
        reason: "new groups start closed",
        approvals: 1,
        mode: "notify",
      });
      // What keeps it anyway keeps it there too, nothing to file; the mode is said.
      for (const kept of [{ rules: [] }, policy("notify"), policy("auto_deny", "add")]) {
        expect(createGroupDecision(change, f, { ...kept, ...mode })).toMatchObject({
          revoke: false,
          mode: "notify",
        });
        expect(createGroupDecision(change, f, { ...kept, ...mode })).not.toHaveProperty(
          "notEnforced",
        );
      }
    },
  );

  it("an account entry in enforce mode beats a notify-mode policy: revoked", () => {
    const change = createChange(created(), [EGRESS]);
    const decision = createGroupDecision(change, facts({ mode: "notify" }), {
      ...policy("auto_deny"),
      mode: "notify",
      accounts: { "111122223333": { mode: "enforce" } },
    });
    expect(decision).toMatchObject({ revoke: true, action: "auto_deny", mode: "enforce" });
    // Another account in notify mode changes nothing here.
    expect(
      createGroupDecision(change, facts(), {
        ...policy("auto_deny"),
        accounts: { "444455556666": { mode: "notify" } },
      }),
    ).toMatchObject({ revoke: true, mode: "enforce" });
  });

  it("travels to the hub as an add with eventName CreateSecurityGroup", () => {
    const change = createChange(created(), [EGRESS]);
    const message = parseChangeMessage({
      type: "change",
      change,
      revertedAt: "2024-11-04T13:58:13Z",
      revertMs: 80,
    });
    expect(message.change).toEqual(change);
  });
});
