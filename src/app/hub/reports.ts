/**
 * denySecurityGroupChange and errorHandlerSecurityGroupChange: the outcome of a decision, in both
 * Slack messages. A result counts only when it comes from the account and region of the
 * request's own change.
 */
import type { Origin } from "../../domain/binding.js";
import type { DenyMessage, ResultMessage } from "../../domain/messages.js";
import type { ApprovalRequest, RequestEvent } from "../../domain/request.js";
import { advance, type HubDeps, refreshMessages } from "./deps.js";
import { refused } from "./store.js";

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

/** The request event a member's result stands for; undefined when it stands for none. */
function resultEvent(request: ApprovalRequest, message: ResultMessage): RequestEvent | undefined {
  const error = message.error ?? { code: "Unknown", message: "no error given" };
  const failed = message.outcome === "failed";
  // A denied or expired request's result is that of the revert that followed; any other, an apply's.
  if (request.status === "denied" || request.status === "expired") {
    return { type: "follow_up_reverted", at: message.at, ...(failed ? { error } : {}) };
  }
  if (message.outcome === "applied") return { type: "applied", at: message.at };
  if (failed) return { type: "failed", at: message.at, error };
  return undefined;
}

/**
 * Records the member's result and reports it: an apply's (applied, or failed with the EC2
 * error), or that of the revert a Deny or an expiry asked for (the status stays).
 */
export async function recordResult(
  deps: HubDeps,
  message: ResultMessage,
  origin: Origin,
): Promise<ApprovalRequest | undefined> {
  const request = await deps.requests.get(message.requestId);
  if (!request) {
    deps.log.error("result for an unknown request", { requestId: message.requestId });
    return undefined;
  }
  if (refused(deps, "result", request.change, origin, { requestId: request.requestId })) {
    return undefined;
  }
  const event = resultEvent(request, message);
  if (!event) {
    deps.log.warn("a revert result for a request that is not denied or expired", {
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
  deps.log.info(`request ${next.status}`, {
    requestId: next.requestId,
    error: next.error,
    followUpRevert: next.followUpRevert,
  });
  await refreshMessages(deps, next);
  return next;
}
