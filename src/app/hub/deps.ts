/**
 * What every hub use case shares: its dependencies, the time budgets of a Slack click, and the
 * steps they all take (move a request on with one conditional write; bring its Slack messages up
 * to date).
 */
import type { Governance } from "../../domain/binding.js";
import type { Change } from "../../domain/change.js";
import type { PeopleConfig } from "../../domain/identity.js";
import type { Policy } from "../../domain/policy/index.js";
import {
  type ApprovalRequest,
  IllegalTransitionError,
  type JobSettings,
  type RequestEvent,
  scheduled,
  transition,
} from "../../domain/request.js";
import { type ChannelKind, requestMessage } from "../../domain/slack/index.js";
import { ConflictError } from "../../ports/errors.js";
import type { Log } from "../../ports/log.js";
import type { Metrics } from "../../ports/metrics.js";
import type { Notifier } from "../../ports/notifier.js";
import type { Publisher } from "../../ports/publisher.js";
import type { RequestStore } from "../../ports/requests.js";

export interface HubDeps {
  requests: RequestStore;
  notifier: Notifier;
  publisher: Publisher;
  clock: () => Date;
  log: Log;
  metrics: Metrics;
  /** The request id for a change: the same event always gets the same id (redelivery is a no-op). */
  requestIdFor(change: Pick<Change, "account" | "region" | "eventId" | "eventTime">): string;
  config: {
    approvalChannel: string;
    monitoringChannel: string;
    approverUserIds: readonly string[];
    approverUserGroup?: string;
    /** The Slack workspace and app whose clicks count; others are refused. */
    slackTeamId?: string;
    slackAppId?: string;
    denyTopicArn: string;
    memberApplyTopicArn(account: string, region: string): string;
    expiryHours: number;
    accountAliases: Readonly<Record<string, string>>;
    governance: Governance;
    people: PeopleConfig;
    jobs: JobSettings;
    /**
     * The hub's own copy of the policy (the switches and the policy file, merged): it routes each
     * request a person decides (approvals, approvers, channel, expiry) from this, never from a
     * member's message. Absent: no file, the switches' defaults (require_approval, "default").
     */
    policy?: Policy;
  };
}

/** `work`'s result, or a rejection naming `what` once `ms` have passed. */
export function withTimeout<T>(work: Promise<T>, what: string, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} gave no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Waits for `work` at most `ms`; the work goes on (or is dropped by Lambda) after that. */
export function withinBudget(work: Promise<unknown>, ms: number): Promise<void> {
  return withTimeout(work, "", Math.max(0, ms)).then(
    () => undefined,
    () => undefined,
  );
}

export const errorText = (err: unknown): string =>
  err instanceof Error ? err.message : String(err);

/** A request's channel of each kind: its approval channel is its policy rule's, if it has one. */
export function channelOf(
  deps: HubDeps,
  kind: ChannelKind,
  request?: Pick<ApprovalRequest, "channel">,
): string {
  return kind === "approval"
    ? (request?.channel ?? deps.config.approvalChannel)
    : deps.config.monitoringChannel;
}

/** Every channel a request's approval message may be in: the deployment's and the policy's. */
export function approvalChannels(deps: HubDeps): Set<string> {
  const channels = new Set([deps.config.approvalChannel]);
  for (const rule of deps.config.policy?.rules ?? []) if (rule.channel) channels.add(rule.channel);
  return channels;
}

/** Brings the Slack messages the request has up to date; a failure is logged, not thrown. */
export async function refreshMessages(deps: HubDeps, request: ApprovalRequest): Promise<void> {
  const kinds: ChannelKind[] = ["approval", "monitoring"];
  await Promise.all(
    kinds.map(async (kind) => {
      const ref = request.slack?.[kind];
      if (!ref) return;
      try {
        await deps.notifier.update(ref, requestMessage(request, kind));
      } catch (err) {
        deps.log.error("could not update the Slack message", {
          requestId: request.requestId,
          channel: kind,
          error: errorText(err),
        });
      }
    }),
  );
}

/** The request after `event`, with its next job time; throws IllegalTransitionError. */
export function next(
  deps: HubDeps,
  request: ApprovalRequest,
  event: RequestEvent,
): ApprovalRequest {
  return scheduled(transition(request, event), deps.config.jobs);
}

/**
 * Moves a request on by one event, persisted with one conditional write on its status and
 * version. Returns the new request, or undefined when the step is illegal or another writer got
 * there first (a second click, a race, a redelivered message): then nothing was changed.
 */
export async function advance(
  deps: HubDeps,
  request: ApprovalRequest,
  event: RequestEvent,
): Promise<ApprovalRequest | undefined> {
  try {
    const after = next(deps, request, event);
    await deps.requests.transition(request, after);
    return after;
  } catch (err) {
    if (err instanceof IllegalTransitionError || err instanceof ConflictError) return undefined;
    throw err;
  }
}

/** The alias the hub's own config gives an account (never one a member supplied). */
export function aliasOf(deps: HubDeps, account: string): string | undefined {
  return deps.config.accountAliases[account];
}
