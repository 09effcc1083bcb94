/**
 * Cold start of the Lambda bundles: each bundle (scripts/build.ts, as the CDK app builds it) is
 * imported in a fresh `node` process, as Lambda's init does, with the NODE_OPTIONS the functions
 * run with (--enable-source-maps). In each process: the wall time of `await import(bundle)`
 * (hrtime) and the process's whole CPU time once it has returned (process.cpuUsage: Node's own
 * start included). A bare process, which imports an empty module the same way, is measured in the
 * same run, interleaved with the bundles, and its medians are subtracted from theirs.
 *
 * buttonClick is also given its first click in that same process (the whole cold path Slack
 * waits for: config, clients, both secrets, the read, the write, the SNS publish, the message
 * updates), against the local stack's DynamoDB, Slack and moto (Secrets Manager, SNS).
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildHandlers, type HandlerName } from "../scripts/build.js";
import { median, round } from "./stats.js";

export interface ColdFigures {
  /** Wall time of the import beyond the bare process's, ms (median). */
  importMs: number;
  /** The process's CPU time after the import beyond the bare process's, ms (median). */
  cpuMs: number;
  /** buttonClick: the first invocation after the import, wall and CPU ms (median). */
  firstCallMs?: number;
  firstCallCpuMs?: number;
}

export interface ColdStartResult {
  coldStart: Record<string, ColdFigures>;
  /** The bare process itself: Node's start and an empty import (what was subtracted). */
  bare: { importMs: number; cpuMs: number };
  bundles: Record<string, { bytes: number; gzipBytes: number }>;
}

/** The first click: the handler's environment and one signed API Gateway event per round. */
export interface FirstCall {
  handler: HandlerName;
  env: Record<string, string>;
  /** Called once per round, before that round's process starts. */
  event: (round: number) => Promise<unknown>;
  /** Called after each round's process: throws if the call did not do what it should. */
  verify?: (round: number) => Promise<void>;
}

interface Probe {
  importMs: number;
  cpuMs: number;
  firstCallMs?: number;
  firstCallCpuMs?: number;
  status?: number;
  error?: string;
}

const PROBE = `
import { pathToFileURL } from "node:url";
const t0 = process.hrtime.bigint();
const spec = JSON.parse(process.env.BENCH_PROBE);
const mod = await import(pathToFileURL(spec.bundle).href);
const t1 = process.hrtime.bigint();
const c1 = process.cpuUsage();
const out = { importMs: Number(t1 - t0) / 1e6, cpuMs: (c1.user + c1.system) / 1000 };
if (spec.event) {
  const context = {
    functionName: spec.name, functionVersion: "$LATEST", memoryLimitInMB: "256",
    invokedFunctionArn: "arn:aws:lambda:us-east-1:111122223333:function:" + spec.name,
    awsRequestId: "bench-cold", logGroupName: "/aws/lambda/" + spec.name, logStreamName: "bench",
    callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 15000,
    done() {}, fail() {}, succeed() {},
  };
  try {
    const result = await mod.handler(spec.event, context);
    out.status = result?.statusCode;
  } catch (e) {
    out.error = String(e && e.stack || e);
  }
  const c2 = process.cpuUsage(c1);
  out.firstCallMs = Number(process.hrtime.bigint() - t1) / 1e6;
  out.firstCallCpuMs = (c2.user + c2.system) / 1000;
}
process.stdout.write("\\nBENCH_PROBE " + JSON.stringify(out) + "\\n");
process.exit(0);
`;

function runProbe(
  probe: string,
  spec: { bundle: string; name: string; event?: unknown },
  env: Record<string, string>,
): Promise<Probe> {
  // The functions' own NODE_OPTIONS (infra/handler.ts), nothing of this process's (tsx's loader).
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => k !== "NODE_OPTIONS" && !k.startsWith("AWS_") && !k.startsWith("TSX"),
    ),
  ) as Record<string, string>;
  return new Promise((resolve, reject) => {
    // BENCH_CPU_PROF=<folder>: a V8 CPU profile of every probe, for looking into a figure.
    const prof = process.env.BENCH_CPU_PROF;
    const flags = prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`, "--cpu-prof-interval=100"] : [];
    const child = spawn(process.execPath, [...flags, probe], {
      env: {
        ...base,
        ...env,
        NODE_OPTIONS: "--enable-source-maps",
        BENCH_PROBE: JSON.stringify(spec),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString("utf8");
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("BENCH_PROBE "));
      if (!line) {
        reject(new Error(`probe of ${spec.name} exited ${code}: ${err.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(line.slice("BENCH_PROBE ".length)) as Probe);
    });
  });
}

export async function measureColdStart(options: {
  rounds: number;
  firstCall?: FirstCall;
  onProgress?: (what: string) => void;
}): Promise<ColdStartResult> {
  const dir = await mkdtemp(join(tmpdir(), "secgroup-bench-"));
  try {
    options.onProgress?.("building the bundles");
    const built = await buildHandlers(join(dir, "dist"));
    const probe = join(dir, "probe.mjs");
    const empty = join(dir, "empty.mjs");
    await writeFile(probe, PROBE);
    await writeFile(empty, "export {};\n");

    const bare: Probe[] = [];
    const byHandler = new Map<string, Probe[]>(built.map((b) => [b.name, []]));
    for (let round = 0; round < options.rounds; round++) {
      options.onProgress?.(`cold start round ${round + 1} of ${options.rounds}`);
      bare.push(await runProbe(probe, { bundle: empty, name: "bare" }, {}));
      for (const b of built) {
        const first = options.firstCall?.handler === b.name ? options.firstCall : undefined;
        const event = first ? await first.event(round) : undefined;
        const result = await runProbe(
          probe,
          { bundle: b.file, name: b.name, ...(event ? { event } : {}) },
          first?.env ?? {},
        );
        if (result.error || (first && result.status !== 200)) {
          throw new Error(
            `${b.name}'s first call failed: ${result.error ?? `status ${result.status}`}`,
          );
        }
        await first?.verify?.(round);
        byHandler.get(b.name)?.push(result);
      }
    }

    const bareImport = median(bare.map((p) => p.importMs));
    const bareCpu = median(bare.map((p) => p.cpuMs));
    const coldStart: Record<string, ColdFigures> = {};
    for (const [name, probes] of byHandler) {
      const firstCalls = probes.filter((p) => p.firstCallMs !== undefined);
      coldStart[name] = {
        importMs: round(median(probes.map((p) => p.importMs)) - bareImport),
        cpuMs: round(median(probes.map((p) => p.cpuMs)) - bareCpu),
        ...(firstCalls.length
          ? {
              firstCallMs: round(median(firstCalls.map((p) => p.firstCallMs ?? 0))),
              firstCallCpuMs: round(median(firstCalls.map((p) => p.firstCallCpuMs ?? 0))),
            }
          : {}),
      };
    }
    return {
      coldStart,
      bare: { importMs: round(bareImport, 1), cpuMs: round(bareCpu) },
      bundles: Object.fromEntries(
        built.map((b) => [b.name, { bytes: b.bytes, gzipBytes: b.gzipBytes }]),
      ),
    };
  } finally {
    // Kept with BENCH_CPU_PROF: the profiles point into these bundles (and their source maps).
    if (process.env.BENCH_CPU_PROF) options.onProgress?.(`bundles kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}
