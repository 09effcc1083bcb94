/**
 * expireRequests, every 15 minutes: the work the hub owes requests, read from a sparse index of
 * exactly the requests that need some (`due`), earliest first, however many others exist.
 *
 * - a message not posted yet is posted (or found, when a lost attempt did post it);
 * - a pending request past its time expires; a live change whose request expires is reverted
 *   (onExpiry "revert", the default) or left as it stands ("leave");
 * - an approval with no apply result is sent again; so is the revert of a denied or expired live
 *   change with no result;
 * - after `maxAttempts`, the job gives up on a request: an approval becomes failed (GaveUp), a
 *   revert is recorded as failed, and the JobGaveUp metric raises the alarm.
 *
 * Each request is handled on its own: one that fails (a removed member's topic, Slack down) is
 * logged and tried at its next due time, and never stops the others.
 */
import {
  type ApprovalRequest,
  missingMessages,
  owesFollowUpRevert,
  type RequestEvent,
} from "../../domain/request.js";
import { standsByPolicy } from "../../domain/slack/messages.js";
import { advance, errorText, type HubDeps, refreshMessages } from "./deps.js";
import { ensureMessages } from "./post.js";
import { sendApply, sendRevert } from "./send-on.js";

export interface JobResult {
  expired: string[];
  resent: string[];
  posted: string[];
  gaveUp: string[];
  failed: string[];
}

/** Requests read per run at most; the next run takes the rest, earliest due first. */
export const JOB_BATCH = 500;

export const GAVE_UP_CODE = "GaveUp";

export async function runJobs(deps: HubDeps): Promise<JobResult> {
  const now = deps.clock().toISOString();
  const result: JobResult = { expired: [], resent: [], posted: [], gaveUp: [], failed: [] };
  for (const listed of await deps.requests.listDue(now, JOB_BATCH)) {
    try {
      // The index is eventually consistent: act on the request as it is now.
      const request = await deps.requests.get(listed.requestId);
      if (!request?.due || request.due > now) continue;
      await work(deps, request, now, result);
    } catch (err) {
      result.failed.push(listed.requestId);
      deps.log.error("a scheduled job failed for one request; it is tried again later", {
        requestId: listed.requestId,
        error: errorText(err),
      });
    }
  }
  const did = result.expired.length + result.resent.length + result.posted.length;
  if (did || result.gaveUp.length || result.failed.length) {
    deps.log.info("scheduled jobs", { ...result });
  }
  return result;
}

async function work(
  deps: HubDeps,
  start: ApprovalRequest,
  now: string,
  result: JobResult,
): Promise<void> {
  let request = start;
  const { jobs } = deps.config;
  const attempts = request.jobs?.attempts ?? 0;
  const note = async () => {
    const after = await advance(deps, request, { type: "job_attempt", at: now });
    if (after) request = after;
  };
  const giveUp = async (event: RequestEvent) => {
    const after = await advance(deps, request, event);
    if (!after) return;
    request = after;
    deps.metrics.count("JobGaveUp");
    result.gaveUp.push(request.requestId);
    deps.log.error("gave up on a request after its attempts", {
      requestId: request.requestId,
      status: request.status,
      attempts,
    });
    await refreshMessages(deps, request);
  };
  const gaveUpError = (what: string) => ({
    code: GAVE_UP_CODE,
    message: `${what} after ${attempts} attempts over ${attempts * jobs.resendMinutes} minutes; see the member's logs`,
  });

  if (missingMessages(request).length > 0) {
    await note();
    const { request: posted, posted: kinds } = await ensureMessages(deps, request);
    request = posted;
    if (kinds.length) result.posted.push(request.requestId);
  }
  if (request.status === "pending" && request.expiresAt <= now) {
    const expired = await advance(deps, request, {
      type: "expire",
      at: now,
      // An account in notify mode has nothing reverted, an expiry included.
      leaveLive: jobs.onExpiry === "leave" || standsByPolicy(request) === "mode",
    });
    if (!expired) return;
    request = expired;
    result.expired.push(request.requestId);
    if (owesFollowUpRevert(request)) await sendRevert(deps, request);
    await refreshMessages(deps, request);
    return;
  }
  if ((request.status === "approved" || request.status === "auto_approved") && due(request, now)) {
    if (attempts >= jobs.maxAttempts) {
      return giveUp({ type: "failed", at: now, error: gaveUpError("no apply result came back") });
    }
    // The attempt counts before the send: a send that always fails still ends in a final state.
    await note();
    await sendApply(deps, request);
    result.resent.push(request.requestId);
    return;
  }
  if (owesFollowUpRevert(request) && due(request, now)) {
    if (attempts >= jobs.maxAttempts) {
      return giveUp({
        type: "follow_up_reverted",
        at: now,
        error: gaveUpError("no result of the revert came back"),
      });
    }
    await note();
    await sendRevert(deps, request);
    result.resent.push(request.requestId);
  }
}

const due = (request: ApprovalRequest, now: string) =>
  request.due !== undefined && request.due <= now;
