/**
 * The hub account's work: store each request and post it to Slack, take the approver's click,
 * and report outcomes. Everything outside comes in through `HubDeps`.
 */
import { z } from "zod";
import { isApprover, isSelf } from "../domain/approval.js";
import type { Change } from "../domain/change.js";
import type {
  ApplyMessage,
  ChangeMessage,
  DenyMessage,
  ResultMessage,
  RevertMessage,
} from "../domain/messages.js";
import {
  type Actor,
  type ApprovalRequest,
  createRequest,
  IllegalTransitionError,
  REQUEST_ID_PATTERN,
  type RequestEvent,
  type SlackMessageRef,
  transition,
} from "../domain/request.js";
import {
  APPROVE_ACTION_ID,
  alreadyDecidedText,
  type ChannelKind,
  DENY_ACTION_ID,
  requestMessage,
} from "../domain/slack/index.js";
import { ConflictError } from "../ports/errors.js";
import type { Log } from "../ports/log.js";
import type { Notifier } from "../ports/notifier.js";
import type { Publisher } from "../ports/publisher.js";
import type { RequestStore } from "../ports/requests.js";

export interface HubDeps {
  requests: RequestStore;
  notifier: Notifier;
  publisher: Publisher;
  clock: () => Date;
  log: Log;
  /** The request id for a change: the same event always gets the same id (redelivery is a no-op). */
  requestIdFor(change: Change): string;
  config: {
    approvalChannel: string;
    monitoringChannel: string;
    approverUserIds: readonly string[];
    approverUserGroup?: string;
    denyTopicArn: string;
    memberApplyTopicArn(account: string, region: string): string;
    expiryHours: number;
    accountAliases: Readonly<Record<string, string>>;
  };
}

const HOUR_MS = 3_600_000;

/** How long a click may wait for the Slack message updates before answering Slack. */
export const SLACK_UPDATE_BUDGET_MS = 1_500;

/**
 * The whole click, from its arrival to the answer, stays within this (Slack gives up at 3 s).
 * Each step takes what is left: the lookups, then sending the decision on, then the updates.
 */
export const CLICK_ANSWER_BUDGET_MS = 2_500;

/**
 * How long a click waits for users.info / usergroups.users.list. Slack wants the whole answer
 * within 3 s, so a lookup that is slower is a refusal ("try again"), never a guess.
 */
export const SLACK_LOOKUP_BUDGET_MS = 1_000;

/** `work`'s result, or a rejection naming `what` once `ms` have passed. */
function withTimeout<T>(work: Promise<T>, what: string, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} gave no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const reason = (r: PromiseRejectedResult): string =>
  r.reason instanceof Error ? r.reason.message : String(r.reason);

/** Waits for `work` at most `ms`; the work goes on (or is dropped by Lambda) after that. */
function withinBudget(work: Promise<unknown>, ms: number): Promise<void> {
  return withTimeout(work, "", ms).then(
    () => undefined,
    () => undefined,
  );
}

/** Posts or updates the request's message in one channel; returns the new ref when it posted. */
async function show(
  deps: HubDeps,
  request: ApprovalRequest,
  kind: ChannelKind,
): Promise<SlackMessageRef | undefined> {
  const ref = request.slack?.[kind];
  const message = requestMessage(request, kind);
  if (ref) {
    await deps.notifier.update(ref, message);
    return undefined;
  }
  const channel = kind === "approval" ? deps.config.approvalChannel : deps.config.monitoringChannel;
  return deps.notifier.post(channel, message);
}

/** Brings both Slack messages up to date with the request; a failure is logged, not thrown. */
async function refreshMessages(deps: HubDeps, request: ApprovalRequest): Promise<void> {
  const kinds: ChannelKind[] = ["approval", "monitoring"];
  await Promise.all(
    kinds
      .filter((k) => request.slack?.[k])
      .map((k) =>
        show(deps, request, k).catch((err: unknown) =>
          deps.log.error("could not update the Slack message", {
            requestId: request.requestId,
            channel: k,
            error: String(err),
          }),
        ),
      ),
  );
}

/**
 * Moves a request on by one event, persisted with one conditional write on its current status.
 * Returns the new request, or undefined when the step is illegal or another writer got there
 * first (a second click, a race, a redelivered message): then nothing was changed.
 */
async function advance(
  deps: HubDeps,
  request: ApprovalRequest,
  event: RequestEvent,
): Promise<ApprovalRequest | undefined> {
  try {
    const next = transition(request, event);
    await deps.requests.transition(request.status, next);
    return next;
  } catch (err) {
    if (err instanceof IllegalTransitionError || err instanceof ConflictError) return undefined;
    throw err;
  }
}

// ---- storeSecurityGroupRequest ----

export interface StoreResult {
  request: ApprovalRequest;
  created: boolean;
  posted: ChannelKind[];
}

/**
 * Creates the request (once per event), then posts whatever Slack messages it still lacks: the
 * approval message for a pending request, the monitoring message always. A Slack failure throws
 * after the request is stored, so a retry posts what is missing and nothing twice.
 */
export async function storeRequest(deps: HubDeps, message: ChangeMessage): Promise<StoreResult> {
  const now = deps.clock();
  const { change } = message;
  const draft = createRequest({
    requestId: deps.requestIdFor(change),
    change,
    now: now.toISOString(),
    expiresAt: new Date(now.getTime() + deps.config.expiryHours * HOUR_MS).toISOString(),
    // The hub's own config names the account first: a member's message cannot relabel it.
    accountAlias: deps.config.accountAliases[change.account] ?? message.accountAlias,
    groupName: message.groupName,
    revertError: message.revertError,
    policy: message.policy,
  });
  const created = await deps.requests.create(draft);
  const request = created ? draft : await deps.requests.get(draft.requestId);
  if (!request) throw new Error(`request ${draft.requestId} vanished after a conflicting create`);

  const posted: ChannelKind[] = [];
  const refs: { approval?: SlackMessageRef; monitoring?: SlackMessageRef } = {};
  const wanted: ChannelKind[] =
    request.status === "pending" ? ["approval", "monitoring"] : ["monitoring"];
  for (const kind of wanted) {
    if (request.slack?.[kind]) continue;
    const ref = await show(deps, request, kind);
    if (!ref) continue;
    refs[kind] = ref;
    posted.push(kind);
    // Saved at once, so a failure of the next post does not make a retry post this one again.
    await deps.requests.setSlackRefs(request.requestId, { ...request.slack, ...refs });
  }
  const stored = { ...request, slack: { ...request.slack, ...refs } };
  deps.log.info("request stored", {
    requestId: request.requestId,
    created,
    status: request.status,
    posted,
  });
  return { request: stored, created, posted };
}

// ---- buttonClick ----

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const json = (statusCode: number, body: unknown): HttpResponse => ({
  statusCode,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});
const ok = (): HttpResponse => ({ statusCode: 200, headers: {}, body: "" });

const blockActionsSchema = z.object({
  type: z.literal("block_actions"),
  user: z.object({
    id: z.string().min(1),
    username: z.string().optional(),
    name: z.string().optional(),
  }),
  channel: z.object({ id: z.string() }).optional(),
  container: z.object({ channel_id: z.string().optional() }).optional(),
  actions: z
    .array(
      z.object({
        action_id: z.string(),
        value: z.string().optional(),
        block_id: z.string().optional(),
      }),
    )
    .min(1),
});

export interface ClickResult {
  response: HttpResponse;
  /** What happened, for logs and tests. */
  outcome:
    | "approved"
    | "denied"
    | "already_decided"
    | "not_approver"
    | "self_approval"
    /** Slack could not say in time whether the user may approve, or who they are: refused. */
    | "lookup_failed"
    | "unknown_request"
    | "bad_request"
    | "ssl_check";
  requestId?: string;
}

/**
 * Handles one verified Slack interactivity request (`rawBody` as Slack sent it; the signature
 * has been checked by the caller). Records the decision with one conditional write, updates the
 * messages, then sends the change on: to the member to apply, or to the deny topic.
 */
export async function handleInteraction(deps: HubDeps, rawBody: string): Promise<ClickResult> {
  const arrived = performance.now();
  const left = () => Math.max(0, CLICK_ANSWER_BUDGET_MS - (performance.now() - arrived));
  const form = new URLSearchParams(rawBody);
  if (form.get("ssl_check") === "1") return { response: ok(), outcome: "ssl_check" };
  const payloadText = form.get("payload");
  const bad = (message: string): ClickResult => ({
    response: json(400, { error: message }),
    outcome: "bad_request",
  });
  if (payloadText === null) return bad("expected a form-encoded body with a payload field");
  let payloadJson: unknown;
  try {
    payloadJson = JSON.parse(payloadText);
  } catch {
    return bad("payload is not JSON");
  }
  const type = (payloadJson as { type?: unknown })?.type;
  if (type !== "block_actions") return bad(`unsupported interaction type ${JSON.stringify(type)}`);
  const parsed = blockActionsSchema.safeParse(payloadJson);
  if (!parsed.success)
    return bad(`malformed block_actions payload: ${parsed.error.issues[0]?.message}`);
  const payload = parsed.data;
  const action = payload.actions[0];
  if (!action || (action.action_id !== APPROVE_ACTION_ID && action.action_id !== DENY_ACTION_ID)) {
    return bad(`unknown action ${JSON.stringify(action?.action_id)}`);
  }
  const requestId = action.value ?? "";
  if (!REQUEST_ID_PATTERN.test(requestId))
    return bad(`not a request id: ${JSON.stringify(requestId)}`);

  const request = await deps.requests.get(requestId);
  if (!request)
    return {
      response: json(404, { error: `unknown request ${requestId}` }),
      outcome: "unknown_request",
      requestId,
    };

  const user = payload.user.id;
  const channel =
    payload.channel?.id ?? payload.container?.channel_id ?? deps.config.approvalChannel;
  const tell = (text: string) =>
    deps.notifier
      .postEphemeral(channel, user, text)
      .catch((err: unknown) =>
        deps.log.warn("could not send the ephemeral reply", { requestId, error: String(err) }),
      );

  const approve = action.action_id === APPROVE_ACTION_ID;
  // Both lookups at once, each within its budget. Either failing refuses the click: an approver
  // who cannot be told from their own requester must not slip through.
  const [allowed, who] = await Promise.allSettled([
    withTimeout(
      mayDecide(deps, user),
      "Slack's user group list",
      Math.min(SLACK_LOOKUP_BUDGET_MS, left()),
    ),
    approve
      ? withTimeout(
          deps.notifier.userInfo(user),
          "Slack's users.info",
          Math.min(SLACK_LOOKUP_BUDGET_MS, left()),
        )
      : undefined,
  ]);
  if (allowed.status === "rejected") {
    deps.log.warn("could not check the approver", { requestId, user, error: reason(allowed) });
    await tell(
      `Could not check with Slack whether you may approve (${reason(allowed)}); nothing was changed. Please try again.`,
    );
    return { response: ok(), outcome: "lookup_failed", requestId };
  }
  if (!allowed.value) {
    await tell("You are not an approver for security group changes; nothing was changed.");
    return { response: ok(), outcome: "not_approver", requestId };
  }
  if (approve) {
    const known = who.status === "fulfilled" ? who.value : undefined;
    if (!known?.email) {
      const why =
        who.status === "rejected"
          ? reason(who)
          : "Slack gave no email for you; the app needs the users:read.email scope";
      deps.log.warn("could not tell the approver from the requester", { requestId, user, why });
      await tell(
        `Could not check with Slack who you are (${why}), so this cannot be told apart from approving your own change; nothing was changed. Please try again.`,
      );
      return { response: ok(), outcome: "lookup_failed", requestId };
    }
    if (isSelf(request.change.requester, known)) {
      await tell("You made this change, so someone else must approve it; nothing was changed.");
      return { response: ok(), outcome: "self_approval", requestId };
    }
  }

  const by: Actor = { id: user, ...(payload.user.username ? { name: payload.user.username } : {}) };
  const event: RequestEvent = {
    type: approve ? "approve" : "deny",
    by,
    at: deps.clock().toISOString(),
  };
  const next = await advance(deps, request, event);
  if (!next) {
    const current = (await deps.requests.get(requestId)) ?? request;
    await tell(alreadyDecidedText(current));
    return { response: ok(), outcome: "already_decided", requestId };
  }
  deps.log.info(approve ? "request approved" : "request denied", { requestId, by: user });

  // Send the change on first: it is what must not be lost. If SNS fails, the decision stands
  // and the scheduled sweep (resendStuckApprovals) sends it again.
  // A publish slower than the budget may still land later: the member applies a request once,
  // so the sweep's re-send after it is harmless.
  try {
    await withTimeout(sendOn(deps, next), "SNS", Math.max(left() - 200, 250));
  } catch (err) {
    deps.log.error("could not send the decision on; the scheduled sweep will retry", {
      requestId,
      error: String(err),
    });
    await tell(
      `${approve ? "Approved" : "Denied"}, but sending it on failed (${err instanceof Error ? err.message : String(err)}); it is retried automatically within ${STUCK_APPROVAL_MINUTES} minutes.`,
    );
  }
  // Slack waits 3 s for the answer: the buttons go now if Slack is quick; either way the
  // deny report or the apply result updates both messages again.
  await withinBudget(refreshMessages(deps, next), Math.min(SLACK_UPDATE_BUDGET_MS, left()));
  return { response: ok(), outcome: approve ? "approved" : "denied", requestId };
}

/** Publishes a decided request onwards: an approval to its member account, a denial to the deny topic. */
async function sendOn(deps: HubDeps, request: ApprovalRequest): Promise<void> {
  const { requestId, change } = request;
  if (request.status === "approved") {
    const apply: ApplyMessage = {
      type: "apply",
      requestId,
      change,
      ...(request.revertError ? { revertError: request.revertError } : {}),
    };
    await deps.publisher.publish(
      deps.config.memberApplyTopicArn(change.account, change.region),
      JSON.stringify(apply),
      { type: "apply" },
    );
  } else {
    const deny: DenyMessage = { type: "deny", requestId };
    await deps.publisher.publish(deps.config.denyTopicArn, JSON.stringify(deny), { type: "deny" });
    // A change the member could not revert is still live: the Deny has it reverted now.
    if (request.revertError) await sendRevert(deps, request);
  }
}

async function sendRevert(deps: HubDeps, { requestId, change }: ApprovalRequest): Promise<void> {
  const revert: RevertMessage = { type: "revert", requestId, change };
  await deps.publisher.publish(
    deps.config.memberApplyTopicArn(change.account, change.region),
    JSON.stringify(revert),
    { type: "revert" },
  );
}

async function mayDecide(deps: HubDeps, user: string): Promise<boolean> {
  if (isApprover(user, { userIds: deps.config.approverUserIds })) return true;
  if (!deps.config.approverUserGroup) return false;
  const members = await deps.notifier.userGroupMembers(deps.config.approverUserGroup);
  return isApprover(user, { userIds: [], groupMembers: members });
}

// ---- denySecurityGroupChange ----

/** Reports a denial: both messages say who denied it and that the change stays reverted. */
export async function reportDenied(
  deps: HubDeps,
  message: DenyMessage,
): Promise<ApprovalRequest | undefined> {
  const request = await deps.requests.get(message.requestId);
  if (!request) {
    deps.log.error("deny for an unknown request", { requestId: message.requestId });
    return undefined;
  }
  if (request.status !== "denied") {
    deps.log.warn("deny message for a request that is not denied", {
      requestId: request.requestId,
      status: request.status,
    });
  }
  await refreshMessages(deps, request);
  return request;
}

// ---- errorHandlerSecurityGroupChange ----

/** The request event a member's result stands for; undefined when it stands for none. */
function resultEvent(request: ApprovalRequest, message: ResultMessage): RequestEvent | undefined {
  const error = message.error ?? { code: "Unknown", message: "no error given" };
  const failed = message.outcome === "failed";
  // A denied request's result is that of the revert its Deny asked for; any other, an apply's.
  if (request.status === "denied") {
    return { type: "reverted_after_deny", at: message.at, ...(failed ? { error } : {}) };
  }
  if (message.outcome === "applied") return { type: "applied", at: message.at };
  if (failed) return { type: "failed", at: message.at, error };
  return undefined;
}

/**
 * Records the member's result and reports it: an apply's (applied, or failed with the EC2
 * error), or that of the revert a Deny asked for (the request stays denied).
 */
export async function recordResult(
  deps: HubDeps,
  message: ResultMessage,
): Promise<ApprovalRequest | undefined> {
  const request = await deps.requests.get(message.requestId);
  if (!request) {
    deps.log.error("result for an unknown request", { requestId: message.requestId });
    return undefined;
  }
  const event = resultEvent(request, message);
  if (!event) {
    deps.log.warn("a revert result for a request that is not denied", {
      requestId: request.requestId,
      status: request.status,
    });
    return request;
  }
  const next = await advance(deps, request, event);
  if (!next) {
    deps.log.warn("result ignored: the request has moved on", {
      requestId: request.requestId,
      status: request.status,
      outcome: message.outcome,
    });
    return request;
  }
  deps.log.info(`request ${next.status}`, { requestId: next.requestId, error: next.error });
  await refreshMessages(deps, next);
  return next;
}

// ---- expireRequests ----

/** Expires pending requests past their time; each is one conditional write, so a click racing it is safe. */
export async function expireRequests(deps: HubDeps): Promise<string[]> {
  const now = deps.clock();
  const expired: string[] = [];
  for (const request of await deps.requests.listByStatus("pending", 500)) {
    if (Date.parse(request.expiresAt) > now.getTime()) continue;
    const next = await advance(deps, request, { type: "expire", at: now.toISOString() });
    if (!next) continue;
    expired.push(next.requestId);
    await refreshMessages(deps, next);
  }
  if (expired.length)
    deps.log.info("requests expired", { count: expired.length, requestIds: expired });
  return expired;
}

/** An approval with no apply result after this long is sent to its member account again. */
export const STUCK_APPROVAL_MINUTES = 15;

/**
 * Re-sends approvals that have waited STUCK_APPROVAL_MINUTES for an apply result (the click's
 * publish failed, or the apply message was lost), and the reverts of denied live changes. A repeat apply of a change that did go through
 * answers InvalidPermission.Duplicate; the request then records that result as it stands.
 */
export async function resendStuckApprovals(deps: HubDeps): Promise<string[]> {
  const cutoff = deps.clock().getTime() - STUCK_APPROVAL_MINUTES * 60_000;
  const resent: string[] = [];
  for (const request of await deps.requests.listByStatus("approved", 500)) {
    if (Date.parse(request.decidedAt ?? request.updatedAt) > cutoff) continue;
    await sendOn(deps, request);
    resent.push(request.requestId);
  }
  // Denied live changes whose revert never reported back.
  for (const request of await deps.requests.listByStatus("denied", 500)) {
    if (!request.revertError || request.revertAfterDeny) continue;
    if (Date.parse(request.decidedAt ?? request.updatedAt) > cutoff) continue;
    await sendRevert(deps, request);
    resent.push(request.requestId);
  }
  if (resent.length)
    deps.log.warn("approvals sent again", { count: resent.length, requestIds: resent });
  return resent;
}
