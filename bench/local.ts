/**
 * The benchmarks on the local stack (moto behind the CloudTrail proxy, dynalite, the loopback
 * Slack API, the real handlers wired as in AWS), all in this process but moto and dynalite; the
 * people making the measured changes call from a thread of their own (people.ts):
 *   - warm: one change at a time, from the change to its revert, to its message, to "applied";
 *   - moto raw: authorize + revoke pairs sent straight to moto, all at once;
 *   - burst: the same pairs made by people through the proxy, all at once, over both accounts:
 *     every change reverted, filed once and posted once per channel, and how fast;
 *   - clicks: many Approve clicks on one request at once, each answer timed.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  type EC2Client,
} from "@aws-sdk/client-ec2";
import type { ApprovalRequest } from "../src/domain/request.js";
import type { Log } from "../src/ports/log.js";
import type { SecurityGroups } from "../src/ports/security-groups.js";
import { type LocalStack, SANDBOX, SANDBOX_MEMBERS } from "../src/sandbox/stack.js";
import {
  type Caller,
  type People,
  pairs,
  ec2Client as peopleClient,
  permission,
} from "./people.js";
import { percentile, round, sleep } from "./stats.js";

/** Who makes the changes in each member account: a person, so each change is governed. */
const PERSON_KEYS = ["alice", "staging-dev"] as const;

/** A log that drops everything but lets the benchmark watch the lines it counts. */
export function watchedLog(): Log & { on: (fn: (m: string, a?: object) => void) => () => void } {
  const watchers = new Set<(m: string, a?: object) => void>();
  const note = (message: string, attributes?: Record<string, unknown>) => {
    for (const w of watchers) w(message, attributes);
  };
  return {
    debug() {},
    info: note,
    warn: note,
    error: note,
    on(fn) {
      watchers.add(fn);
      return () => watchers.delete(fn);
    },
  };
}

/** A client of this thread's (set-up and checks; the measured changes come from People). */
const ec2Client = (endpoint: string, key: string): EC2Client =>
  peopleClient({ endpoint, key, region: SANDBOX.region });

async function waitFor(probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error("timed out");
    await sleep(5);
  }
}

let groupCount = 0;
async function createGroups(stack: LocalStack, perAccount: number): Promise<string[][]> {
  return Promise.all(
    SANDBOX_MEMBERS.map(async (member) => {
      const admin = ec2Client(stack.ec2Endpoint, member.adminAccessKey);
      const ids: string[] = [];
      for (let g = 0; g < perAccount; g++) {
        const { GroupId = "" } = await admin.send(
          new CreateSecurityGroupCommand({
            GroupName: `bench-${member.alias}-${++groupCount}`,
            Description: "bench",
          }),
        );
        ids.push(GroupId);
      }
      return ids;
    }),
  );
}

/** The ports of an add's rules (the burst's changes are adds). */
const portsOf = (r: ApprovalRequest): number[] =>
  r.change.kind === "add" ? r.change.rules.map((x) => x.fromPort ?? -1) : [];

/** Requests whose change is in one of `groups`, whatever their status. */
async function requestsIn(stack: LocalStack, groups: ReadonlySet<string>) {
  const statuses = ["pending", "approved", "applied", "failed", "denied", "auto_denied"] as const;
  const lists = await Promise.all(statuses.map((s) => stack.hubDeps.requests.listByStatus(s)));
  return lists.flat().filter((r) => groups.has(r.change.groupId));
}

// ---- warm: one change at a time -----------------------------------------------------------

export interface WarmResult {
  rounds: number;
  revertMs: number[];
  postedMs: number[];
  appliedMs: number[];
}

export async function benchWarm(stack: LocalStack, rounds: number): Promise<WarmResult> {
  const alice = ec2Client(stack.ec2Endpoint, "alice");
  const admin = ec2Client(stack.ec2Endpoint, "admin");
  const [groups = []] = await createGroups(stack, rounds);
  const result: WarmResult = { rounds, revertMs: [], postedMs: [], appliedMs: [] };
  for (let i = 0; i < rounds; i++) {
    const GroupId = groups[i] ?? "";
    const ingress = async () =>
      (
        (
          await admin.send(
            new DescribeSecurityGroupRulesCommand({
              Filters: [{ Name: "group-id", Values: [GroupId] }],
            }),
          )
        ).SecurityGroupRules ?? []
      ).filter((r) => !r.IsEgress).length;
    const start = performance.now();
    await alice.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId,
        IpPermissions: [
          {
            IpProtocol: "tcp",
            FromPort: 22,
            ToPort: 22,
            IpRanges: [{ CidrIp: `198.51.100.${i}/32` }],
          },
        ],
      }),
    );
    await waitFor(async () => (await ingress()) === 0);
    result.revertMs.push(performance.now() - start);
    let request: ApprovalRequest | undefined;
    await waitFor(async () => {
      request = (await stack.hubDeps.requests.listByStatus("pending")).find(
        (x) => x.change.groupId === GroupId && x.slack?.approval,
      );
      return request !== undefined;
    });
    result.postedMs.push(performance.now() - start);
    const clicked = performance.now();
    await stack.buttonClick(clickRequest(stack, request as ApprovalRequest, "U0BOB"));
    const requestId = request?.requestId ?? "";
    await waitFor(async () => (await stack.hubDeps.requests.get(requestId))?.status === "applied");
    result.appliedMs.push(performance.now() - clicked);
  }
  await stack.idle();
  return result;
}

/** Slack's interactivity request for an Approve click on a request's approval message. */
export function clickPayload(request: ApprovalRequest, user: string): string {
  const payload = JSON.stringify({
    type: "block_actions",
    user: { id: user, username: user.toLowerCase() },
    team: { id: SANDBOX.teamId },
    api_app_id: SANDBOX.appId,
    channel: { id: SANDBOX.approvalChannel },
    container: { channel_id: SANDBOX.approvalChannel, message_ts: request.slack?.approval?.ts },
    actions: [{ action_id: "approve", value: request.requestId }],
  });
  return new URLSearchParams({ payload }).toString();
}

function clickRequest(stack: LocalStack, request: ApprovalRequest, user: string) {
  return stack.signedRequest(clickPayload(request, user));
}

// ---- the burst, and the same calls straight to moto ---------------------------------------

/** Each member's person, calling `endpoint` (straight to moto: naming the member's account). */
const callers = (endpoint: string, direct: boolean): Caller[] =>
  SANDBOX_MEMBERS.map((m, i) => ({
    endpoint,
    key: PERSON_KEYS[i] ?? "alice",
    region: SANDBOX.region,
    ...(direct ? { account: m.account } : {}),
  }));

/**
 * Authorize + revoke (by the new rule's id, as the revert does) for every pair, all at once,
 * straight to moto: what moto itself sustains for the burst's calls.
 */
export async function benchMotoRaw(
  stack: LocalStack,
  people: People,
  groups: string[][],
  changes: number,
) {
  const start = performance.now();
  const { failed } = await people.run({
    callers: callers(stack.motoEndpoint, true),
    work: pairs(groups, changes),
    revoke: true,
  });
  const ms = performance.now() - start;
  if (failed > 0) throw new Error(`${failed} of ${changes} pairs failed straight to moto`);
  return { pairs: changes, ms, perSecond: changes / (ms / 1000) };
}

export interface BurstResult {
  changes: number;
  accounts: number;
  groups: number;
  lost: number;
  unreverted: number;
  duplicateRequests: number;
  duplicateMessages: number;
  perSecond: number;
  settleMs: number;
  answeredMs: number;
  /** From the first call to the last revert's EC2 call answered; changes reverted per second. */
  revertedMs: number;
  revertedPerSecond: number;
  revertP50Ms: number;
  revertP95Ms: number;
}

/** Times each member's EC2 writes (the revert inside the handler) while `run` runs. */
async function timingReverts<T>(
  stack: LocalStack,
  times: number[],
  ends: number[],
  run: () => Promise<T>,
) {
  const originals = stack.members.map(({ deps }) => deps.securityGroups);
  for (const { deps } of stack.members) {
    const sg = deps.securityGroups;
    const timed: SecurityGroups = {
      execute: async (op) => {
        const t = performance.now();
        try {
          return await sg.execute(op);
        } finally {
          const end = performance.now();
          times.push(end - t);
          ends.push(end);
        }
      },
      describeRules: (ids) => sg.describeRules(ids),
      describeGroups: (ids) => sg.describeGroups(ids),
      findGroupByName: (name) => sg.findGroupByName(name),
      describeGroup: (id) => sg.describeGroup(id),
    };
    deps.securityGroups = timed;
  }
  try {
    return await run();
  } finally {
    stack.members.forEach(({ deps }, i) => {
      deps.securityGroups = originals[i] as SecurityGroups;
    });
  }
}

export async function benchBurst(
  stack: LocalStack,
  people: People,
  groups: string[][],
  changes: number,
): Promise<BurstResult> {
  const work = pairs(groups, changes);
  const groupSet = new Set(groups.flat());
  const key = (groupId: string, port: number) => `${groupId}/${port}`;
  const wanted = new Set(work.map((p) => key(p.groupId, p.port)));
  const revertTimes: number[] = [];
  const revertEnds: number[] = [];
  const deadline = 60_000 + changes * 500;

  // Settled: every change posted in both channels (the fake tells each post: no polling, which
  // would take this process's CPU from the stack), then nothing more being delivered.
  const posted = new Set<string>();
  let allPosted: () => void = () => {};
  const everyPost = new Promise<void>((resolve) => {
    allPosted = resolve;
  });
  const unsubscribe = stack.slack.state.subscribe((e) => {
    if (e.type !== "message_posted") return;
    const p = e.message.metadata?.event_payload as
      | { requestId?: string; kind?: string }
      | undefined;
    if (p?.requestId) posted.add(`${p.requestId}/${p.kind}`);
    if (posted.size >= 2 * changes) allPosted();
  });
  let answeredMs = 0;
  let settleMs = Number.NaN;
  const start = performance.now();
  try {
    await timingReverts(stack, revertTimes, revertEnds, async () => {
      // A call that failed makes no change: it counts as lost below.
      await people.run({ callers: callers(stack.ec2Endpoint, false), work, revoke: false });
      answeredMs = performance.now() - start;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        everyPost,
        new Promise((resolve) => {
          timer = setTimeout(resolve, deadline);
        }),
      ]);
      clearTimeout(timer);
      await stack.idle();
      settleMs = performance.now() - start;
    });
  } finally {
    unsubscribe();
  }

  const requests = await requestsIn(stack, groupSet);
  const perChange = new Map<string, ApprovalRequest[]>();
  for (const r of requests) {
    for (const port of portsOf(r)) {
      const k = key(r.change.groupId, port);
      if (wanted.has(k)) perChange.set(k, [...(perChange.get(k) ?? []), r]);
    }
  }
  const admin = SANDBOX_MEMBERS.map((m) => ec2Client(stack.ec2Endpoint, m.adminAccessKey));
  const live = new Set<string>();
  for (const [i, ids] of groups.entries()) {
    const out = await (admin[i] as EC2Client).send(
      new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "group-id", Values: ids }] }),
    );
    for (const r of out.SecurityGroupRules ?? []) {
      if (!r.IsEgress) live.add(key(r.GroupId ?? "", r.FromPort ?? -1));
    }
  }
  const unreverted = [...wanted].filter((k) => live.has(k)).length;
  const lost = [...wanted].filter(
    (k) => live.has(k) || !perChange.get(k)?.some((r) => r.slack?.approval && r.slack?.monitoring),
  ).length;
  const duplicateRequests = [...perChange.values()].reduce((n, rs) => n + rs.length - 1, 0);
  const requestIds = new Set(requests.map((r) => r.requestId));
  const posts = new Map<string, number>();
  for (const m of stack.slack.state.messages()) {
    const p = m.metadata?.event_payload as { requestId?: string; kind?: string } | undefined;
    if (p?.requestId && requestIds.has(p.requestId)) {
      const k = `${p.requestId}/${p.kind}`;
      posts.set(k, (posts.get(k) ?? 0) + 1);
    }
  }
  const duplicateMessages = [...posts.values()].reduce((n, c) => n + c - 1, 0);
  return {
    changes,
    accounts: groups.length,
    groups: groupSet.size,
    lost,
    unreverted,
    duplicateRequests,
    duplicateMessages,
    perSecond: round(changes / (settleMs / 1000), 1),
    settleMs: round(settleMs),
    answeredMs: round(answeredMs),
    revertedMs: round(Math.max(...revertEnds) - start),
    revertedPerSecond: round(changes / ((Math.max(...revertEnds) - start) / 1000), 1),
    revertP50Ms: round(percentile(revertTimes, 50)),
    revertP95Ms: round(percentile(revertTimes, 95)),
  };
}

export { createGroups };

/** `n` changes by alice (one approval each), filed and posted, left pending. */
export async function pendingRequests(stack: LocalStack, n: number): Promise<ApprovalRequest[]> {
  const [[groupId = ""] = []] = await createGroups(stack, 1);
  const alice = ec2Client(stack.ec2Endpoint, "alice");
  for (let i = 0; i < n; i++) {
    await alice.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [permission(3000 + i)],
      }),
    );
  }
  let found: ApprovalRequest[] = [];
  await waitFor(async () => {
    found = (await stack.hubDeps.requests.listByStatus("pending")).filter(
      (x) => x.change.groupId === groupId && x.slack?.approval && x.slack?.monitoring,
    );
    return found.length >= n;
  });
  await stack.idle();
  return found;
}

// ---- many clicks on one request at once ----------------------------------------------------

export interface ClickResult {
  clicks: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  over3s: number;
  decisions: number;
  outcomes: Record<string, number>;
}

export async function benchClicks(
  stack: LocalStack,
  log: ReturnType<typeof watchedLog>,
  clicks: number,
): Promise<ClickResult> {
  const [[groupId = ""] = []] = await createGroups(stack, 1);
  const alice = ec2Client(stack.ec2Endpoint, "alice");
  await alice.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: groupId,
      IpPermissions: [permission(443)],
    }),
  );
  let request: ApprovalRequest | undefined;
  await waitFor(async () => {
    request = (await stack.hubDeps.requests.listByStatus("pending")).find(
      (x) => x.change.groupId === groupId && x.slack?.approval && x.slack?.monitoring,
    );
    return request !== undefined;
  });
  await stack.idle();
  const target = request as ApprovalRequest;
  const outcomes: Record<string, number> = {};
  let decisions = 0;
  const stop = log.on((message, attributes) => {
    const a = attributes as { requestId?: string; outcome?: string } | undefined;
    if (a?.requestId !== target.requestId) return;
    if (message === "interaction" && a.outcome)
      outcomes[a.outcome] = (outcomes[a.outcome] ?? 0) + 1;
    if (message === "request approved" || message === "request denied") decisions++;
  });
  // Signed beforehand: the clock starts when each request reaches the handler.
  const requests = Array.from({ length: clicks }, (_, i) =>
    clickRequest(stack, target, SANDBOX.approvers[i % SANDBOX.approvers.length] ?? "U0BOB"),
  );
  const times = await Promise.all(
    requests.map(async (r) => {
      const t = performance.now();
      await stack.buttonClick(r);
      return performance.now() - t;
    }),
  );
  stop();
  await stack.idle();
  return {
    clicks,
    p50Ms: round(percentile(times, 50)),
    p99Ms: round(percentile(times, 99)),
    maxMs: round(Math.max(...times)),
    over3s: times.filter((t) => t > 3000).length,
    decisions,
    outcomes,
  };
}
