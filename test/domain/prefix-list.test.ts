import { describe, expect, it } from "vitest";
import { changedRules, type PrefixListChange, takenRules } from "../../src/domain/change.js";
import {
  GOVERNED_EVENT_NAMES,
  GOVERNED_EVENT_PATTERN,
  governedEventRoute,
  MalformedEventError,
  matchesGovernedPattern,
  parseCloudTrailEvent,
} from "../../src/domain/cloudtrail.js";
import { parseChangeMessage } from "../../src/domain/messages.js";
import { applyPlan, revertPlan } from "../../src/domain/plan.js";
import { ruleViews } from "../../src/domain/policy/engine.js";
import {
  isAwsManaged,
  type PrefixListModification,
  parsePrefixListEvent,
  prefixListChange,
  prefixListChangeOf,
  referencesTo,
  reportedPrefixList,
  unfitPrefixList,
} from "../../src/domain/prefix-list.js";
import type { Rule } from "../../src/domain/rule.js";
import { actionText, ruleRows } from "../../src/domain/slack/describe.js";
import { loadFixture } from "../support/domain-fixtures.js";

const CONSOLE = "widening/ModifyManagedPrefixList/add-entry-console.json";
const CLI = "widening/ModifyManagedPrefixList/add-remove-cli.json";

function modification(name: string): PrefixListModification {
  const parsed = parsePrefixListEvent(loadFixture(name));
  if (parsed.ignored) throw new Error(parsed.reason);
  return parsed.modification;
}

const SSH: Rule = {
  direction: "ingress",
  protocol: "tcp",
  fromPort: 22,
  toPort: 22,
  peer: { kind: "prefixList", prefixListId: "pl-04b7e2c9a1d3f5e68" },
  description: "ssh from partners",
  ruleId: "sgr-0a1b2c3d4e5f60718",
};
const HTTPS: Rule = { ...SSH, fromPort: 443, toPort: 443, ruleId: "sgr-0a1b2c3d4e5f60719" };
const OTHER: Rule = {
  ...SSH,
  peer: { kind: "prefixList", prefixListId: "pl-0aaaaaaaaaaaaaaaa" },
  ruleId: "sgr-0a1b2c3d4e5f6071a",
};

const CUSTOMER = {
  prefixListId: "pl-04b7e2c9a1d3f5e68",
  name: "partner-ranges",
  ownerId: "111122223333",
};

function change(): PrefixListChange {
  const decided = prefixListChange(
    modification(CLI),
    CUSTOMER,
    referencesTo("pl-04b7e2c9a1d3f5e68", [
      { groupId: "sg-0bbbbbbbbbbbbbbbb", rule: HTTPS },
      { groupId: "sg-0aaaaaaaaaaaaaaaa", rule: SSH },
      { groupId: "sg-0aaaaaaaaaaaaaaaa", rule: OTHER },
      { groupId: "sg-0aaaaaaaaaaaaaaaa", rule: HTTPS },
    ]),
  );
  if (decided.ignored) throw new Error(decided.reason);
  return decided.change;
}

describe("parsePrefixListEvent", () => {
  it("reads the console's one-entry form (PascalCase wrapper, lowercase cidr, tag as a string)", () => {
    const m = modification(CONSOLE);
    expect(m).toMatchObject({
      eventName: "ModifyManagedPrefixList",
      account: "111122223333",
      region: "us-west-2",
      prefixListId: "pl-0c3516b0e5630bf3e",
      added: [{ cidr: "198.51.100.0/24", description: "My IP Range" }],
      removed: [],
    });
    expect(m.fromVersion).toBeUndefined();
    expect(m.requester.arn).toBe("arn:aws:iam::111122223333:user/alice");
  });

  it("reads several entries as an array, removals, and CurrentVersion", () => {
    const m = modification(CLI);
    expect(m.added).toEqual([
      { cidr: "0.0.0.0/0", description: "vendor-a" },
      { cidr: "192.0.2.0/24" },
    ]);
    expect(m.removed).toEqual([{ cidr: "10.20.0.0/16" }]);
    expect(m.fromVersion).toBe(3);
  });

  it("reads the camelCase form with {items: [...]} too", () => {
    const event = structuredClone(loadFixture(CLI)) as { detail: Record<string, unknown> };
    event.detail.requestParameters = {
      prefixListId: "pl-04b7e2c9a1d3f5e68",
      currentVersion: "3",
      addEntries: { items: [{ cidr: "192.0.2.0/24" }] },
    };
    const parsed = parsePrefixListEvent(event);
    expect(parsed.ignored).toBe(false);
    if (!parsed.ignored) expect(parsed.modification.added).toEqual([{ cidr: "192.0.2.0/24" }]);
  });

  it.each<[string, (d: Record<string, unknown>) => void, RegExp]>([
    ["a failed call", (d) => Object.assign(d, { errorCode: "Client.IncorrectState" }), /failed/],
    [
      "a rename",
      (d) =>
        Object.assign(d, {
          requestParameters: {
            ModifyManagedPrefixListRequest: {
              PrefixListId: "pl-0c3516b0e5630bf3e",
              PrefixListName: "x",
            },
          },
        }),
      /moved no entry/,
    ],
    ["another call", (d) => Object.assign(d, { eventName: "CreateManagedPrefixList" }), /is not/],
  ])("ignores %s", (_what, mutate, reason) => {
    const event = structuredClone(loadFixture(CONSOLE)) as { detail: Record<string, unknown> };
    mutate(event.detail);
    const parsed = parsePrefixListEvent(event);
    expect(parsed.ignored).toBe(true);
    if (parsed.ignored) expect(parsed.reason).toMatch(reason);
  });

  it("refuses an entry without a CIDR", () => {
    const event = structuredClone(loadFixture(CONSOLE)) as { detail: Record<string, unknown> };
    event.detail.requestParameters = {
      ModifyManagedPrefixListRequest: {
        PrefixListId: "pl-0c3516b0e5630bf3e",
        AddEntry: { tag: "1" },
      },
    };
    expect(() => parsePrefixListEvent(event)).toThrow(MalformedEventError);
  });
});

describe("prefixListChange", () => {
  it("names every governed group and rule that names the list, groups in id order", () => {
    const c = change();
    expect(c.kind).toBe("prefixList");
    expect(c.groupId).toBe("sg-0aaaaaaaaaaaaaaaa");
    expect(c.prefixListName).toBe("partner-ranges");
    expect(c.references).toEqual([
      { groupId: "sg-0aaaaaaaaaaaaaaaa", rules: [SSH, HTTPS] },
      { groupId: "sg-0bbbbbbbbbbbbbbbb", rules: [HTTPS] },
    ]);
  });

  it("ignores a list no governed rule names, an AWS-managed list, a list that is gone", () => {
    const m = modification(CLI);
    const none = prefixListChange(
      m,
      CUSTOMER,
      referencesTo(m.prefixListId, [{ groupId: "sg-0aaaaaaaaaaaaaaaa", rule: OTHER }]),
    );
    expect(none).toMatchObject({
      ignored: true,
      reason: expect.stringMatching(/no governed security group rule/),
    });
    const aws = prefixListChange(
      m,
      { ...CUSTOMER, ownerId: "AWS", name: "com.amazonaws.us-east-1.s3" },
      [],
    );
    expect(aws).toMatchObject({ ignored: true, reason: expect.stringMatching(/AWS-managed/) });
    expect(prefixListChange(m, undefined, [])).toMatchObject({ ignored: true });
    expect(isAwsManaged({ name: "com.amazonaws.global.cloudfront.origin-facing" })).toBe(true);
    expect(isAwsManaged({ ownerId: "111122223333", name: "office" })).toBe(false);
  });

  it("the same change prefixListChangeOf builds; the reasons for none, on their own (explain's pieces)", () => {
    const m = modification(CLI);
    const c = change();
    expect(prefixListChangeOf(m, CUSTOMER, c.references, c.groupId)).toStrictEqual(c);
    // Before the references are known (explain without --baseline): the list's change alone.
    const alone = prefixListChangeOf(m, CUSTOMER, [], "sg-00000000");
    expect(alone).toMatchObject({ references: [], added: c.added, removed: c.removed });
    expect(revertPlan(alone)).toEqual(revertPlan(c));
    expect(changedRules(alone)).toEqual([]);
    expect(unfitPrefixList(m.prefixListId, CUSTOMER)).toBeUndefined();
    expect(unfitPrefixList(m.prefixListId, undefined)).toMatch(/no longer exists/);
    expect(unfitPrefixList(m.prefixListId, { ...CUSTOMER, ownerId: "AWS" })).toMatch(/AWS-managed/);
  });

  it("reportedPrefixList: the list as the call's response names it, from an event or a bare record", () => {
    const event = loadFixture(CLI);
    const reported = {
      prefixListId: "pl-04b7e2c9a1d3f5e68",
      name: "partner-ranges",
      ownerId: "111122223333",
    };
    expect(reportedPrefixList(event)).toStrictEqual(reported);
    expect(reportedPrefixList(event.detail)).toStrictEqual(reported);
    const bare = structuredClone(event) as { detail: Record<string, unknown> };
    bare.detail.responseElements = null;
    expect(reportedPrefixList(bare)).toBeUndefined();
  });

  it("widens each rule by each added CIDR, narrows by each removed one", () => {
    const c = change();
    const widened = changedRules(c);
    // 3 rules x 2 added entries.
    expect(widened).toHaveLength(6);
    expect(widened[0]).toEqual({
      direction: "ingress",
      protocol: "tcp",
      fromPort: 22,
      toPort: 22,
      peer: { kind: "cidrIpv4", cidr: "0.0.0.0/0" },
      description: "ssh from partners",
    });
    expect(takenRules(c)).toHaveLength(3);
    const views = ruleViews(c);
    expect(views.filter((v) => !v.removed)).toHaveLength(6);
    expect(views.filter((v) => v.removed)).toHaveLength(3);
  });

  it("revert: one ModifyManagedPrefixList removing the added, adding back the removed; apply: the reverse", () => {
    const c = change();
    expect(revertPlan(c)).toEqual([
      {
        action: "modifyPrefixList",
        prefixListId: "pl-04b7e2c9a1d3f5e68",
        addEntries: [{ cidr: "10.20.0.0/16" }],
        removeEntries: [{ cidr: "0.0.0.0/0" }, { cidr: "192.0.2.0/24" }],
        rules: [],
      },
    ]);
    expect(applyPlan(c)).toEqual([
      {
        action: "modifyPrefixList",
        prefixListId: "pl-04b7e2c9a1d3f5e68",
        addEntries: [{ cidr: "0.0.0.0/0", description: "vendor-a" }, { cidr: "192.0.2.0/24" }],
        removeEntries: [{ cidr: "10.20.0.0/16" }],
        rules: [],
      },
    ]);
  });

  it("Slack: widens N rules in M groups, one row per group rule and CIDR, the worst first", () => {
    const c = change();
    expect(actionText(c)).toBe(
      "Prefix list pl-04b7e2c9a1d3f5e68 (partner-ranges): 2 entries added, 1 entry removed, widens 3 rules in 2 groups",
    );
    const rows = ruleRows(c);
    expect(rows).toHaveLength(9);
    expect(rows[0]?.text).toMatch(/sg-0aaaaaaaaaaaaaaaa.*now also: TCP port 22 from 0\.0\.0\.0\/0/);
    expect(rows[0]?.level).not.toBe("none");
  });

  it("travels to the hub: the change message schema takes it", () => {
    const c = change();
    const message = parseChangeMessage(
      JSON.stringify({
        type: "change",
        change: c,
        revertedAt: "2024-11-06T17:05:42Z",
        revertMs: 120,
      }),
    );
    expect(message.change).toEqual(c);
  });
});

describe("routing and the EventBridge pattern", () => {
  it("the pattern takes the new calls; parseCloudTrailEvent still reads only the five", () => {
    expect(GOVERNED_EVENT_NAMES).toEqual(
      expect.arrayContaining(["CreateSecurityGroup", "ModifyManagedPrefixList"]),
    );
    expect(GOVERNED_EVENT_PATTERN.detail.eventName).toContain("ModifyManagedPrefixList");
    expect(GOVERNED_EVENT_PATTERN.detail.eventName).toContain("CreateSecurityGroup");
    for (const name of [CONSOLE, "other/CreateSecurityGroup.json"]) {
      const event = loadFixture(name);
      expect(matchesGovernedPattern(event)).toBe(true);
      expect(parseCloudTrailEvent(event)).toMatchObject({ ignored: true });
    }
  });

  it("routes each event to its reader", () => {
    expect(governedEventRoute(loadFixture(CONSOLE))).toBe("prefixList");
    expect(governedEventRoute(loadFixture("other/CreateSecurityGroup.json"))).toBe("createGroup");
    expect(governedEventRoute(loadFixture("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json"))).toBe(
      "rules",
    );
    expect(governedEventRoute(loadFixture("other/iam-CreateAccessKey.json"))).toBe("rules");
    expect(governedEventRoute("nonsense")).toBe("rules");
  });
});
