/**
 * A request and its lifecycle:
 *
 *   pending -> approved -> applied | failed
 *   pending -> denied
 *   pending -> expired
 *   auto_approved -> applied | failed        (policy approved; the apply still reports)
 *   auto_denied                               (policy denied; terminal)
 *
 * A change the member could not revert (`revertError`: it is live) and that is then denied is
 * reverted after the Deny: `denied` stays, and `revertAfterDeny` records how that went.
 *
 * `transition` is pure: it returns the next request or throws IllegalTransitionError. Stores
 * persist a transition as one conditional write on `status = from`, so a double click, an approve
 * racing a deny, or a redelivered message changes nothing the second time.
 */
import type { Change } from "./change.js";

export const REQUEST_STATUSES = [
  "pending",
  "approved",
  "applied",
  "failed",
  "denied",
  "expired",
  "auto_approved",
  "auto_denied",
] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<RequestStatus> = new Set([
  "applied",
  "failed",
  "denied",
  "expired",
  "auto_denied",
]);

export interface SlackMessageRef {
  channel: string;
  ts: string;
}

/** Who decided: a Slack user for a click, or the policy rule for an auto-decision. */
export interface Actor {
  /** Slack user id (U…), or "policy:<rule>". */
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

export interface ApprovalRequest {
  /** Our own id: "r-" and a ULID, sortable by creation time. */
  requestId: string;
  status: RequestStatus;
  change: Change;
  accountAlias?: string;
  groupName?: string;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  decidedBy?: Actor;
  decidedAt?: string;
  /** Why policy decided, for auto_approved / auto_denied. */
  policyReason?: string;
  appliedAt?: string;
  /** The apply's EC2 error, for status failed. */
  error?: ApplyError;
  /** The member could not revert the change: it is still live. */
  revertError?: ApplyError;
  /** A live change that was denied: the revert the Deny asked for, done at `at` or failed. */
  revertAfterDeny?: { at: string; error?: ApplyError };
  slack?: { approval?: SlackMessageRef; monitoring?: SlackMessageRef };
  history: HistoryEntry[];
}

export type RequestEvent =
  | { type: "approve"; by: Actor; at: string }
  | { type: "deny"; by: Actor; at: string }
  | { type: "applied"; at: string }
  | { type: "failed"; at: string; error: ApplyError }
  | { type: "expire"; at: string }
  | { type: "reverted_after_deny"; at: string; error?: ApplyError };

const NEXT: Record<RequestEvent["type"], Partial<Record<RequestStatus, RequestStatus>>> = {
  approve: { pending: "approved" },
  deny: { pending: "denied" },
  applied: { approved: "applied", auto_approved: "applied" },
  failed: { approved: "failed", auto_approved: "failed" },
  expire: { pending: "expired" },
  reverted_after_deny: { denied: "denied" },
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

export function transition(request: ApprovalRequest, event: RequestEvent): ApprovalRequest {
  const to = nextStatus(request.status, event.type);
  if (!to) throw new IllegalTransitionError(request.requestId, request.status, event.type);
  if (event.type === "expire" && Date.parse(event.at) < Date.parse(request.expiresAt)) {
    throw new IllegalTransitionError(
      request.requestId,
      request.status,
      "expire",
      `it expires at ${request.expiresAt}`,
    );
  }
  if (
    event.type === "reverted_after_deny" &&
    (!request.revertError || request.revertAfterDeny !== undefined)
  ) {
    throw new IllegalTransitionError(
      request.requestId,
      request.status,
      event.type,
      request.revertError ? "its revert after the deny is recorded already" : "it was reverted",
    );
  }
  const entry: HistoryEntry = { status: to, at: event.at };
  const next: ApprovalRequest = {
    ...request,
    status: to,
    updatedAt: event.at,
    history: [...request.history, entry],
  };
  switch (event.type) {
    case "approve":
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
      break;
    case "reverted_after_deny":
      next.revertAfterDeny = { at: event.at, ...(event.error ? { error: event.error } : {}) };
      entry.note = event.error
        ? `revert after deny failed: ${event.error.code}: ${event.error.message}`
        : "reverted after deny";
      break;
  }
  return next;
}

export interface NewRequest {
  requestId: string;
  change: Change;
  now: string;
  expiresAt: string;
  accountAlias?: string;
  groupName?: string;
  revertError?: ApplyError;
  /** A policy decision made at creation: the request starts auto_approved / auto_denied. */
  policy?: { status: "auto_approved" | "auto_denied"; rule: string; reason: string };
}

export function createRequest(input: NewRequest): ApprovalRequest {
  const status: RequestStatus = input.policy?.status ?? "pending";
  const by: Actor | undefined = input.policy ? { id: `policy:${input.policy.rule}` } : undefined;
  const request: ApprovalRequest = {
    requestId: input.requestId,
    status,
    change: input.change,
    createdAt: input.now,
    updatedAt: input.now,
    expiresAt: input.expiresAt,
    history: [{ status, at: input.now, ...(by ? { by, note: input.policy?.reason } : {}) }],
  };
  if (input.accountAlias) request.accountAlias = input.accountAlias;
  if (input.groupName) request.groupName = input.groupName;
  if (input.revertError) request.revertError = input.revertError;
  if (input.policy) {
    request.decidedBy = by;
    request.decidedAt = input.now;
    request.policyReason = input.policy.reason;
  }
  return request;
}
