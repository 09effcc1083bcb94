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
import { channelOf, errorText, type HubDeps } from "./deps.js";

/** A claim this old is taken over: its holder crashed or is stuck. */
export const POST_CLAIM_LEASE_MS = 60_000;

export type PostOutcome = "posted" | "found" | "claimed_elsewhere";

async function postOne(
  deps: HubDeps,
  request: ApprovalRequest,
  kind: ChannelKind,
): Promise<{ outcome: PostOutcome; ref?: SlackMessageRef }> {
  const now = deps.clock();
  const staleBefore = new Date(now.getTime() - POST_CLAIM_LEASE_MS).toISOString();
  const earlier = request.postClaims?.[kind];
  if (!(await deps.requests.claimPost(request.requestId, kind, now.toISOString(), staleBefore))) {
    return { outcome: "claimed_elsewhere" };
  }
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
    // The post may still have reached Slack: the claim stays, marked stale, so the retry looks first.
    await deps.requests
      .releasePost(request.requestId, kind)
      .catch((e: unknown) =>
        deps.log.warn("could not give up the post's claim", { error: errorText(e) }),
      );
    throw err;
  }
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
  let current = request;
  const posted: ChannelKind[] = [];
  for (const kind of missingMessages(request)) {
    const { outcome, ref } = await postOne(deps, current, kind);
    if (!ref) continue;
    const slack = { ...current.slack, [kind]: ref };
    const withRef: ApprovalRequest = { ...current, slack };
    await deps.requests.setSlackRefs(
      current.requestId,
      { [kind]: ref },
      dueAt(withRef, deps.config.jobs),
    );
    current = withRef;
    if (outcome === "posted") posted.push(kind);
  }
  return { request: current, posted };
}
