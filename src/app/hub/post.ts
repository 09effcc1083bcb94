/**
 * Exactly one approval and one monitoring message per request, however many deliveries of its
 * change race and whatever fails half-way. Each post is claimed first with one conditional write;
 * only the claimant posts. A claim older than its lease, or one given up after a failed post, may
 * have posted already (Slack can time out after it took the message), so whoever takes it over
 * looks for that post first — every message carries the request id in its metadata — and posts
 * only when there is none.
 */
import {
  type ApprovalRequest,
  dueAt,
  missingMessages,
  type SlackMessageRef,
} from "../../domain/request.js";
import { type ChannelKind, requestMessage } from "../../domain/slack/index.js";
import { NotifierError } from "../../ports/errors.js";
import { channelOf, errorText, type HubDeps } from "./deps.js";

/** A post that failed without an answer from Slack (time-out, network): it may land later. */
const mayStillLand = (err: unknown): boolean =>
  err instanceof NotifierError && (err.code === "timeout" || err.code === "network_error");

/** A claim this old is taken over: its holder crashed or is stuck. */
export const POST_CLAIM_LEASE_MS = 60_000;

export type PostOutcome = "posted" | "found" | "claimed_elsewhere";

/** A claim older than this, taken when `now`, is stale. */
const staleBefore = (now: Date) => new Date(now.getTime() - POST_CLAIM_LEASE_MS).toISOString();

/**
 * Posts one message this caller holds the claim to. After an earlier claim (which may have
 * posted) it looks for that post first. A failed post gives the claim up, marked stale.
 */
async function postClaimed(
  deps: HubDeps,
  request: ApprovalRequest,
  kind: ChannelKind,
  earlier: string | undefined,
): Promise<{ outcome: PostOutcome; ref: SlackMessageRef }> {
  const channel = channelOf(deps, kind, request);
  const tag = { requestId: request.requestId, kind };
  if (earlier !== undefined) {
    const since = Math.floor(Date.parse(request.createdAt) / 1000) - 60;
    const found = await deps.notifier.findPosted(channel, tag, since);
    if (found) return { outcome: "found", ref: found };
  }
  try {
    return {
      outcome: "posted",
      ref: await deps.notifier.post(channel, requestMessage(request, kind), tag),
    };
  } catch (err) {
    if (mayStillLand(err)) {
      // No answer: the post may still be on its way to Slack. The claim is kept for its lease,
      // so that the retry that takes it over, and looks for the post first, comes after it landed.
      throw err;
    }
    // Slack answered with a failure: the claim stays, marked stale, so the retry looks first.
    await deps.requests
      .releasePost(request.requestId, kind)
      .catch((e: unknown) =>
        deps.log.warn("could not give up the post's claim", { error: errorText(e) }),
      );
    throw err;
  }
}

async function postOne(
  deps: HubDeps,
  request: ApprovalRequest,
  kind: ChannelKind,
): Promise<{ outcome: PostOutcome; ref?: SlackMessageRef }> {
  const now = deps.clock();
  if (
    !(await deps.requests.claimPost(request.requestId, kind, now.toISOString(), staleBefore(now)))
  ) {
    return { outcome: "claimed_elsewhere" };
  }
  return postClaimed(deps, request, kind, request.postClaims?.[kind]);
}

/** Records refs just posted (one write) and returns the request with them. */
async function recordRefs(
  deps: HubDeps,
  request: ApprovalRequest,
  refs: Partial<Record<ChannelKind, SlackMessageRef>>,
): Promise<ApprovalRequest> {
  if (Object.keys(refs).length === 0) return request;
  const withRefs: ApprovalRequest = { ...request, slack: { ...request.slack, ...refs } };
  await deps.requests.setSlackRefs(request.requestId, refs, dueAt(withRefs, deps.config.jobs));
  return withRefs;
}

/**
 * The claims a new request is born with: its creator holds the posts it is to make, written with
 * the request itself (no claim write of their own). Only the caller whose create wins may post
 * them with `postHeld`; anyone else finds them claimed, as if claimed by `claimPost`.
 */
export function bornClaimed(request: ApprovalRequest, at: Date): ApprovalRequest {
  const kinds = missingMessages(request);
  if (kinds.length === 0) return request;
  return {
    ...request,
    postClaims: Object.fromEntries(kinds.map((kind) => [kind, at.toISOString()])),
  };
}

/**
 * A new request's messages, none claimed before: claimed in one write, posted side by side and
 * recorded in one write. Undefined when another caller holds a claim (the caller goes one by one).
 */
async function postAllAtOnce(
  deps: HubDeps,
  request: ApprovalRequest,
  kinds: ChannelKind[],
): Promise<{ request: ApprovalRequest; posted: ChannelKind[] } | undefined> {
  const now = deps.clock();
  if (
    !(await deps.requests.claimPost(request.requestId, kinds, now.toISOString(), staleBefore(now)))
  ) {
    return undefined;
  }
  return postHeld(deps, request, kinds);
}

/**
 * Posts messages whose claims this caller holds and no one may have posted (its own fresh claim,
 * or a request it created born claimed): side by side, the refs recorded in one write. Throws
 * when Slack fails, after recording what did succeed and giving up the failed claims.
 */
export async function postHeld(
  deps: HubDeps,
  request: ApprovalRequest,
  kinds: ChannelKind[],
): Promise<{ request: ApprovalRequest; posted: ChannelKind[] }> {
  const results = await Promise.allSettled(
    kinds.map((kind) => postClaimed(deps, request, kind, undefined)),
  );
  const refs: Partial<Record<ChannelKind, SlackMessageRef>> = {};
  const posted: ChannelKind[] = [];
  let failure: unknown;
  results.forEach((result, i) => {
    const kind = kinds[i] as ChannelKind;
    if (result.status === "rejected") failure ??= result.reason;
    else {
      refs[kind] = result.value.ref;
      posted.push(kind);
    }
  });
  const current = await recordRefs(deps, request, refs);
  if (failure !== undefined) throw failure;
  return { request: current, posted };
}

/**
 * Posts the messages the request should have and has not (both while pending, the monitoring
 * one otherwise), recording each ref as soon as it exists. Throws when Slack fails, after
 * recording what did succeed; the scheduled job tries again.
 */
export async function ensureMessages(
  deps: HubDeps,
  request: ApprovalRequest,
): Promise<{ request: ApprovalRequest; posted: ChannelKind[] }> {
  const missing = missingMessages(request);
  if (missing.length > 1 && missing.every((kind) => request.postClaims?.[kind] === undefined)) {
    const together = await postAllAtOnce(deps, request, missing);
    if (together) return together;
  }
  let current = request;
  const posted: ChannelKind[] = [];
  for (const kind of missing) {
    const { outcome, ref } = await postOne(deps, current, kind);
    if (!ref) continue;
    current = await recordRefs(deps, current, { [kind]: ref });
    if (outcome === "posted") posted.push(kind);
  }
  return { request: current, posted };
}
