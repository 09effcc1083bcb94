/**
 * `explain --policy` and the member agree on the calls that widen rules without naming one:
 * CreateSecurityGroup and ModifyManagedPrefixList. Each case runs the member's revert handler
 * (its real routing and use cases, the policy loaded as production loads it) on an in-memory
 * account, and explain on the same event with the same policy text and, as --baseline, the same
 * rules: what the member did (kept or revoked, reverted or left, ignored) and why (the rule and
 * its reason, the EC2 calls) must be what explain says.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { driftEventId, requestIdFor } from "../../src/adapters/ids.js";
import type { MemberDeps } from "../../src/app/member/index.js";
import { governedEventRoute } from "../../src/domain/cloudtrail.js";
import {
  explainContract,
  explainEvent,
  explainPolicyFromText,
  ruleToJson,
} from "../../src/domain/explain.js";
import { verifyRequester } from "../../src/domain/identity.js";
import type { ChangeMessage } from "../../src/domain/messages.js";
import { describeOperation, type Ec2Operation, revertPlan } from "../../src/domain/plan.js";
import {
  decide,
  enforcedAction,
  type PolicyAction,
  parsePolicyText,
} from "../../src/domain/policy/index.js";
import {
  type Ec2SecurityGroupRule,
  type Rule,
  ruleFromSecurityGroupRule,
} from "../../src/domain/rule.js";
import { createRevertHandler } from "../../src/handlers/revertSecurityGroup.js";
import type { Baselines, EventLedger } from "../../src/ports/baselines.js";
import { CountingMetrics } from "../../src/ports/metrics.js";
import type { GroupInfo, PrefixListInfo, SecurityGroups } from "../../src/ports/security-groups.js";
import {
  type Json,
  loadFixture,
  PARTNER_LIST,
  PARTNER_LIST_RULES,
  REPO_ROOT,
} from "../support/domain-fixtures.js";
import { MemoryLog } from "../support/hub-harness.js";
import { RecordingHubLink } from "../support/member-deps.js";

const EXAMPLE_TEXT = readFileSync(join(REPO_ROOT, "policy.example.json"), "utf8");
const NEW_GROUP = "sg-0f3a9c2b7d1e4a5b6";
const KEPT: readonly PolicyAction[] = ["exempt", "auto_approve", "notify", "ignore"];

/** One account and region of EC2, in memory: rules, groups, prefix lists; writes recorded. */
class MemoryEc2 implements SecurityGroups {
  readonly executed: Ec2Operation[] = [];
  constructor(
    private readonly rules: { groupId: string; rule: Rule }[],
    private readonly groups: GroupInfo[],
    private readonly lists: PrefixListInfo[],
  ) {}
  async execute(op: Ec2Operation) {
    this.executed.push(op);
    return { created: [] };
  }
  async *describeRules(groupIds?: readonly string[]) {
    for (const r of this.rules) if (!groupIds || groupIds.includes(r.groupId)) yield r;
  }
  async *describeGroups(groupIds?: readonly string[]) {
    for (const g of this.groups) if (!groupIds || groupIds.includes(g.groupId)) yield g;
  }
  async findGroupByName(name: string) {
    return this.groups.find((g) => g.groupName === name);
  }
  async describeGroup(groupId: string) {
    return this.groups.find((g) => g.groupId === groupId);
  }
  async describePrefixList(prefixListId: string) {
    return this.lists.find((l) => l.prefixListId === prefixListId);
  }
}

interface Account {
  /** As DescribeSecurityGroupRules lists them: the member reads them, explain gets them as --baseline. */
  rules: Ec2SecurityGroupRule[];
  groups?: GroupInfo[];
  lists?: PrefixListInfo[];
}

/** The member on `account`, deciding with `policyText` as production loads POLICY. */
function member(event: Json, policyText: string, account: Account) {
  const detail = event.detail as Json;
  const ec2 = new MemoryEc2(
    account.rules.map((r) => ({
      groupId: r.GroupId as string,
      rule: ruleFromSecurityGroupRule(r),
    })),
    account.groups ?? [],
    account.lists ?? [],
  );
  const hub = new RecordingHubLink();
  const log = new MemoryLog();
  const adopted: string[] = [];
  /** The rules each adoption approved, and the changes left open (live, for a person). */
  const approved: Rule[][] = [];
  const opened: { eventId: string; code?: string }[] = [];
  const baselines = {
    read: async () => undefined,
    adopt: async (groupId: string, rules: Rule[]) => {
      adopted.push(groupId);
      approved.push(rules);
    },
    update: async () => {},
    openChange: async (_groupId: string, open: { eventId: string; code?: string }) => {
      opened.push({ eventId: open.eventId, ...(open.code ? { code: open.code } : {}) });
    },
  } as unknown as Baselines;
  const ledger = {
    receive: async () => undefined,
    record: async () => true,
    markPublished: async () => {},
  } as unknown as EventLedger;
  const deps: MemberDeps = {
    securityGroups: ec2,
    baselines,
    ledger,
    hub,
    // Received a second after the call: never late.
    clock: () => new Date(Date.parse(detail.eventTime as string) + 1000),
    log,
    metrics: new CountingMetrics(),
    ids: { requestIdFor, driftEventId },
    config: {
      account: detail.recipientAccountId as string,
      region: detail.awsRegion as string,
      policy: {
        systemRoleArns: [],
        exemptPrincipals: [],
        maxEventAgeSeconds: 300,
        autoDenyWithoutDescription: false,
      },
      policyFile: parsePolicyText(policyText),
      people: { people: [], sourceIdentityRoles: [] },
      drift: { graceSeconds: 0, maxPerSweep: 100 },
      deployment: "test",
    },
  };
  return { deps, ec2, hub, log, adopted, approved, opened };
}

/** Runs the member's handler and explain (--json --policy --baseline) on the same event. */
async function both(event: Json, policyText: string, account: Account) {
  const m = member(event, policyText, account);
  const status = await createRevertHandler(() => m.deps)(event);
  const messages: ChangeMessage[] = m.hub.changes();
  const baseline = account.rules.map((r) => ({
    groupId: r.GroupId as string,
    rule: ruleFromSecurityGroupRule(r),
  }));
  const explained = explainContract(
    explainEvent(event, baseline, explainPolicyFromText(policyText, "policy.json")),
  ) as Json;
  const logged = m.log.lines.find((l) => l.message === status)?.attributes ?? {};
  return { status, messages, explained, logged, ...m };
}

type Mutate = (detail: Json) => void;

function fixture(name: string, ...mutate: Mutate[]): Json {
  const event = loadFixture(name);
  for (const m of mutate) m(event.detail as Json);
  return event;
}

const byRole =
  (role: string): Mutate =>
  (d) => {
    d.userIdentity = {
      type: "AssumedRole",
      principalId: "AROAEXAMPLE:run-1",
      arn: `arn:aws:sts::${d.recipientAccountId}:assumed-role/${role}/run-1`,
      accountId: d.recipientAccountId,
      sessionContext: {
        sessionIssuer: {
          type: "Role",
          arn: `arn:aws:iam::${d.recipientAccountId}:role/${role}`,
          userName: role,
        },
      },
    };
  };

const inStaging: Mutate = (d) => {
  d.recipientAccountId = "444455556666";
};

const policyOf = (rules: unknown[]) => JSON.stringify({ rules });
/** The same rules, with the staging account rolled out in notify mode (as the example does). */
const stagingNotifyOf = (rules: unknown[]) =>
  JSON.stringify({ accounts: { "444455556666": { mode: "notify" } }, rules });

// ---- CreateSecurityGroup ----

const DEFAULT_EGRESS: Ec2SecurityGroupRule = {
  SecurityGroupRuleId: "sgr-0eeeeeeeeeeeeeee1",
  GroupId: NEW_GROUP,
  IsEgress: true,
  IpProtocol: "-1",
  FromPort: -1,
  ToPort: -1,
  CidrIpv4: "0.0.0.0/0",
};

const NEW_ACCOUNT: Account = {
  rules: [DEFAULT_EGRESS],
  groups: [
    {
      groupId: NEW_GROUP,
      groupName: "prod-webapp-webserver-security",
      vpcId: "vpc-0a1b2c3d4e5f60718",
    },
  ],
};

const ASK_FOR_NEW_GROUPS_RULE = {
  name: "new-groups-reviewed",
  match: { kind: "create" },
  action: "require_approval",
  approvals: 1,
  reason: "new groups are reviewed",
};
const NEW_GROUPS_CLOSED_RULE = {
  name: "new-groups-closed",
  match: { kind: "create" },
  action: "auto_deny",
  reason: "new groups start with no egress",
};

const CREATE_CASES: [string, Json, string, PolicyAction][] = [
  [
    "the example policy, alice: new-group-default-egress keeps it",
    fixture("other/CreateSecurityGroup.json"),
    EXAMPLE_TEXT,
    "auto_approve",
  ],
  [
    "the example policy, break-glass: exempt, kept",
    fixture("other/CreateSecurityGroup.json", byRole("BreakGlassAdmin")),
    EXAMPLE_TEXT,
    "exempt",
  ],
  [
    "a policy about added rules only: no rule matches a creation, kept",
    fixture("other/CreateSecurityGroup.json"),
    policyOf([{ name: "no-adds", match: { kind: "add" }, action: "auto_deny", reason: "no" }]),
    "exempt",
  ],
  [
    "a description rule naming no kind: the egress has none, revoked",
    fixture("other/CreateSecurityGroup.json"),
    policyOf([
      { name: "described", match: { descriptionMissing: true }, action: "auto_deny", reason: "no" },
    ]),
    "auto_deny",
  ],
  [
    "a kind create rule asking a person: revoked and filed",
    fixture("other/CreateSecurityGroup.json"),
    policyOf([ASK_FOR_NEW_GROUPS_RULE]),
    "require_approval",
  ],
  [
    "a kind create notify rule: kept",
    fixture("other/CreateSecurityGroup.json"),
    policyOf([{ name: "tell", match: { kind: "create" }, action: "notify", reason: "told" }]),
    "notify",
  ],
  [
    "the example policy in a notify-mode account: kept, as in any account",
    fixture("other/CreateSecurityGroup.json", inStaging),
    EXAMPLE_TEXT,
    "auto_approve",
  ],
  [
    "a kind create auto_deny rule in a notify-mode account: kept, filed as not enforced",
    fixture("other/CreateSecurityGroup.json", inStaging),
    stagingNotifyOf([NEW_GROUPS_CLOSED_RULE]),
    "auto_deny",
  ],
  [
    "a kind create rule asking a person in a notify-mode account: kept, filed as not enforced",
    fixture("other/CreateSecurityGroup.json", inStaging),
    stagingNotifyOf([ASK_FOR_NEW_GROUPS_RULE]),
    "require_approval",
  ],
  [
    "the same auto_deny rule in the enforced account: revoked",
    fixture("other/CreateSecurityGroup.json"),
    stagingNotifyOf([NEW_GROUPS_CLOSED_RULE]),
    "auto_deny",
  ],
];

describe("CreateSecurityGroup: explain --policy says what the member does", () => {
  it.each(CREATE_CASES)("%s", async (_what, event, policyText, action) => {
    expect(governedEventRoute(event)).toBe("createGroup");
    const r = await both(event, policyText, {
      ...NEW_ACCOUNT,
      rules: [{ ...DEFAULT_EGRESS }],
    });
    const policy = r.explained.policy as Json;
    const change = r.explained.change as Json;
    const account = (event.detail as Json).recipientAccountId;
    const notifyMode = parsePolicyText(policyText).accounts?.[account as string]?.mode === "notify";
    expect(r.explained.ignored).toBe(false);
    expect(policy.action).toBe(action);
    // As for any change: the mode is shown for an account in notify mode, whatever the action.
    expect(policy.mode).toBe(notifyMode ? "notify" : undefined);
    // explain shows the egress the member judged, by its id.
    expect(change.rules).toStrictEqual([
      {
        protocol: "all",
        fromPort: null,
        toPort: null,
        cidrIpv4: "0.0.0.0/0",
        ruleId: "sgr-0eeeeeeeeeeeeeee1",
      },
    ]);
    expect(r.adopted).toEqual([NEW_GROUP]);
    const egressApproved = r.approved[0]?.some(
      (x) => x.ruleId === DEFAULT_EGRESS.SecurityGroupRuleId,
    );

    if (KEPT.includes(action)) {
      // Kept: no EC2 write, nothing filed, the member's reason is explain's.
      expect(r.status).toBe("adopted");
      expect(r.ec2.executed).toEqual([]);
      expect(r.messages).toEqual([]);
      expect(r.logged.reason).toBe(policy.reason);
      expect(egressApproved).toBe(true);
      return;
    }
    // Filed: the change is the one explain shows, and the egress is not approved (revoked, or
    // waiting for a person).
    const [message] = r.messages;
    expect(r.messages).toHaveLength(1);
    if (!message) throw new Error("nothing filed");
    expect(message.change.eventName).toBe("CreateSecurityGroup");
    expect(
      message.change.kind === "add" && message.change.rules.map((x) => ruleToJson(x)),
    ).toStrictEqual(change.rules);
    expect(egressApproved).toBe(false);

    if (notifyMode) {
      // Not enforced in this account: nothing revoked, the policy's word posted with its mode,
      // the change left open (Approve keeps it, Deny revokes it with explain's revert).
      expect(r.status).toBe("revert_failed");
      expect(r.ec2.executed).toEqual([]);
      expect(message.revertError?.code).toBe("NotEnforced");
      expect(message.revertError?.message).toContain(`policy rule "${policy.rule}" would`);
      expect(message.policy).toStrictEqual({
        action: enforcedAction({ action, mode: "notify" }),
        rule: policy.rule,
        reason: policy.reason,
        mode: "notify",
      });
      expect(r.opened).toEqual([{ eventId: message.change.eventId, code: "NotEnforced" }]);
      expect(revertPlan(message.change).map(describeOperation)).toStrictEqual(r.explained.revert);
    } else {
      // Revoked: exactly the calls explain plans.
      expect(r.status).toBe("reverted");
      expect(r.ec2.executed.map(describeOperation)).toStrictEqual(r.explained.revert);
      expect(message.revertError).toBeUndefined();
      expect(r.opened).toEqual([]);
    }
    if (action === "auto_deny" && !notifyMode) {
      expect(message.policy).toStrictEqual({
        status: "auto_denied",
        rule: policy.rule,
        reason: policy.reason,
      });
      return;
    }
    if (!notifyMode) expect(message.policy).toBeUndefined();
    // The hub routes it with decide on the filed change and the facts the member reported: the
    // rule explain names, and, for a person, the approvals explain counts.
    const filed = message.change;
    const hub = decide(
      filed,
      {
        verification: verifyRequester(filed.requester, r.deps.config.people),
        group: {
          ...(message.groupName ? { name: message.groupName } : {}),
          ...(message.group?.vpcId ? { vpcId: message.group.vpcId } : {}),
        },
        ...(message.receivedAt ? { receivedAt: new Date(message.receivedAt) } : {}),
      },
      parsePolicyText(policyText),
    );
    expect(hub).toMatchObject({ action, rule: policy.rule, reason: policy.reason });
    expect(hub.mode).toBe(notifyMode ? "notify" : "enforce");
    if (action === "require_approval") expect(hub.approvals).toBe(policy.approvals);
  });
});

// ---- ModifyManagedPrefixList ----

const SSH_FROM_LIST: Ec2SecurityGroupRule = PARTNER_LIST_RULES[0];
const HTTPS_TO_LIST: Ec2SecurityGroupRule = PARTNER_LIST_RULES[1];
const UNRELATED: Ec2SecurityGroupRule = {
  SecurityGroupRuleId: "sgr-0a1b2c3d4e5f60003",
  GroupId: "sg-0bbbbbbbbbbbbbbb2",
  IsEgress: false,
  IpProtocol: "tcp",
  FromPort: 443,
  ToPort: 443,
  CidrIpv4: "10.0.0.0/8",
  Description: "internal",
};

const PARTNER: PrefixListInfo = {
  prefixListId: PARTNER_LIST,
  name: "partner-ranges",
  ownerId: "111122223333",
};

const LIST_CASES: [string, Json, string, Account, PolicyAction | "ignored"][] = [
  [
    "the example policy: 0.0.0.0/0 added to a list an SSH rule names is denied",
    fixture("widening/ModifyManagedPrefixList/add-remove-cli.json"),
    EXAMPLE_TEXT,
    { rules: [SSH_FROM_LIST, HTTPS_TO_LIST, UNRELATED], lists: [PARTNER] },
    "auto_deny",
  ],
  [
    "the example policy: the HTTPS egress rule alone goes to two approvers",
    fixture("widening/ModifyManagedPrefixList/add-remove-cli.json"),
    EXAMPLE_TEXT,
    { rules: [HTTPS_TO_LIST, UNRELATED], lists: [PARTNER] },
    "require_approval",
  ],
  [
    "the example policy, break-glass: exempt, the list stands",
    fixture("widening/ModifyManagedPrefixList/add-remove-cli.json", byRole("BreakGlassAdmin")),
    EXAMPLE_TEXT,
    { rules: [SSH_FROM_LIST], lists: [PARTNER] },
    "exempt",
  ],
  [
    "the example policy in a notify-mode account: decided, and left as it is",
    fixture("widening/ModifyManagedPrefixList/add-remove-cli.json", inStaging),
    EXAMPLE_TEXT,
    {
      rules: [{ ...SSH_FROM_LIST }],
      lists: [{ ...PARTNER, ownerId: "444455556666" }],
    },
    "auto_deny",
  ],
  [
    "no governed rule names the list: ignored by both",
    fixture("widening/ModifyManagedPrefixList/add-remove-cli.json"),
    EXAMPLE_TEXT,
    { rules: [UNRELATED], lists: [PARTNER] },
    "ignored",
  ],
];

describe("ModifyManagedPrefixList: explain --policy says what the member does", () => {
  it.each(LIST_CASES)("%s", async (_what, event, policyText, account, expected) => {
    expect(governedEventRoute(event)).toBe("prefixList");
    const r = await both(event, policyText, account);
    if (expected === "ignored") {
      expect(r.status).toBe("ignored");
      expect(r.explained).toStrictEqual({ ignored: true, reason: r.logged.reason });
      expect(r.ec2.executed).toEqual([]);
      expect(r.messages).toEqual([]);
      return;
    }
    const policy = r.explained.policy as Json;
    expect(policy.action).toBe(expected);
    const [message] = r.messages;
    expect(r.messages).toHaveLength(1);
    if (!message) throw new Error("nothing filed");
    // The member's decision is explain's: the rule, its reason, the mode; the action enforced.
    const enforced = enforcedAction({
      action: policy.action as PolicyAction,
      mode: (policy.mode as "notify" | undefined) ?? "enforce",
    });
    expect(message.policy).toMatchObject({
      action: enforced,
      rule: policy.rule,
      reason: policy.reason,
    });
    expect(message.policy?.mode).toBe(policy.mode);
    // The change filed names the groups and rules explain lists.
    const change = r.explained.change as Json;
    expect(message.change.kind).toBe("prefixList");
    expect(message.change.groupId).toBe(change.groupId);
    if (message.change.kind === "prefixList") {
      expect(
        message.change.references.map((ref) => ({
          groupId: ref.groupId,
          rules: ref.rules.map((x) => ruleToJson(x, true)),
        })),
      ).toStrictEqual((change.prefixList as Json).references);
    }
    // Reverted exactly as explain plans it, or, when the policy lets it stand, not at all.
    const reverts = enforced === "auto_deny" || enforced === "require_approval";
    expect(r.ec2.executed.map(describeOperation)).toStrictEqual(reverts ? r.explained.revert : []);
    expect(r.status).toBe(
      reverts ? "reverted" : enforced === "notify" ? "revert_failed" : "exempt",
    );
  });
});
