/**
 * A request and its lifecycle:
 *
 *   pending -> approved -> applied | failed
 *   pending -> pending                        (one approval of several: "1 of 2")
 *   pending -> denied
 *   pending -> expired
 *   auto_approved -> applied | failed        (policy approved; the apply still reports)
 *   auto_approved -> applied at creation      (policy approved a change the member left standing
 *                                             and adopted: one conditional create, no EC2 write)
 *   auto_denied                               (policy denied; terminal)
 *   exempt                                    (policy exempted it: it stands, recorded; terminal)
 *
 * A change the member could not revert (`revertError`: it is live) that is then denied, or that
 * expires, is reverted afterwards: the status stays, and `followUpRevert` records how that went.
 *
 * `transition` is pure: it returns the next request or throws IllegalTransitionError. Each
 * transition bumps `version`; stores persist it as one conditional write on `status = from AND
 * version = v`, so a double click, an approve racing a deny, two approvers racing, or a
 * redelivered message changes nothing the second time.
 *
 * `dueAt` says when the scheduled job must next look at a request (post a message still missing,
 * expire it, send an approval or a revert again); requests with nothing to do have no due time,
 * so the job reads exactly the requests that need work.
 */
import type { Change } from "./change.js";
import type { Verification } from "./identity.js";
import type { Approvers, PolicyAction, PolicyMode } from "./policy/types.js";

export const REQUEST_STATUSES = [
  "pending",
  "approved",
  "applied",
  "failed",
  "denied",
  "expired",
  "auto_approved",
  "auto_denied",
  "exempt",
] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<RequestStatus> = new Set([
  "applied",
  "failed",
  "denied",
  "expired",
  "auto_denied",
  "exempt",
]);

export interface SlackMessageRef {
  channel: string;
  ts: string;
}

/** Who decided: a Slack user for a click, or the policy rule for an auto-decision. */
export interface Actor {
  /** Slack user id (U…), or "policy:<rule>", or "system" for the scheduled job. */
  id: string;
  name?: string;
}

export interface ApplyError {
  code: string;
  message: string;
}

export interface HistoryEntry {
  status: RequestStatus;
  at: string;
  by?: Actor;
  note?: string;
}

export interface Approval {
  by: Actor;
  at: string;
}

export interface ApprovalRequest {
  /** Our own id: "r-" and a ULID, sortable by creation time. */
  requestId: string;
  status: RequestStatus;
  /** Bumped by every transition: the store's optimistic lock. */
  version: number;
  change: Change;
  /** Whether the requester's identity is proven (and who it is), from the hub's people mapping. */
  verification: Verification;
  /** Different approvers needed: two for an unverified requester, more if policy says so. */
  requiredApprovals: number;
  /** Approvals given so far (the last one moves the request to approved). */
  approvals?: Approval[];
  accountAlias?: string;
  groupName?: string;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  decidedBy?: Actor;
  decidedAt?: string;
  /** Why policy decided, for auto_approved / auto_denied / exempt (and the rule's reason otherwise). */
  policyReason?: string;
  /**
   * The policy's decision on the change, as the hub evaluated it (or, for a decision the member
   * acted on alone, as the member reported it): the rule, its action, the account's mode.
   */
  policy?: { rule: string; action: PolicyAction; mode: PolicyMode };
  /** Who may decide: the policy rule's approvers; absent, the deployment's. */
  approvers?: Approvers;
  /** The channel of the approval message: the policy rule's; absent, the deployment's. */
  channel?: string;
  appliedAt?: string;
  /** The apply's EC2 error, for status failed. */
  error?: ApplyError;
  /** The member could not revert the change: it is still live. */
  revertError?: ApplyError;
  /** A live change that was denied or expired: the revert that followed, done at `at` or failed. */
  followUpRevert?: { at: string; error?: ApplyError };
  slack?: { approval?: SlackMessageRef; monitoring?: SlackMessageRef };
  /** When a post of each message was claimed (see the hub's post step); kept by the store. */
  postClaims?: { approval?: string; monitoring?: string };
  /** When the scheduled job must next look at this request; absent when there is nothing to do. */
  due?: string;
  /** The job's work on this request: how often it acted, and when last. */
  jobs?: { attempts: number; lastAt: string };
  history: HistoryEntry[];
}

export type RequestEvent =
  | { type: "approve"; by: Actor; at: string }
  | { type: "deny"; by: Actor; at: string }
  | { type: "applied"; at: string }
  | { type: "failed"; at: string; error: ApplyError }
  /** `leaveLive`: a live change stays as it stands (onExpiry: leave) rather than being reverted. */
  | { type: "expire"; at: string; leaveLive?: boolean }
  | { type: "follow_up_reverted"; at: string; error?: ApplyError }
  /** The member's retry reverted a change it first reported as live. */
  | { type: "reverted_later"; at: string }
  /** A late CloudTrail event names who made a change first filed as drift. */
  | { type: "requester_known"; at: string; change: Change; verification: Verification }
  /** The job re-sent something (an apply, a revert) or retried a post. */
  | { type: "job_attempt"; at: string };

const NEXT: Record<RequestEvent["type"], Partial<Record<RequestStatus, RequestStatus>>> = {
  approve: { pending: "approved" },
  deny: { pending: "denied" },
  applied: { approved: "applied", auto_approved: "applied" },
  failed: { approved: "failed", auto_approved: "failed" },
  expire: { pending: "expired" },
  follow_up_reverted: { denied: "denied", expired: "expired" },
  reverted_later: { pending: "pending" },
  requester_known: { pending: "pending" },
  job_attempt: {
    pending: "pending",
    approved: "approved",
    auto_approved: "auto_approved",
    denied: "denied",
    expired: "expired",
  },
};

export class IllegalTransitionError extends Error {
  override readonly name = "IllegalTransitionError";
  constructor(
    readonly requestId: string,
    readonly from: RequestStatus,
    readonly event: RequestEvent["type"],
    detail?: string,
  ) {
    super(`request ${requestId} is ${from}: cannot ${event}${detail ? ` (${detail})` : ""}`);
  }
}

/** The history note of an expiry that left a live change as it stands (onExpiry: leave). */
export const LEFT_ON_EXPIRY_NOTE = "left in place on expiry";

/** True when the request expired and its live change was left as it stands. */
export function leftOnExpiry(request: ApprovalRequest): boolean {
  return (
    request.status === "expired" && request.history.some((h) => h.note === LEFT_ON_EXPIRY_NOTE)
  );
}

export const REQUEST_ID_PATTERN = /^r-[0-9A-HJKMNP-TV-Z]{26}$/;

/** Builds a request id from a ULID made by the caller (the domain has no clock or randomness). */
export function requestIdFromUlid(ulid: string): string {
  const id = `r-${ulid.toUpperCase()}`;
  if (!REQUEST_ID_PATTERN.test(id)) throw new Error(`not a ULID: ${ulid}`);
  return id;
}

/** The status a transition would go to from `from`, or undefined when it is illegal. */
export function nextStatus(
  from: RequestStatus,
  event: RequestEvent["type"],
): RequestStatus | undefined {
  return NEXT[event][from];
}

/** True when the change is still live: it was never (wholly) reverted, nor reverted since. */
export function isLive(request: ApprovalRequest): boolean {
  if (!request.revertError) return false;
  return !request.followUpRevert || request.followUpRevert.error !== undefined;
}

function check(request: ApprovalRequest, event: RequestEvent): void {
  const illegal = (detail: string) =>
    new IllegalTransitionError(request.requestId, request.status, event.type, detail);
  switch (event.type) {
    case "approve":
      if (request.approvals?.some((a) => a.by.id === event.by.id))
        throw illegal(`${event.by.id} has approved it already`);
      break;
    case "expire":
      if (Date.parse(event.at) < Date.parse(request.expiresAt))
        throw illegal(`it expires at ${request.expiresAt}`);
      break;
    case "follow_up_reverted":
      if (!request.revertError) throw illegal("it was reverted when it happened");
      if (request.followUpRevert) throw illegal("its follow-up revert is recorded already");
      break;
    case "reverted_later":
      if (!request.revertError) throw illegal("it was reverted already");
      break;
    case "requester_known":
      if (request.change.kind !== "drift") throw illegal("its requester is known");
      break;
    default:
      break;
  }
}

export function transition(request: ApprovalRequest, event: RequestEvent): ApprovalRequest {
  let to = nextStatus(request.status, event.type);
  if (!to) throw new IllegalTransitionError(request.requestId, request.status, event.type);
  check(request, event);
  const approvals = request.approvals ?? [];
  const partial = event.type === "approve" && approvals.length + 1 < request.requiredApprovals;
  if (partial) to = "pending";
  const entry: HistoryEntry = { status: to, at: event.at };
  const next: ApprovalRequest = {
    ...request,
    status: to,
    version: request.version + 1,
    updatedAt: event.at,
    history: [...request.history, entry],
  };
  switch (event.type) {
    case "approve":
      entry.by = event.by;
      next.approvals = [...approvals, { by: event.by, at: event.at }];
      if (partial) {
        entry.note = `approval ${next.approvals.length} of ${request.requiredApprovals}`;
      } else {
        next.decidedBy = event.by;
        next.decidedAt = event.at;
      }
      break;
    case "deny":
      entry.by = event.by;
      next.decidedBy = event.by;
      next.decidedAt = event.at;
      break;
    case "applied":
      next.appliedAt = event.at;
      break;
    case "failed":
      next.error = event.error;
      entry.note = `${event.error.code}: ${event.error.message}`;
      break;
    case "expire":
      if (event.leaveLive && request.revertError) entry.note = LEFT_ON_EXPIRY_NOTE;
      break;
    case "follow_up_reverted":
      next.followUpRevert = { at: event.at, ...(event.error ? { error: event.error } : {}) };
      entry.note = event.error
        ? `the revert that followed failed: ${event.error.code}: ${event.error.message}`
        : "reverted";
      break;
    case "reverted_later":
      delete next.revertError;
      entry.note = `reverted on a retry (it was: ${request.revertError?.code})`;
      break;
    case "requester_known": {
      next.change = event.change;
      next.verification = event.verification;
      const author =
        event.verification.verified && event.verification.slackUserId
          ? event.verification.slackUserId
          : undefined;
      // The author's own approval, given before anyone knew, does not count.
      if (author) next.approvals = approvals.filter((a) => a.by.id !== author);
      entry.note = `made by ${event.change.requester.arn}`;
      break;
    }
    case "job_attempt":
      next.jobs = { attempts: (request.jobs?.attempts ?? 0) + 1, lastAt: event.at };
      next.history = request.history;
      break;
  }
  return next;
}

export interface NewRequest {
  requestId: string;
  change: Change;
  verification: Verification;
  requiredApprovals: number;
  now: string;
  expiresAt: string;
  accountAlias?: string;
  groupName?: string;
  revertError?: ApplyError;
  /**
   * A policy decision made at creation: the request starts auto_approved / auto_denied / exempt.
   * `adopted`: an auto_approved change the member left standing and took into its baseline
   * already: the request is created applied (history auto_approved, then applied), so nothing is
   * ever sent to apply it.
   */
  decided?: {
    status: "auto_approved" | "auto_denied" | "exempt";
    rule: string;
    reason: string;
    adopted?: boolean;
  };
  /** The policy's decision (see ApprovalRequest.policy) and its routing, for a pending request. */
  policy?: { rule: string; action: PolicyAction; mode: PolicyMode; reason: string };
  approvers?: Approvers;
  channel?: string;
}

/** The history note of an auto-approved change the member had adopted already. */
export const ADOPTED_NOTE =
  "the change stands and the member's baseline took it in: nothing to apply";

export function createRequest(input: NewRequest): ApprovalRequest {
  const decided = input.decided;
  const first: RequestStatus = decided?.status ?? "pending";
  const adopted = decided?.status === "auto_approved" && decided.adopted === true;
  const status: RequestStatus = adopted ? "applied" : first;
  const by: Actor | undefined = decided ? { id: `policy:${decided.rule}` } : undefined;
  const history: HistoryEntry[] = [
    { status: first, at: input.now, ...(by ? { by, note: decided?.reason } : {}) },
  ];
  if (adopted) history.push({ status: "applied", at: input.now, note: ADOPTED_NOTE });
  const request: ApprovalRequest = {
    requestId: input.requestId,
    status,
    version: 1,
    change: input.change,
    verification: input.verification,
    requiredApprovals: Math.max(1, input.requiredApprovals),
    createdAt: input.now,
    updatedAt: input.now,
    expiresAt: input.expiresAt,
    history,
  };
  if (input.accountAlias) request.accountAlias = input.accountAlias;
  if (input.groupName) request.groupName = input.groupName;
  if (input.revertError) request.revertError = input.revertError;
  if (input.policy) {
    const { reason, ...policy } = input.policy;
    request.policy = policy;
    request.policyReason = reason;
  }
  if (input.approvers) request.approvers = input.approvers;
  if (input.channel) request.channel = input.channel;
  if (decided) {
    request.decidedBy = by;
    request.decidedAt = input.now;
    request.policyReason = decided.reason;
    if (adopted) request.appliedAt = input.now;
  }
  return request;
}

// ---- the scheduled job's view ----

export interface JobSettings {
  /** A message not posted yet is tried again this long after the last try. */
  postRetryMinutes: number;
  /** An approval or a follow-up revert with no result is sent again after this long. */
  resendMinutes: number;
  /** After this many tries the job gives up on a request: a final state and an alarm. */
  maxAttempts: number;
  /** What happens to a live change (never reverted) when its request expires. */
  onExpiry: "revert" | "leave";
}

export const DEFAULT_JOB_SETTINGS: JobSettings = {
  postRetryMinutes: 2,
  resendMinutes: 15,
  maxAttempts: 8,
  onExpiry: "revert",
};

const plusMinutes = (iso: string, minutes: number) =>
  new Date(Date.parse(iso) + minutes * 60_000).toISOString();

/**
 * The Slack messages a request should have and does not: both while it is pending, the
 * monitoring one otherwise (a request decided before its approval message was posted needs none).
 */
export function missingMessages(request: ApprovalRequest): ("approval" | "monitoring")[] {
  const wanted = request.status === "pending" ? ["approval", "monitoring"] : ["monitoring"];
  return (wanted as ("approval" | "monitoring")[]).filter((k) => !request.slack?.[k]);
}

/** Whether a follow-up revert is owed: a live change that was denied, or expired and not left. */
export function owesFollowUpRevert(request: ApprovalRequest): boolean {
  if (!request.revertError || request.followUpRevert) return false;
  return request.status === "denied" || (request.status === "expired" && !leftOnExpiry(request));
}

/** When the scheduled job must next look at the request, or undefined for never. */
export function dueAt(request: ApprovalRequest, settings: JobSettings): string | undefined {
  const last = request.jobs?.lastAt;
  const times: string[] = [];
  if (missingMessages(request).length > 0) {
    times.push(plusMinutes(last ?? request.createdAt, settings.postRetryMinutes));
  }
  switch (request.status) {
    case "pending":
      times.push(request.expiresAt);
      break;
    case "approved":
    case "auto_approved":
      times.push(
        plusMinutes(last ?? request.decidedAt ?? request.updatedAt, settings.resendMinutes),
      );
      break;
    case "denied":
    case "expired":
      // Whoever denied or expired it sent the first revert at once; the job sends it again.
      if (owesFollowUpRevert(request)) {
        times.push(
          plusMinutes(last ?? request.decidedAt ?? request.updatedAt, settings.resendMinutes),
        );
      }
      break;
    default:
      break;
  }
  return times.sort()[0];
}

/** `request` with its `due` time for these settings. */
export function scheduled(request: ApprovalRequest, settings: JobSettings): ApprovalRequest {
  const due = dueAt(request, settings);
  const { due: _old, ...rest } = request;
  return due ? { ...rest, due } : rest;
}
