/**
 * `npm run bench`: figures, not pass/fail.
 *   1. the pure core: CloudTrail events parsed + revert-planned per second, and a 500-rule
 *      approval message built and validated;
 *   2. on the local stack (moto, dynalite, loopback Slack, real handlers): how long from a
 *      person's change to its revert and to the approval message, and from the Approve click to
 *      "applied", over BENCH_ROUNDS changes (default 20); the process's memory after.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
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
import { silentLog } from "../src/ports/log.js";
import { startLocalStack } from "../src/sandbox/stack.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
const fmt = (xs: number[]) =>
  `p50 ${percentile(xs, 50).toFixed(0)} ms, p95 ${percentile(xs, 95).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`;

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
    if (err instanceof GroupNamedOnlyError) return withGroupId(event, "sg-0bench00000000001");
    throw err;
  }
}

function benchCore(): void {
  const events = fixtures("test/fixtures/cloudtrail").map(parseable);
  const iterations = 20_000;
  const t0 = performance.now();
  let planned = 0;
  for (let i = 0; i < iterations; i++) {
    const parsed = parseCloudTrailEvent(events[i % events.length]);
    if (!parsed.ignored && isResolved(parsed.change)) planned += revertPlan(parsed.change).length;
  }
  const ms = performance.now() - t0;
  console.log(
    `core: ${iterations} events parsed and planned in ${ms.toFixed(0)} ms = ${Math.round((iterations / ms) * 1000)} events/s (${planned} EC2 calls planned)`,
  );

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
    groupId: "sg-0bench",
    requester: { arn: "arn:aws:iam::111122223333:user/alice", type: "IAMUser", name: "alice" },
  };
  const request = createRequest({
    requestId: requestIdFor(change),
    change,
    now: change.eventTime,
    expiresAt: "2026-11-24T10:00:00Z",
  });
  const t1 = performance.now();
  const n = 200;
  let violations = 0;
  for (let i = 0; i < n; i++) violations += validateMessage(approvalMessage(request)).length;
  console.log(
    `core: approval message for 500 rules built + validated in ${((performance.now() - t1) / n).toFixed(2)} ms (${violations} violations)`,
  );
}

async function waitFor(probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function benchStack(): Promise<void> {
  const t0 = performance.now();
  const stack = await startLocalStack({
    signingSecret: "bench",
    log: silentLog,
    retryBackoffMs: () => 20,
  });
  console.log(
    `stack: started in ${(performance.now() - t0).toFixed(0)} ms (moto, dynalite, Slack API, proxy, tables, sweep)`,
  );
  const ec2 = (key: string) =>
    new EC2Client({
      endpoint: stack.ec2Endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: key, secretAccessKey: "x" },
    });
  const alice = ec2("alice");
  const admin = ec2("admin");
  const revertMs: number[] = [];
  const postedMs: number[] = [];
  const appliedMs: number[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const { GroupId = "" } = await admin.send(
        new CreateSecurityGroupCommand({ GroupName: `bench-${i}`, Description: "bench" }),
      );
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
      revertMs.push(performance.now() - start);
      let requestId = "";
      await waitFor(async () => {
        const r = (await stack.hubDeps.requests.listByStatus("pending")).find(
          (x) => x.change.groupId === GroupId && x.slack?.approval,
        );
        requestId = r?.requestId ?? "";
        return Boolean(r);
      });
      postedMs.push(performance.now() - start);
      const payload = JSON.stringify({
        type: "block_actions",
        user: { id: "U0BOB", username: "bob" },
        actions: [{ action_id: "approve", value: requestId }],
      });
      const clicked = performance.now();
      await stack.buttonClick(stack.signedRequest(new URLSearchParams({ payload }).toString()));
      await waitFor(
        async () => (await stack.hubDeps.requests.get(requestId))?.status === "applied",
      );
      appliedMs.push(performance.now() - clicked);
    }
    console.log(
      `stack: change -> reverted (seen by a Describe poll): ${fmt(revertMs)} over ${ROUNDS} changes`,
    );
    console.log(`stack: change -> approval message posted: ${fmt(postedMs)}`);
    console.log(`stack: Approve click -> applied in EC2 and recorded: ${fmt(appliedMs)}`);
    const mem = process.memoryUsage();
    console.log(
      `memory: rss ${(mem.rss / 2 ** 20).toFixed(0)} MiB, heap used ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB (this process; moto runs apart)`,
    );
  } finally {
    await stack.stop();
  }
}

benchCore();
await benchStack();
