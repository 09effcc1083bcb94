/**
 * buttonClick: one verified Slack interactivity request (the caller checked the signature).
 *
 * - Context: only the configured workspace and app, only in the request's own approval channel
 *   (its policy rule's `channel`, else the configured one), only on the message stored for that
 *   request; anything else is refused and changes nothing.
 * - Who: the request's approvers (its policy rule's `approvers`, else the configured ones: a user
 *   id, or a member of the approver user group), never the
 *   requester when the requester is verified (see domain/identity.ts); an unverified requester's
 *   request needs two different approvers instead. When Slack cannot say in time who clicked, the
 *   click is refused ("try again"), never guessed.
 * - One decision: each approval or denial is one conditional write on the request's status and
 *   version; approvers racing each other are retried on the fresh request, so each approval counts
 *   once and the last one needed approves.
 * - Slack waits 3 s for the answer, cold or warm: every step — the read, the lookups, the write,
 *   sending the decision on, the ephemeral reply, the message updates — takes only what is left
 *   of CLICK_ANSWER_BUDGET_MS. A retry Slack sends (`x-slack-retry-num`) of a click already
 *   recorded gets the same answer and no second decision.
 */
import * as z from "zod";
import { isApprover } from "../../domain/approval.js";
import { needsEmail, selfCheck } from "../../domain/identity.js";
import {
  type Actor,
  type ApprovalRequest,
  REQUEST_ID_PATTERN,
  type RequestEvent,
} from "../../domain/request.js";
import {
  APPROVE_ACTION_ID,
  alreadyDecidedText,
  DENY_ACTION_ID,
  plural,
} from "../../domain/slack/index.js";
import type { SlackUser } from "../../ports/notifier.js";
import {
  advance,
  approvalChannels,
  channelOf,
  errorText,
  type HubDeps,
  refreshMessages,
  withinBudget,
  withTimeout,
} from "./deps.js";
import { sendDecision } from "./send-on.js";

/** The whole click, from its arrival to the answer (Slack gives up at 3 s). */
export const CLICK_ANSWER_BUDGET_MS = 2_500;
/** At most this long for users.info / usergroups.users.list. */
export const SLACK_LOOKUP_BUDGET_MS = 1_000;
/** At most this long for the message updates. */
export const SLACK_UPDATE_BUDGET_MS = 1_500;
/** At most this long for an ephemeral reply. */
export const EPHEMERAL_BUDGET_MS = 700;
/** Kept back from the read and the write for what follows them. */
const RESERVE_MS = 400;

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
  team: z.object({ id: z.string() }).nullish(),
  api_app_id: z.string().optional(),
  channel: z.object({ id: z.string() }).optional(),
  container: z
    .object({ channel_id: z.string().optional(), message_ts: z.string().optional() })
    .optional(),
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
type BlockActions = z.infer<typeof blockActionsSchema>;

export type ClickOutcome =
  | "approved"
  | "denied"
  /** One approval of several recorded: the request still waits for the rest. */
  | "approval_recorded"
  | "already_decided"
  | "already_approved"
  | "not_approver"
  | "self_approval"
  /** Slack could not say in time whether the user may approve, or who they are: refused. */
  | "lookup_failed"
  /** The request could not be read or written in time: nothing changed, try again. */
  | "store_unavailable"
  /** Another workspace or app, another channel, or not the request's message. */
  | "wrong_context"
  /** Slack's retry of a click that was recorded: answered again, nothing changed. */
  | "retry"
  | "unknown_request"
  | "bad_request"
  | "ssl_check";

export interface ClickResult {
  response: HttpResponse;
  outcome: ClickOutcome;
  requestId?: string;
}

export interface ClickContext {
  /** Slack's `x-slack-retry-num` header: this is Slack's retry of an earlier delivery. */
  retryNum?: number;
}

interface Parsed {
  payload: BlockActions;
  approve: boolean;
  requestId: string;
}

function parse(rawBody: string): Parsed | ClickResult {
  const bad = (message: string): ClickResult => ({
    response: json(400, { error: message }),
    outcome: "bad_request",
  });
  const form = new URLSearchParams(rawBody);
  if (form.get("ssl_check") === "1") return { response: ok(), outcome: "ssl_check" };
  const payloadText = form.get("payload");
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
  const action = parsed.data.actions[0];
  if (!action || (action.action_id !== APPROVE_ACTION_ID && action.action_id !== DENY_ACTION_ID)) {
    return bad(`unknown action ${JSON.stringify(action?.action_id)}`);
  }
  const requestId = action.value ?? "";
  if (!REQUEST_ID_PATTERN.test(requestId))
    return bad(`not a request id: ${JSON.stringify(requestId)}`);
  return { payload: parsed.data, approve: action.action_id === APPROVE_ACTION_ID, requestId };
}

/** Whether `user` may decide the request: its policy rule's approvers, else the deployment's. */
async function mayDecide(deps: HubDeps, user: string, request: ApprovalRequest): Promise<boolean> {
  const userIds = request.approvers ? (request.approvers.users ?? []) : deps.config.approverUserIds;
  const group = request.approvers ? request.approvers.userGroup : deps.config.approverUserGroup;
  if (isApprover(user, { userIds })) return true;
  if (!group) return false;
  const members = await deps.notifier.userGroupMembers(group);
  return isApprover(user, { userIds: [], groupMembers: members });
}

const reason = (r: PromiseRejectedResult): string => errorText(r.reason);

export async function handleInteraction(
  deps: HubDeps,
  rawBody: string,
  context: ClickContext = {},
): Promise<ClickResult> {
  const arrived = performance.now();
  const left = () => Math.max(0, CLICK_ANSWER_BUDGET_MS - (performance.now() - arrived));
  const parsed = parse(rawBody);
  if ("response" in parsed) return parsed;
  const { payload, approve, requestId } = parsed;
  const user = payload.user.id;
  const channel = payload.channel?.id ?? payload.container?.channel_id;
  const done = (outcome: ClickOutcome, response = ok()): ClickResult => ({
    response,
    outcome,
    requestId,
  });
  const tell = (text: string) =>
    withinBudget(
      deps.notifier
        .postEphemeral(channel ?? deps.config.approvalChannel, user, text)
        .catch((err: unknown) =>
          deps.log.warn("could not send the ephemeral reply", { requestId, error: errorText(err) }),
        ),
      Math.min(left(), EPHEMERAL_BUDGET_MS),
    );
  const refuseContext = async (why: string, text?: string) => {
    deps.metrics.count("RefusedClick");
    deps.log.warn("refused a click for its context", { requestId, user, why });
    if (text) await tell(text);
    return done("wrong_context");
  };

  const { slackTeamId, slackAppId } = deps.config;
  if (slackTeamId && payload.team?.id !== slackTeamId) {
    return refuseContext(`workspace ${payload.team?.id ?? "(none)"} is not ${slackTeamId}`);
  }
  if (slackAppId && payload.api_app_id !== slackAppId) {
    return refuseContext(`app ${payload.api_app_id ?? "(none)"} is not ${slackAppId}`);
  }
  const notApprovalChannel = () =>
    refuseContext(
      `channel ${channel ?? "(none)"} is not the request's approval channel`,
      "Requests are approved or denied only in their approval channel; nothing was changed.",
    );
  // No approval channel at all: refused before the read. The request's own is checked below.
  if (channel === undefined || !approvalChannels(deps).has(channel)) return notApprovalChannel();

  let request: ApprovalRequest | undefined;
  try {
    request = await withTimeout(deps.requests.get(requestId), "DynamoDB", left() - RESERVE_MS);
  } catch (err) {
    deps.log.error("could not read the request in time", { requestId, error: errorText(err) });
    await tell("Could not read this request in time; nothing was changed. Please try again.");
    return done("store_unavailable");
  }
  if (!request)
    return done("unknown_request", json(404, { error: `unknown request ${requestId}` }));
  if (channel !== channelOf(deps, "approval", request)) return notApprovalChannel();
  const messageTs = payload.container?.message_ts;
  if (!request.slack?.approval || messageTs !== request.slack.approval.ts) {
    return refuseContext(
      `message ${messageTs ?? "(none)"} is not the request's approval message`,
      "This is not the request's approval message; nothing was changed.",
    );
  }
  const clickedBefore =
    request.decidedBy?.id === user || (request.approvals ?? []).some((a) => a.by.id === user);
  if (context.retryNum !== undefined && clickedBefore) return done("retry");
  if (request.status !== "pending") {
    await tell(alreadyDecidedText(request));
    return done("already_decided");
  }
  if (approve && request.approvals?.some((a) => a.by.id === user)) {
    await tell(
      `You approved this already; it needs ${plural(request.requiredApprovals - (request.approvals?.length ?? 0), "more approval")} from someone else.`,
    );
    return done("already_approved");
  }

  // The lookups at once, each within its budget. Either failing refuses the click: an approver
  // who cannot be told from their own requester must not slip through.
  const lookup = () => Math.min(SLACK_LOOKUP_BUDGET_MS, left());
  const [allowed, who] = await Promise.allSettled([
    withTimeout(mayDecide(deps, user, request), "Slack's user group list", lookup()),
    approve && needsEmail(request.verification, user)
      ? withTimeout(deps.notifier.userInfo(user), "Slack's users.info", lookup())
      : Promise.resolve<SlackUser>({ id: user }),
  ]);
  if (allowed.status === "rejected") {
    deps.log.warn("could not check the approver", { requestId, user, error: reason(allowed) });
    await tell(
      `Could not check with Slack whether you may approve (${reason(allowed)}); nothing was changed. Please try again.`,
    );
    return done("lookup_failed");
  }
  if (!allowed.value) {
    await tell("You are not an approver for security group changes; nothing was changed.");
    return done("not_approver");
  }
  if (approve) {
    const clicker = who.status === "fulfilled" ? who.value : undefined;
    const self = clicker ? selfCheck(request.verification, clicker) : "unknown";
    if (self === "unknown") {
      const why =
        who.status === "rejected"
          ? reason(who)
          : "Slack gave no email for you; the app needs the users:read.email scope";
      deps.log.warn("could not tell the approver from the requester", { requestId, user, why });
      await tell(
        `Could not check with Slack who you are (${why}), so this cannot be told apart from approving your own change; nothing was changed. Please try again.`,
      );
      return done("lookup_failed");
    }
    if (self === "self") {
      await tell("You made this change, so someone else must approve it; nothing was changed.");
      return done("self_approval");
    }
  }

  const by: Actor = { id: user, ...(payload.user.username ? { name: payload.user.username } : {}) };
  const recorded = await decide(deps, request, approve, by, left);
  if (recorded.kind === "unavailable") {
    await tell("Could not record your decision in time; nothing was changed. Please try again.");
    return done("store_unavailable");
  }
  if (recorded.kind === "lost") {
    const current = recorded.current;
    if (approve && current.status === "pending") {
      await tell("You approved this already.");
      return done("already_approved");
    }
    await tell(alreadyDecidedText(current));
    return done("already_decided");
  }
  const after = recorded.request;
  if (after.status === "pending") {
    const still = after.requiredApprovals - (after.approvals?.length ?? 0);
    deps.log.info("approval recorded", { requestId, by: user, still });
    await tell(
      `Approval recorded (${after.approvals?.length} of ${after.requiredApprovals}); it needs ${plural(still, "more approval")} from someone else.`,
    );
    await withinBudget(refreshMessages(deps, after), Math.min(SLACK_UPDATE_BUDGET_MS, left()));
    return done("approval_recorded");
  }
  deps.log.info(approve ? "request approved" : "request denied", { requestId, by: user });

  // Send the change on first: it is what must not be lost. If SNS fails or is slow, the decision
  // stands and the scheduled job sends it again (the member applies a request once).
  try {
    await withTimeout(sendDecision(deps, after), "SNS", Math.max(left() - RESERVE_MS, 100));
  } catch (err) {
    deps.log.error("could not send the decision on; the scheduled job will", {
      requestId,
      error: errorText(err),
    });
    await tell(
      `${approve ? "Approved" : "Denied"}, but sending it on failed (${errorText(err)}); it is sent again automatically within ${deps.config.jobs.resendMinutes} minutes.`,
    );
  }
  await withinBudget(refreshMessages(deps, after), Math.min(SLACK_UPDATE_BUDGET_MS, left()));
  return done(approve ? "approved" : "denied");
}

type Decided =
  | { kind: "recorded"; request: ApprovalRequest }
  | { kind: "lost"; current: ApprovalRequest }
  | { kind: "unavailable" };

/**
 * Records the approval or denial with one conditional write. Losing to another approver's
 * approval is not losing the click: it is tried again on the fresh request (at most a few times).
 */
async function decide(
  deps: HubDeps,
  request: ApprovalRequest,
  approve: boolean,
  by: Actor,
  left: () => number,
): Promise<Decided> {
  let current = request;
  for (let attempt = 0; attempt < 3; attempt++) {
    const event: RequestEvent = {
      type: approve ? "approve" : "deny",
      by,
      at: deps.clock().toISOString(),
    };
    try {
      const after = await withTimeout(
        advance(deps, current, event),
        "DynamoDB",
        left() - RESERVE_MS,
      );
      if (after) return { kind: "recorded", request: after };
      const fresh = await withTimeout(
        deps.requests.get(current.requestId),
        "DynamoDB",
        left() - RESERVE_MS,
      );
      if (!fresh) return { kind: "lost", current };
      const mine = (fresh.approvals ?? []).some((a) => a.by.id === by.id);
      if (fresh.status !== "pending" || mine) return { kind: "lost", current: fresh };
      current = fresh;
    } catch (err) {
      deps.log.error("could not record the decision in time", {
        requestId: request.requestId,
        error: errorText(err),
      });
      return { kind: "unavailable" };
    }
  }
  return { kind: "lost", current };
}
