/**
 * `npm run bench [-- --json] [--rounds N] [--burst N] [--groups N] [--clicks N] [--cold-rounds N]
 *   [--warmup N] [--burst-rounds N]`:
 * figures, not pass/fail. Defaults are small enough to run in about a minute.
 *   1. core: CloudTrail events parsed + revert-planned per second; a 500-rule approval message
 *      built and validated;
 *   2. warm (--rounds, default 10): one change at a time on the local stack, from the change to
 *      its revert, to its approval message, and from the Approve click to "applied";
 *   3. motoRawPerSecond: --burst authorize + revoke pairs sent straight to moto, all at once;
 *   4. burst (--burst changes, default 120, over both sandbox accounts, --groups groups each,
 *      default 10): the same pairs made by people through the EC2 proxy, all at once; each is
 *      reverted by its member, filed by the hub and posted to both channels. lost (not reverted,
 *      not filed or not posted), duplicates, changes per second until all settled, and the
 *      revert's EC2 call inside the handler. ratio = burst.perSecond / motoRawPerSecond;
 *   5. click (--clicks, default 100): that many Approve clicks on one request at once, in this
 *      process: each answer's time, and how many decisions were recorded (one is right);
 *   6. coldStart (--cold-rounds, default 5; see cold-start.ts): each bundle imported in a fresh
 *      process minus a bare one, medians; buttonClick's first click too. bundles: their sizes.
 *      coldStartModel carries buttonClick's whole cold CPU (Node's start, the import, the first
 *      click) to Lambda: CPU in proportion to memory (a full vCPU at 1,769 MB), a Lambda core
 *      SPEED_FACTOR times slower than this machine's; buttonClickMinMb is the least memory that
 *      leaves IO_ALLOWANCE_MS for the calls within Slack's 3 s. infra/memory.ts sets it from this.
 *      revertColdMsAt: the same for revertSecurityGroup's start (Node and the import), the time a
 *      change stays live when the revert is cold; REVERT_MEMORY_MB is set from it.
 *   Before 3 and 4, unmeasured rounds of each (--warmup pairs in all, default 240, --burst at a
 *   time; 0: none) on groups of their own: both are measured warm, the JIT done and the
 *   connections open. Then 3 and 4 run alternately, --burst-rounds times (default 3), each
 *   round on groups of its own: the figures are the medians (the burst's round of median rate),
 *   lost and duplicates added up over all.
 * With --json the last line is one JSON object with every figure.
 */
import { readdirSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { BUTTON_CLICK_MEMORY_MB, REVERT_MEMORY_MB } from "../infra/memory.js";
import { requestIdFor } from "../src/adapters/ids.js";
import { type Change, isResolved } from "../src/domain/change.js";
import {
  GroupNamedOnlyError,
  parseCloudTrailEvent,
  withGroupId,
} from "../src/domain/cloudtrail.js";
import { revertPlan } from "../src/domain/plan.js";
import { createRequest } from "../src/domain/request.js";
import type { Rule } from "../src/domain/rule.js";
import { approvalMessage, validateMessage } from "../src/domain/slack/index.js";
import { startLocalStack } from "../src/sandbox/stack.js";
import { type ColdFigures, measureColdStart } from "./cold-start.js";
import { firstClick } from "./first-click.js";
import {
  type BurstResult,
  benchBurst,
  benchClicks,
  benchMotoRaw,
  benchWarm,
  createGroups,
  watchedLog,
} from "./local.js";
import { People } from "./people.js";
import { median, percentile, round } from "./stats.js";

function numberArg(argv: readonly string[], flag: string, fallback: number, least = 1): number {
  const i = argv.indexOf(flag);
  const raw = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`${flag}=`))?.split("=")[1];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < least) {
    throw new Error(`${flag} wants a whole number >= ${least}: ${raw}`);
  }
  return n;
}

const argv = process.argv.slice(2);
const JSON_OUT = argv.includes("--json");
const OPTIONS = {
  rounds: numberArg(argv, "--rounds", Number(process.env.BENCH_ROUNDS ?? 10)),
  // 120: at 60 (two seconds here) the pipeline's filling and draining weighed about a quarter
  // of the window, so the burst's rate read well under the one it sustains; moto's gets as many.
  burst: numberArg(argv, "--burst", 120),
  groups: numberArg(argv, "--groups", 10),
  clicks: numberArg(argv, "--clicks", 100),
  burstRounds: numberArg(argv, "--burst-rounds", 3),
  warmup: numberArg(argv, "--warmup", 240, 0),
  coldRounds: numberArg(argv, "--cold-rounds", 5),
};
/** Lambda gives a function one full vCPU at 1,769 MB, and CPU in proportion below that. */
const FULL_VCPU_MB = 1769;
/**
 * How much slower one Lambda arm64 (Graviton2) core runs this JavaScript than one core of this
 * machine: an assumption (not measured here), on the safe side for a recent x86 server core.
 */
const SPEED_FACTOR = 2;
/**
 * What a cold Approve waits on besides its CPU, on Lambda: Secrets Manager, DynamoDB (read and
 * write), SNS and Slack (users.info, chat.update) in the same region, about 50-100 ms each.
 */
const IO_ALLOWANCE_MS = 500;
/** Slack's limit for the answer to an interaction. */
const SLACK_ANSWER_MS = 3000;

const progress = (what: string) => {
  if (JSON_OUT) process.stderr.write(`bench: ${what}\n`);
};

// ---- 1. the pure core ----------------------------------------------------------------------

function fixtures(dir: string): unknown[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? fixtures(join(dir, e.name))
      : e.name.endsWith(".json")
        ? [JSON.parse(readFileSync(join(dir, e.name), "utf8"))]
        : [],
  );
}

/** Fixtures as a member parses them: a group named only by name gets an id, as its lookup would. */
function parseable(event: unknown): unknown {
  try {
    parseCloudTrailEvent(event);
    return event;
  } catch (err) {
    if (err instanceof GroupNamedOnlyError) return withGroupId(event, "sg-0be0c000000000001");
    throw err;
  }
}

function benchCore() {
  const events = fixtures("test/fixtures/cloudtrail").map(parseable);
  const iterations = 20_000;
  const t0 = performance.now();
  let planned = 0;
  for (let i = 0; i < iterations; i++) {
    const parsed = parseCloudTrailEvent(events[i % events.length]);
    if (!parsed.ignored && isResolved(parsed.change)) planned += revertPlan(parsed.change).length;
  }
  const eventsPerSecond = Math.round((iterations / (performance.now() - t0)) * 1000);

  const rules: Rule[] = Array.from({ length: 500 }, (_, i) => ({
    direction: "ingress",
    protocol: "tcp",
    fromPort: 1000 + i,
    toPort: 1000 + i,
    peer: { kind: "cidrIpv4", cidr: i % 7 ? `10.${i >> 8}.${i & 255}.0/24` : "0.0.0.0/0" },
    description: `rule ${i}`,
  }));
  const change: Change = {
    kind: "add",
    direction: "ingress",
    rules,
    eventName: "AuthorizeSecurityGroupIngress",
    eventId: "bench",
    eventTime: "2026-11-23T10:00:00Z",
    account: "111122223333",
    region: "us-east-1",
    groupId: "sg-0be0c00000000000a",
    requester: { arn: "arn:aws:iam::111122223333:user/alice", type: "IAMUser", name: "alice" },
  };
  const request = createRequest({
    requestId: requestIdFor(change),
    change,
    verification: { verified: false, reason: "an IAM user nobody mapped" },
    requiredApprovals: 2,
    now: change.eventTime,
    expiresAt: "2026-11-24T10:00:00Z",
  });
  const t1 = performance.now();
  const n = 200;
  let violations = 0;
  for (let i = 0; i < n; i++) violations += validateMessage(approvalMessage(request)).length;
  return {
    eventsPerSecond,
    plannedCalls: planned,
    message500RulesMs: round((performance.now() - t1) / n, 2),
    violations,
  };
}

// ---- the run ---------------------------------------------------------------------------------

async function main() {
  progress("core");
  const core = benchCore();
  const log = watchedLog();
  progress("starting the local stack");
  const t0 = performance.now();
  const stack = await startLocalStack({ signingSecret: "bench", log, retryBackoffMs: () => 20 });
  const stackStartMs = performance.now() - t0;
  const people = People.start();
  try {
    progress(`warm: ${OPTIONS.rounds} changes one at a time`);
    const warm = await benchWarm(stack, OPTIONS.rounds);
    // Unmeasured rounds of each, at most --burst pairs at a time, on groups of their own, so
    // that both measured runs find the code compiled and the connections open (a Lambda's is
    // warm after its first calls too). One round of 60 was not enough here: the first measured
    // burst was the slowest in most runs, and a burst's CPU per change kept falling over the
    // next few hundred changes as V8 went on optimising (about 100 functions per burst).
    for (let left = OPTIONS.warmup; left > 0; left -= OPTIONS.burst) {
      const pairs = Math.min(left, OPTIONS.burst);
      progress(`warm-up: ${pairs} pairs straight to moto, then as a burst (${left} to go)`);
      const spare = await createGroups(stack, OPTIONS.groups);
      await benchMotoRaw(stack, people, spare, pairs);
      await benchBurst(stack, people, spare, pairs);
    }
    // Each round on groups of its own: moto's rate, then the burst's, alternately, so that a
    // moment of noise on this machine weighs on one round of each, not on one of the two.
    const rounds: { raw: { perSecond: number }; burst: BurstResult }[] = [];
    for (let r = 1; r <= OPTIONS.burstRounds; r++) {
      const groups = await createGroups(stack, OPTIONS.groups);
      await stack.idle();
      progress(`moto raw ${r}/${OPTIONS.burstRounds}: ${OPTIONS.burst} authorize + revoke pairs`);
      const raw = await benchMotoRaw(stack, people, groups, OPTIONS.burst);
      progress(`burst ${r}/${OPTIONS.burstRounds}: ${OPTIONS.burst} changes at once`);
      rounds.push({ raw, burst: await benchBurst(stack, people, groups, OPTIONS.burst) });
    }
    const rawPerSecond = median(rounds.map((r) => r.raw.perSecond));
    const burst = medianBurst(rounds.map((r) => r.burst));
    progress(`click: ${OPTIONS.clicks} clicks at once`);
    const click = await benchClicks(stack, log, OPTIONS.clicks);
    const cold = await measureColdStart({
      rounds: OPTIONS.coldRounds,
      firstCall: await firstClick(stack, OPTIONS.coldRounds),
      onProgress: progress,
    });
    const mem = process.memoryUsage();

    const button = cold.coldStart.buttonClick;
    const clickCpuMs = cold.bare.cpuMs + (button?.cpuMs ?? 0) + (button?.firstCallCpuMs ?? 0);
    const atMb = (mb: number) => round((clickCpuMs * SPEED_FACTOR * FULL_VCPU_MB) / mb);
    // The least memory (in 64 MB steps) whose modelled CPU leaves the I/O allowance within 3 s.
    const minMb =
      Math.ceil(
        (clickCpuMs * SPEED_FACTOR * FULL_VCPU_MB) / (SLACK_ANSWER_MS - IO_ALLOWANCE_MS) / 64,
      ) * 64;
    // A cold revert: Node's start and the bundle's import, before its first EC2 call, while the
    // change is live (its own calls come on top).
    const revertCpuMs = cold.bare.cpuMs + (cold.coldStart.revertSecurityGroup?.cpuMs ?? 0);
    const revertAt = (mb: number) => round((revertCpuMs * SPEED_FACTOR * FULL_VCPU_MB) / mb);
    const result = {
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model ?? "",
        load: loadavg().map((l) => round(l, 2)),
        node: process.version,
      },
      options: OPTIONS,
      core,
      stackStartMs: round(stackStartMs),
      warm: {
        rounds: warm.rounds,
        revertP50Ms: round(percentile(warm.revertMs, 50)),
        postedP50Ms: round(percentile(warm.postedMs, 50)),
        appliedP50Ms: round(percentile(warm.appliedMs, 50)),
        appliedP95Ms: round(percentile(warm.appliedMs, 95)),
      },
      coldStart: cold.coldStart,
      coldStartBare: cold.bare,
      coldStartModel: {
        fullVcpuMb: FULL_VCPU_MB,
        speedFactor: SPEED_FACTOR,
        buttonClickCpuMs: round(clickCpuMs),
        buttonClickCpuMsAt: { 256: atMb(256), 512: atMb(512), 1024: atMb(1024) },
        ioAllowanceMs: IO_ALLOWANCE_MS,
        buttonClickMinMb: minMb,
        /** What infra/memory.ts deploys, and whether it covers the least that fits. */
        buttonClickMemoryMb: BUTTON_CLICK_MEMORY_MB,
        buttonClickFits: BUTTON_CLICK_MEMORY_MB >= minMb,
        revertCpuMs: round(revertCpuMs),
        revertColdMsAt: { 256: revertAt(256), 1024: revertAt(1024), 1769: revertAt(1769) },
        revertMemoryMb: REVERT_MEMORY_MB,
        revertColdMs: revertAt(REVERT_MEMORY_MB),
      },
      bundles: cold.bundles,
      click: {
        clicks: click.clicks,
        p50Ms: click.p50Ms,
        p99Ms: click.p99Ms,
        maxMs: click.maxMs,
        over3s: click.over3s,
        decisions: click.decisions,
        outcomes: click.outcomes,
      },
      burst,
      motoRawPerSecond: round(rawPerSecond, 1),
      motoRawPerSecondRounds: rounds.map((r) => round(r.raw.perSecond, 1)),
      ratio: round(burst.perSecond / rawPerSecond, 2),
      memory: { rssMiB: round(mem.rss / 2 ** 20), heapUsedMiB: round(mem.heapUsed / 2 ** 20) },
    };
    if (JSON_OUT) console.log(JSON.stringify(result));
    else printTable(result);
  } finally {
    await people.stop();
    await stack.stop();
  }
}

/**
 * The round of median rate, with what went wrong in any round added up (a change lost in one
 * round is lost), and every round's rate.
 */
function medianBurst(
  results: BurstResult[],
): BurstResult & { rounds: number; perSecondRounds: number[] } {
  const byRate = [...results].sort((a, b) => a.perSecond - b.perSecond);
  const mid = byRate[Math.floor((byRate.length - 1) / 2)] as BurstResult;
  const sum = (f: (b: BurstResult) => number) => results.reduce((n, b) => n + f(b), 0);
  return {
    ...mid,
    lost: sum((b) => b.lost),
    unreverted: sum((b) => b.unreverted),
    duplicateRequests: sum((b) => b.duplicateRequests),
    duplicateMessages: sum((b) => b.duplicateMessages),
    rounds: results.length,
    perSecondRounds: results.map((b) => b.perSecond),
  };
}

function printTable(r: {
  machine: { cpus: number; model: string; load: number[]; node: string };
  core: { eventsPerSecond: number; plannedCalls: number; message500RulesMs: number };
  stackStartMs: number;
  warm: Record<string, number>;
  coldStart: Record<string, ColdFigures>;
  coldStartBare: { importMs: number; cpuMs: number };
  coldStartModel: {
    buttonClickCpuMs: number;
    buttonClickCpuMsAt: Record<number, number>;
    ioAllowanceMs: number;
    buttonClickMinMb: number;
    buttonClickMemoryMb: number;
    buttonClickFits: boolean;
    revertCpuMs: number;
    revertColdMsAt: Record<number, number>;
    revertMemoryMb: number;
    revertColdMs: number;
  };
  bundles: Record<string, { bytes: number; gzipBytes: number }>;
  click: Record<string, unknown>;
  burst: BurstResult & { rounds: number; perSecondRounds: number[] };
  motoRawPerSecond: number;
  motoRawPerSecondRounds: number[];
  ratio: number;
  memory: Record<string, number>;
}) {
  const line = (label: string, value: string) => console.log(`${label.padEnd(34)} ${value}`);
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  line("machine", `${r.machine.cpus} x ${r.machine.model}, load ${r.machine.load.join(" ")}`);
  line("core: events parsed + planned", `${r.core.eventsPerSecond}/s`);
  line("core: 500-rule message", `${r.core.message500RulesMs} ms`);
  line("stack started", `${r.stackStartMs} ms`);
  line("warm: change -> reverted", `p50 ${r.warm.revertP50Ms} ms`);
  line("warm: change -> message posted", `p50 ${r.warm.postedP50Ms} ms`);
  line("warm: click -> applied", `p50 ${r.warm.appliedP50Ms} ms, p95 ${r.warm.appliedP95Ms} ms`);
  console.log(
    `\n${"cold start (beyond bare node)".padEnd(34)}${"import ms".padStart(10)}${"cpu ms".padStart(8)}${"1st call".padStart(10)}${"its cpu".padStart(9)}${"minified".padStart(12)}${"gzip".padStart(11)}`,
  );
  for (const [name, c] of Object.entries(r.coldStart)) {
    const b = r.bundles[name];
    console.log(
      `${name.padEnd(34)}${String(c.importMs).padStart(10)}${String(c.cpuMs).padStart(8)}${String(c.firstCallMs ?? "").padStart(10)}${String(c.firstCallCpuMs ?? "").padStart(9)}${(b ? kib(b.bytes) : "").padStart(12)}${(b ? kib(b.gzipBytes) : "").padStart(11)}`,
    );
  }
  line(
    "bare node (subtracted)",
    `import ${r.coldStartBare.importMs} ms, cpu ${r.coldStartBare.cpuMs} ms`,
  );
  const at = r.coldStartModel.buttonClickCpuMsAt;
  line(
    "buttonClick cold path, CPU",
    `${r.coldStartModel.buttonClickCpuMs} ms here; modelled on Lambda: ${at[256]} ms at 256 MB, ${at[512]} ms at 512 MB, ${at[1024]} ms at 1024 MB`,
  );
  line(
    "buttonClick memory for a cold answer in 3 s",
    `at least ${r.coldStartModel.buttonClickMinMb} MB (CPU as modelled + ${r.coldStartModel.ioAllowanceMs} ms of AWS and Slack calls); deployed with ${r.coldStartModel.buttonClickMemoryMb} MB (infra/memory.ts): ${r.coldStartModel.buttonClickFits ? "fits" : "does NOT fit"}`,
  );
  const rv = r.coldStartModel.revertColdMsAt;
  line(
    "revert cold start (change live)",
    `${r.coldStartModel.revertCpuMs} ms of CPU here; modelled on Lambda: ${rv[256]} ms at 256 MB, ${rv[1024]} ms at 1024 MB, ${rv[1769]} ms at 1769 MB; deployed with ${r.coldStartModel.revertMemoryMb} MB: ${r.coldStartModel.revertColdMs} ms`,
  );
  const c = r.click;
  console.log("");
  line(
    `click: ${c.clicks} at once on one request`,
    `p50 ${c.p50Ms} ms, p99 ${c.p99Ms} ms, max ${c.maxMs} ms, ${c.over3s} over 3 s, ${c.decisions} decision(s) ${JSON.stringify(c.outcomes)}`,
  );
  const b = r.burst;
  line(
    `burst: ${b.changes} changes, ${b.accounts} accounts`,
    `${b.perSecond}/s, the median of ${b.rounds} rounds (${b.perSecondRounds.join(", ")}); the median round settled in ${b.settleMs} ms; all answered in ${b.answeredMs} ms, all reverted in ${b.revertedMs} ms = ${b.revertedPerSecond}/s; over all rounds: lost ${b.lost} (unreverted ${b.unreverted}), duplicate requests ${b.duplicateRequests}, duplicate messages ${b.duplicateMessages}`,
  );
  line("burst: revert inside the handler", `p50 ${b.revertP50Ms} ms, p95 ${b.revertP95Ms} ms`);
  line(
    "moto raw: authorize + revoke",
    `${r.motoRawPerSecond}/s, the median of ${r.motoRawPerSecondRounds.join(", ")}; burst/raw ratio ${r.ratio}`,
  );
  line("memory (this process)", `rss ${r.memory.rssMiB} MiB, heap ${r.memory.heapUsedMiB} MiB`);
}

await main();
