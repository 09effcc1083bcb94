/**
 * storeSecurityGroupRequest: a member's change becomes a request (once per event), posted to the
 * approval and monitoring channels. The account and region are those the bus set; a message that
 * names others is refused. A late event for a change first filed as drift gives that request its
 * requester instead of filing another.
 */
import { type Origin, refusal } from "../../domain/binding.js";
import { minimumApprovals, type Verification, verifyRequester } from "../../domain/identity.js";
import type { ChangeMessage } from "../../domain/messages.js";
import {
  decide,
  enforcedAction,
  type GroupFacts,
  type PolicyDecision,
} from "../../domain/policy/index.js";
import {
  type ApprovalRequest,
  createRequest,
  missingMessages,
  type NewRequest,
  scheduled,
} from "../../domain/request.js";
import type { ChannelKind } from "../../domain/slack/index.js";
import { advance, aliasOf, type HubDeps, refreshMessages } from "./deps.js";
import { bornClaimed, ensureMessages, postHeld } from "./post.js";

const HOUR_MS = 3_600_000;

export interface StoreResult {
  request: ApprovalRequest;
  created: boolean;
  posted: ChannelKind[];
  /** The change joined a drift request (no new request was made). */
  joined?: boolean;
}

/** Refuses (logs, counts) a message from a member that names another account or region. */
export function refused(
  deps: HubDeps,
  what: string,
  claimed: { account: string; region: string },
  origin: Origin,
  extra: Record<string, unknown> = {},
): boolean {
  const why = refusal(claimed, origin, deps.config.governance);
  if (!why) return false;
  deps.metrics.count("RefusedMessage");
  deps.log.error(`refused a ${what}`, { why, origin, claimed, ...extra });
  return true;
}

export async function storeRequest(
  deps: HubDeps,
  message: ChangeMessage,
  origin: Origin,
): Promise<StoreResult | undefined> {
  const { change } = message;
  if (refused(deps, "change message", change, origin, { eventId: change.eventId }))
    return undefined;
  if (message.joinsDrift) return joinDrift(deps, message, message.joinsDrift, origin);

  const now = deps.clock();
  const verification = verifyRequester(change.requester, deps.config.people);
  const routing = route(deps, message, verification);
  const draft = scheduled(
    createRequest({
      requestId: deps.requestIdFor(change),
      change,
      verification,
      now: now.toISOString(),
      expiresAt: new Date(
        now.getTime() + (routing.expiryHours ?? deps.config.expiryHours) * HOUR_MS,
      ).toISOString(),
      accountAlias: aliasOf(deps, change.account),
      groupName: message.groupName,
      revertError: message.revertError,
      ...routing.request,
    }),
    deps.config.jobs,
  );
  // Born with its posts claimed: the creator posts them without a claim write of its own.
  const born = bornClaimed(draft, now);
  const created = await deps.requests.create(born);
  let request = created ? born : await deps.requests.get(draft.requestId);
  if (!request) throw new Error(`request ${draft.requestId} vanished after a conflicting create`);

  // A retry of the member reverted what its first attempt reported as live.
  if (!created && request.revertError && !message.revertError && request.status === "pending") {
    const now = await advance(deps, request, {
      type: "reverted_later",
      at: deps.clock().toISOString(),
    });
    if (now) {
      request = now;
      await refreshMessages(deps, request);
    }
  }
  const held = created ? missingMessages(request) : [];
  const { request: stored, posted } =
    held.length > 0 ? await postHeld(deps, request, held) : await ensureMessages(deps, request);
  deps.log.info("request stored", {
    requestId: stored.requestId,
    created,
    status: stored.status,
    kind: change.kind,
    posted,
  });
  return { request: stored, created, posted };
}

/**
 * How the hub files a member's change. A decision the member acted on alone (auto_denied: it
 * reverted it; auto_approved or exempt: it left it standing and adopted it) is recorded as such:
 * a member speaks for its own account, and what it did stands done. Anything a person decides is
 * routed from the hub's OWN evaluation of its copy of the policy — `decide` on the stored change,
 * the hub's verification of the requester, the group facts and receipt time the member reported —
 * so no field of a member's message can lower the approvals, or pick the approvers, the channel or
 * the expiry. A decision that differs from the member's is logged and counted (PolicyMismatch): a
 * policy deployed to one side first, or a member that is not what it should be.
 */
function route(
  deps: HubDeps,
  message: ChangeMessage,
  verification: Verification,
): {
  request: Pick<NewRequest, "requiredApprovals" | "decided" | "policy" | "approvers" | "channel">;
  expiryHours?: number;
} {
  const { change } = message;
  const minimum = minimumApprovals(verification);
  const group: GroupFacts | undefined =
    message.groupName !== undefined || message.group
      ? {
          ...(message.groupName !== undefined ? { name: message.groupName } : {}),
          ...(message.group?.vpcId !== undefined ? { vpcId: message.group.vpcId } : {}),
          ...(message.group?.tags !== undefined ? { tags: message.group.tags } : {}),
        }
      : undefined;
  const hub: PolicyDecision | undefined = deps.config.policy
    ? decide(
        change,
        {
          verification,
          ...(group ? { group } : {}),
          // Drift has no event: the age rule never applies to it.
          ...(message.receivedAt && change.kind !== "drift"
            ? { receivedAt: new Date(message.receivedAt) }
            : {}),
        },
        deps.config.policy,
      )
    : undefined;
  const claimed = message.policy;
  if (hub && claimed && (claimed.rule !== hub.rule || claimed.action !== enforcedAction(hub))) {
    deps.metrics.count("PolicyMismatch");
    deps.log.warn("the member's policy decision differs from the hub's", {
      eventId: change.eventId,
      account: change.account,
      member: { rule: claimed.rule, action: claimed.action },
      hub: { rule: hub.rule, action: enforcedAction(hub) },
    });
  }
  if (claimed?.status) {
    return {
      request: {
        requiredApprovals: minimum,
        decided: {
          status: claimed.status,
          rule: claimed.rule,
          reason: claimed.reason,
          ...(claimed.status === "auto_approved" ? { adopted: true } : {}),
        },
      },
    };
  }
  if (!hub) return { request: { requiredApprovals: minimum } };
  const routed = hub.action === "require_approval";
  return {
    request: {
      requiredApprovals: Math.max(minimum, routed ? (hub.approvals ?? 1) : 1),
      policy: { rule: hub.rule, action: enforcedAction(hub), mode: hub.mode, reason: hub.reason },
      ...(routed && hub.approvers ? { approvers: hub.approvers } : {}),
      ...(routed && hub.channel ? { channel: hub.channel } : {}),
    },
    ...(routed && hub.expiryHours !== undefined ? { expiryHours: hub.expiryHours } : {}),
  };
}

async function joinDrift(
  deps: HubDeps,
  message: ChangeMessage,
  requestId: string,
  origin: Origin,
): Promise<StoreResult | undefined> {
  const target = await deps.requests.get(requestId);
  if (target?.change.kind !== "drift") {
    deps.log.error("a change names a drift request that does not exist", { requestId });
    return undefined;
  }
  if (refused(deps, "drift join", target.change, origin, { requestId })) return undefined;
  const change = { ...target.change, requester: message.change.requester };
  const joined = await advance(deps, target, {
    type: "requester_known",
    at: deps.clock().toISOString(),
    change,
    verification: verifyRequester(message.change.requester, deps.config.people),
  });
  deps.log.info("drift request learned its requester", {
    requestId,
    eventId: message.change.eventId,
    requester: message.change.requester.arn,
    updated: joined !== undefined,
  });
  if (joined) await refreshMessages(deps, joined);
  return { request: joined ?? target, created: false, posted: [], joined: true };
}
