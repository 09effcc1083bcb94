/**
 * CreateSecurityGroup: a new group comes with a default egress rule (all traffic to 0.0.0.0/0).
 * The member adopts the group at once with its creation defaults, so the drift check need not wait
 * for a sweep to meet it; the policy says whether the default egress stays (the default: nobody
 * is surprised) or is revoked. Pure: the event in, the group and the policy's word out.
 *
 * The policy sees the default egress as a change of kind `create` (kind.ts's policyKind): an
 * `add` of the egress rules, eventName CreateSecurityGroup. Only a rule that matches it decides:
 *   - no rule matches, or exempt / auto_approve / ignore / notify: the egress stays;
 *   - auto_deny: the egress is revoked and an auto_denied notice is filed (nobody is asked; the
 *     requester and the monitoring channel learn why);
 *   - require_approval: the egress is revoked and filed for a person; Approve puts it back.
 * The engine's own default (require_approval, rule "default") does not apply to a creation.
 * In an account the policy rolls out in notify mode nothing is reverted, a creation included:
 * auto_deny and require_approval leave the egress in place and file it for a person, marked "not
 * enforced in this account" (Approve keeps it, Deny revokes it), as every other change there.
 */
import type { AddChange } from "./change.js";
import { CREATE_GROUP_EVENT_NAME, MalformedEventError, validateChange } from "./cloudtrail.js";
import { readRecordHeader } from "./cloudtrail-record.js";
import { creationDefaults } from "./drift.js";
import { isObject, str } from "./json.js";
import { accountMode, DEFAULT_RULE, decide } from "./policy/engine.js";
import type { Policy, PolicyAction, PolicyFacts, PolicyMode } from "./policy/types.js";
import { type Requester, requesterFromCloudTrail } from "./requester.js";
import { type Rule, ruleKey } from "./rule.js";

export interface CreatedGroup {
  eventName: typeof CREATE_GROUP_EVENT_NAME;
  eventId: string;
  eventTime: string;
  account: string;
  region: string;
  requester: Requester;
  groupId: string;
  groupName?: string;
  vpcId?: string;
}

export type CreateGroupParse =
  | { ignored: true; reason: string; eventId?: string }
  | { ignored: false; created: CreatedGroup };

/**
 * The group a CreateSecurityGroup event made: requestParameters {groupName, groupDescription,
 * vpcId?}, responseElements {requestId, _return, groupId} (test/fixtures/cloudtrail/other/
 * CreateSecurityGroup.json, a real record).
 */
export function parseCreateGroupEvent(event: unknown): CreateGroupParse {
  const read = readRecordHeader(event, CREATE_GROUP_EVENT_NAME, "no group was made");
  if (read.ignored) return read;
  const { detail, eventId, eventTime, account, region } = read.header;
  const params = isObject(detail.requestParameters) ? detail.requestParameters : {};
  const response = isObject(detail.responseElements) ? detail.responseElements : {};
  const groupId = str(response.groupId) ?? str(response.GroupId);
  if (!groupId)
    throw new MalformedEventError("CreateSecurityGroup's responseElements has no groupId");
  const groupName = str(params.groupName) ?? str(params.GroupName);
  const vpcId = str(params.vpcId) ?? str(params.VpcId);
  return {
    ignored: false,
    created: {
      eventName: CREATE_GROUP_EVENT_NAME,
      eventId,
      eventTime,
      account,
      region,
      requester: requesterFromCloudTrail(detail),
      groupId,
      ...(groupName ? { groupName } : {}),
      ...(vpcId ? { vpcId } : {}),
    },
  };
}

/** The live egress rules of the new group that are its default egress (with their ids). */
export function defaultEgress(created: CreatedGroup, live: readonly Rule[]): Rule[] {
  const keys = new Set(
    creationDefaults({ groupId: created.groupId, groupName: created.groupName })
      .filter((r) => r.direction === "egress")
      .map(ruleKey),
  );
  return live.filter((r) => r.direction === "egress" && keys.delete(ruleKey(r)));
}

/** The default egress as the change the policy (and, when revoked, the hub) sees. */
export function createChange(created: CreatedGroup, egress: readonly Rule[]): AddChange {
  const change: AddChange = {
    eventName: created.eventName,
    eventId: created.eventId,
    eventTime: created.eventTime,
    account: created.account,
    region: created.region,
    requester: created.requester,
    groupId: created.groupId,
    kind: "add",
    direction: "egress",
    rules: [...egress],
  };
  validateChange(change);
  return change;
}

/** What a restrictive rule said of the default egress: whether it is carried out is the mode's. */
interface Restricted {
  action: "auto_deny" | "require_approval";
  rule: string;
  reason: string;
  /** require_approval only: as the hub will ask (never fewer than the requester needs). */
  approvals?: number;
}

export type CreateGroupDecision =
  | {
      /** The egress stays and nothing is filed. */
      revoke: false;
      reason: string;
      /** The matching rule and its (permissive) action; both absent when no rule matched. */
      rule?: string;
      action?: Exclude<PolicyAction, "auto_deny" | "require_approval">;
      /** The account's mode (accountMode). */
      mode: PolicyMode;
    }
  | (Restricted & {
      /** The member revokes the egress now (auto_deny: a notice; require_approval: a request). */
      revoke: true;
      mode: "enforce";
    })
  | NotEnforced;

/**
 * A notify-mode account: the egress stays, and the member files what the rule would have done
 * for a person, marked not enforced (Approve keeps it, Deny revokes it).
 */
export type NotEnforced = Restricted & { revoke: false; notEnforced: true; mode: "notify" };

export const KEEP_DEFAULT_EGRESS_REASON =
  "no policy rule matches the new group's creation: its default egress stays";

/**
 * Whether the default egress stays (see the header): the engine's `decide`, except that its own
 * default (no rule matching: require_approval) keeps the egress, and that in a notify-mode
 * account a revoking rule is not carried out. The member acts on it, and `explain --policy`
 * shows it.
 */
export function createGroupDecision(
  change: AddChange,
  facts: PolicyFacts,
  policy: Policy,
): CreateGroupDecision {
  if (change.rules.length === 0) {
    return {
      revoke: false,
      reason: "the group has no default egress",
      mode: accountMode(policy, change.account, facts),
    };
  }
  const decision = decide(change, facts, policy);
  const { action, rule, reason, mode } = decision;
  if (rule === DEFAULT_RULE) return { revoke: false, reason: KEEP_DEFAULT_EGRESS_REASON, mode };
  if (action !== "auto_deny" && action !== "require_approval") {
    return { revoke: false, action, rule, reason, mode };
  }
  const restricted: Restricted = {
    action,
    rule,
    reason,
    ...(action === "require_approval" && decision.approvals !== undefined
      ? { approvals: decision.approvals }
      : {}),
  };
  if (mode === "notify") {
    const kept: NotEnforced = { ...restricted, revoke: false, notEnforced: true, mode };
    return kept;
  }
  return { ...restricted, revoke: true, mode };
}
