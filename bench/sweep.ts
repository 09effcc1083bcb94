/**
 * `npm run bench:sweep [-- --groups N] [--dynamo-latency MS]` (default 2000 groups, 0 ms added to
 * each DynamoDB call, as a network would): the drift check (sweepBaseline) on a fresh
 * moto server and dynalite, with the real adapters and use case. N groups of two ingress rules
 * each (plus the default egress rule); then, each timed, with the EC2 and DynamoDB API calls it
 * made counted by name (SDK middleware on the clients the member uses):
 *   1. the install sweep (adopts every group);
 *   2. a steady-state sweep (nothing changed);
 *   3. a sweep with ~1% of the groups drifted (an untracked rule each; graceSeconds 0).
 * Figures, not pass/fail.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
} from "@aws-sdk/client-ec2";
import { DynamoBaselines, DynamoEventLedger } from "../src/adapters/dynamodb/baselines.js";
import { ensureTables } from "../src/adapters/dynamodb/tables.js";
import { createEc2Client } from "../src/adapters/ec2/client.js";
import { Ec2SecurityGroups } from "../src/adapters/ec2/security-groups.js";
import { driftEventId, requestIdFor } from "../src/adapters/ids.js";
import type { MemberDeps, SweepResult } from "../src/app/member/index.js";
import { createSweepHandler } from "../src/handlers/sweepBaseline.js";
import { silentLog } from "../src/ports/log.js";
import { noMetrics } from "../src/ports/metrics.js";
import { dynamoClients, startDynalite } from "../src/sandbox/dynamodb.js";
import { startMoto } from "../src/sandbox/moto.js";

const ACCOUNT = "123456789012"; // moto's default account
const REGION = "us-east-1";
const CONCURRENCY = 16;

function numberArg(argv: readonly string[], flag: string, fallback: number): number {
  const i = argv.indexOf(flag);
  const raw = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`${flag}=`))?.split("=")[1];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} wants a whole number: ${raw}`);
  return n;
}

/** Counts each API call a client makes, by operation name (retries are not counted twice). */
function callCounter() {
  const counts = new Map<string, number>();
  const middleware =
    <A, R>(next: (args: A) => Promise<R>, context: { commandName?: string }) =>
    (args: A): Promise<R> => {
      const name = String(context.commandName).replace(/Command$/, "");
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    };
  return { counts, middleware, options: { step: "initialize", name: "benchCountCalls" } as const };
}

const show = (counts: Map<string, number>) => {
  const entries = [...counts].sort(([a], [b]) => a.localeCompare(b));
  const total = entries.reduce((n, [, c]) => n + c, 0);
  return `${total} calls${entries.length ? `: ${entries.map(([k, v]) => `${k} ${v}`).join(", ")}` : ""}`;
};

async function inParallel<T>(items: readonly T[], work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

async function main() {
  const argv = process.argv.slice(2);
  const groups = Math.max(1, numberArg(argv, "--groups", 2000));
  // dynalite answers in-process in well under a millisecond; DynamoDB over the network does not.
  const latencyMs = numberArg(argv, "--dynamo-latency", 0);
  const [moto, db] = await Promise.all([startMoto(), startDynalite()]);
  try {
    const { client: dynamo, doc } = dynamoClients(db.endpoint);
    await ensureTables(dynamo);
    const credentials = { accessKeyId: "bench", secretAccessKey: "bench" };
    const admin = createEc2Client({ region: REGION, endpoint: moto.endpoint, credentials });

    let t = Date.now();
    const ids: string[] = [];
    await inParallel(
      Array.from({ length: groups }, (_, i) => i),
      async (i) => {
        const out = await admin.send(
          new CreateSecurityGroupCommand({ GroupName: `bench-${i}`, Description: `bench ${i}` }),
        );
        const id = out.GroupId as string;
        ids.push(id);
        await admin.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: id,
            IpPermissions: [
              {
                IpProtocol: "tcp",
                FromPort: 443,
                ToPort: 443,
                IpRanges: [{ CidrIp: "0.0.0.0/0", Description: "https" }],
              },
              {
                IpProtocol: "tcp",
                FromPort: 22,
                ToPort: 22,
                IpRanges: [{ CidrIp: `10.${i % 256}.0.0/16`, Description: "ssh" }],
              },
            ],
          }),
        );
      },
    );
    console.log(
      `sweep bench: ${groups} groups of 2 ingress rules + the default egress rule (set up in ${((Date.now() - t) / 1000).toFixed(1)} s; moto server, dynalite${latencyMs ? ` + ${latencyMs} ms per DynamoDB call` : ""})`,
    );

    const ec2 = createEc2Client({ region: REGION, endpoint: moto.endpoint, credentials });
    const ec2Counter = callCounter();
    ec2.middlewareStack.add(ec2Counter.middleware, ec2Counter.options);
    const dbCounter = callCounter();
    dynamo.middlewareStack.add(dbCounter.middleware, dbCounter.options);
    if (latencyMs > 0) {
      dynamo.middlewareStack.add(
        (next) => async (args) => {
          await new Promise((resolve) => setTimeout(resolve, latencyMs));
          return next(args);
        },
        { step: "finalizeRequest", name: "benchLatency" },
      );
    }
    const ec2Calls = ec2Counter.counts;
    const dbCalls = dbCounter.counts;
    let now = Date.parse("2026-11-23T10:00:00Z");
    const sent: string[] = [];
    const deps: MemberDeps = {
      securityGroups: new Ec2SecurityGroups(ec2),
      baselines: new DynamoBaselines(doc),
      ledger: new DynamoEventLedger(doc),
      hub: { send: async (_kind, message) => void sent.push(message) },
      clock: () => new Date(now),
      log: silentLog,
      metrics: noMetrics,
      ids: { requestIdFor, driftEventId },
      config: {
        account: ACCOUNT,
        region: REGION,
        policy: {
          systemRoleArns: [],
          exemptPrincipals: [],
          maxEventAgeSeconds: 300,
          autoDenyWithoutDescription: false,
        },
        people: { people: [], sourceIdentityRoles: [] },
        drift: { graceSeconds: 0, maxPerSweep: Math.max(100, Math.ceil(groups / 50)) },
        deployment: "bench",
      },
    };
    const sweep = createSweepHandler(() => deps);

    const run = async (label: string): Promise<SweepResult> => {
      ec2Calls.clear();
      dbCalls.clear();
      sent.length = 0;
      t = performance.now();
      const result = await sweep();
      const ms = performance.now() - t;
      const { groups: g, rules, drift, suspected, adopted, retired, busy, install } = result;
      console.log(`\n${label}: ${(ms / 1000).toFixed(2)} s`);
      console.log(
        `  result: ${JSON.stringify({ groups: g, rules, install, adopted, drift, suspected, retired, busy })}, ${sent.length} messages to the hub`,
      );
      console.log(`  EC2:      ${show(ec2Calls)}`);
      console.log(`  DynamoDB: ${show(dbCalls)}`);
      return result;
    };

    await run("1. install sweep");
    now += 15 * 60_000;
    await run("2. steady-state sweep");

    const drifted = ids.slice(0, Math.max(1, Math.round(groups / 100)));
    await inParallel(drifted, async (id) => {
      await admin.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: id,
          IpPermissions: [
            {
              IpProtocol: "tcp",
              FromPort: 3389,
              ToPort: 3389,
              IpRanges: [{ CidrIp: "0.0.0.0/0", Description: "untracked" }],
            },
          ],
        }),
      );
    });
    now += 15 * 60_000;
    const result = await run(
      `3. drift sweep (${drifted.length} groups drifted = ${((100 * drifted.length) / groups).toFixed(1)}%, graceSeconds 0)`,
    );
    if (result.drift !== drifted.length) {
      console.log(
        `  NOTE: expected ${drifted.length} drifts filed, the sweep filed ${result.drift}`,
      );
    }
    now += 15 * 60_000;
    await run("4. steady-state sweep after the drift");
  } finally {
    await Promise.all([moto.stop(), db.stop()]);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
