/**
 * What every member use case shares: its dependencies, how a plan is carried out against EC2, and
 * how the approved baseline learns the ids EC2 gave rules the system re-created.
 */
import { diffRuleSets } from "../../domain/baseline.js";
import { BaselineGapError, type Change } from "../../domain/change.js";
import { MalformedEventError } from "../../domain/cloudtrail.js";
import type { PeopleConfig } from "../../domain/identity.js";
import type { Ec2Operation } from "../../domain/plan.js";
import { mergePolicies, type Policy } from "../../domain/policy/index.js";
import type { PolicyConfig } from "../../domain/policy.js";
import type { ApplyError } from "../../domain/request.js";
import { matchingArnPattern, type Requester } from "../../domain/requester.js";
import type { Rule } from "../../domain/rule.js";
import type { Baselines, BaselineWhy, EventLedger, EventRef } from "../../ports/baselines.js";
import { OUTCOME_ERROR_CODES, SecurityGroupApiError } from "../../ports/errors.js";
import type { HubLink } from "../../ports/hub-link.js";
import type { Log } from "../../ports/log.js";
import type { Metrics } from "../../ports/metrics.js";
import type { SecurityGroups } from "../../ports/security-groups.js";

export interface MemberDeps {
  securityGroups: SecurityGroups;
  baselines: Baselines;
  ledger: EventLedger;
  hub: HubLink;
  clock: () => Date;
  log: Log;
  metrics: Metrics;
  ids: {
    /** The hub's request id for a change (the hub derives the same one). */
    requestIdFor(change: Pick<Change, "account" | "region" | "eventId" | "eventTime">): string;
    /** The event id of a drift: the same difference first seen at the same time, the same id. */
    driftEventId(groupId: string, fingerprint: string, firstSeenAt: string): string;
  };
  config: {
    /** This member's account and region: it acts on nothing else. */
    account: string;
    region: string;
    /** The config's four switches (systemRoleArns, exemptPrincipals, seedRules). */
    policy: PolicyConfig;
    /**
     * The deployment's policy file (the POLICY variable), if any: the member decides with
     * mergePolicies(policy, policyFile), as the hub does.
     */
    policyFile?: Policy;
    people: PeopleConfig;
    drift: {
      /** A difference is drift once seen this long (and by two sweeps); 0: at first sight. */
      graceSeconds: number;
      /** Drift reverted and filed per sweep at most; the rest waits for the next sweep. */
      maxPerSweep: number;
    };
    /** Which deployment this is (recorded with the install's adoption). */
    deployment: string;
  };
}

/** How long a revert, an apply or the sweep holds a group (a crash frees it after this). */
export const GROUP_LEASE_MS = 60_000;

export const leaseUntil = (deps: MemberDeps) =>
  new Date(deps.clock().getTime() + GROUP_LEASE_MS).toISOString();

/** Where the ledger keeps a change's event: with its group; a prefix list's, no one group's, apart. */
export const eventRef = (change: Pick<Change, "kind" | "eventId" | "groupId">): EventRef =>
  change.kind === "prefixList"
    ? { eventId: change.eventId }
    : { eventId: change.eventId, groupId: change.groupId };

/** EC2 errors that mean a step is already done (a redelivered event, or a race). */
function alreadyDone(op: Ec2Operation, err: unknown): boolean {
  if (!(err instanceof SecurityGroupApiError)) return false;
  if (op.action === "revoke")
    return (
      err.code === "InvalidPermission.NotFound" ||
      err.code === "InvalidSecurityGroupRuleId.NotFound"
    );
  if (op.action === "authorize") return err.code === "InvalidPermission.Duplicate";
  return false;
}

export function toApplyError(err: unknown): ApplyError {
  if (err instanceof SecurityGroupApiError) return { code: err.code, message: err.detail };
  if (err instanceof BaselineGapError) return { code: "BaselineGap", message: err.message };
  return { code: "InternalError", message: err instanceof Error ? err.message : String(err) };
}

export interface Performed {
  /** Operations EC2 carried out, with the rules it reported creating. */
  done: { op: Ec2Operation; created: readonly Rule[] }[];
  /** Some step's effect is not known exactly (done already, or fewer rules reported): re-read ids. */
  resync: boolean;
  error?: ApplyError;
}

/**
 * Runs the operations in order; steps EC2 says are done already are tolerated when asked. An
 * outcome error (Duplicate, NotFound, a limit…) stops the run and is returned; a throttling or
 * server error that outlasted the SDK's retries is thrown, so the invocation is retried.
 */
export async function perform(
  deps: MemberDeps,
  ops: readonly Ec2Operation[],
  tolerateDone: boolean,
): Promise<Performed> {
  const result: Performed = { done: [], resync: false };
  for (const op of ops) {
    try {
      const { created } = await deps.securityGroups.execute(op);
      result.done.push({ op, created });
      // EC2 reports every rule an authorize created; when it reports fewer, re-read the group.
      if (op.action === "authorize" && created.length < op.rules.length) result.resync = true;
    } catch (err) {
      if (tolerateDone && alreadyDone(op, err)) {
        result.resync = true;
        continue;
      }
      if (
        !(err instanceof SecurityGroupApiError) ||
        (!OUTCOME_ERROR_CODES.has(err.code) && err.retryable)
      )
        throw err;
      result.error = toApplyError(err);
      result.resync ||= result.done.length > 0;
      break;
    }
  }
  return result;
}

/** The live rules of one group, as EC2 describes them now. */
export async function liveRules(deps: MemberDeps, groupId: string): Promise<Rule[]> {
  const rules: Rule[] = [];
  for await (const { rule } of deps.securityGroups.describeRules([groupId])) rules.push(rule);
  return rules;
}

/**
 * Writes the approved rules `after` over `before` (both with ids), recording why. Only what
 * differs is written.
 */
export async function writeBaseline(
  deps: MemberDeps,
  groupId: string,
  before: readonly Rule[],
  after: readonly Rule[],
  why: BaselineWhy,
): Promise<void> {
  const delta = diffRuleSets(before, after);
  if (delta.put.length || delta.removeIds.length) await deps.baselines.update(groupId, delta, why);
}

const NO_FILE: Policy = { rules: [] };

/**
 * The policy the member decides with: the switches and the policy file, merged (a few array
 * copies: made per decision, so the config is the one truth).
 */
export function memberPolicy(deps: MemberDeps): Policy {
  return mergePolicies(deps.config.policy, deps.config.policyFile ?? NO_FILE);
}

export const why = (deps: MemberDeps, by: string): BaselineWhy => ({
  at: deps.clock().toISOString(),
  by,
});

/**
 * Whether this member may act on a recorded call: a reason to ignore it when this system's own
 * role made it (no loops), undefined when it may. A call of another account or region is refused:
 * counted and thrown, as a member speaks only for its own account.
 */
export function screenCall(
  deps: MemberDeps,
  call: { requester: Requester; account: string; region: string },
): string | undefined {
  const system = matchingArnPattern(call.requester, deps.config.policy.systemRoleArns);
  if (system) return `made by this system's own role (${system})`;
  if (call.account !== deps.config.account || call.region !== deps.config.region) {
    deps.metrics.count("RefusedInvocation");
    throw new MalformedEventError(
      `the event is for ${call.account} ${call.region}; this member governs ${deps.config.account} ${deps.config.region}`,
    );
  }
  return undefined;
}
