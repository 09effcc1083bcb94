/**
 * Bundles each Lambda handler into one minified ESM file under dist/<name>/index.mjs with a
 * source map, AWS SDK clients included (pinned to the versions we test), and prints the sizes.
 * The CDK app bundles the same entry points the same way through NodejsFunction (infra/handler.ts,
 * BUNDLING); `npm run bench` builds them with `buildHandlers` to measure their cold start.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

/** Every Lambda entry point in src/handlers (infra/hub.ts and infra/member.ts deploy these). */
export const HANDLERS = [
  "revertSecurityGroup",
  "applySecurityGroupChange",
  "sweepBaseline",
  "revertFailed",
  "storeSecurityGroupRequest",
  "buttonClick",
  "denySecurityGroupChange",
  "errorHandlerSecurityGroupChange",
  "expireRequests",
] as const;
export type HandlerName = (typeof HANDLERS)[number];

export interface BuiltHandler {
  name: HandlerName;
  /** The bundle, dist/<name>/index.mjs under the output folder. */
  file: string;
  bytes: number;
  gzipBytes: number;
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Builds every handler into `outdir` (default dist/), as the CDK app does. */
export async function buildHandlers(outdir = join(ROOT, "dist")): Promise<BuiltHandler[]> {
  const present = new Set(
    readdirSync(join(ROOT, "src/handlers")).map((f) => f.replace(/\.ts$/, "")),
  );
  const missing = HANDLERS.filter((h) => !present.has(h));
  if (missing.length) throw new Error(`missing handler entry files: ${missing.join(", ")}`);
  return Promise.all(
    HANDLERS.map(async (name) => {
      const file = resolve(outdir, name, "index.mjs");
      await build({
        entryPoints: [join(ROOT, "src/handlers", `${name}.ts`)],
        outfile: file,
        bundle: true,
        minify: true,
        sourcemap: true,
        sourcesContent: false,
        platform: "node",
        // Prefer ESM entry points: the AWS SDK tree-shakes far better from them.
        mainFields: ["module", "main"],
        target: "node22",
        format: "esm",
        // Some CommonJS dependencies call require(); give ESM bundles one.
        banner: {
          js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
        },
        legalComments: "none",
        logLevel: "warning",
      });
      return {
        name,
        file,
        bytes: statSync(file).size,
        gzipBytes: gzipSync(readFileSync(file)).length,
      };
    }),
  );
}

async function main(): Promise<void> {
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`.padStart(10);
  const started = performance.now();
  const rows = await buildHandlers();
  console.log(`${"handler".padEnd(34)}${"minified".padStart(10)}${"gzip".padStart(10)}`);
  for (const r of rows) console.log(`${r.name.padEnd(34)}${kib(r.bytes)}${kib(r.gzipBytes)}`);
  console.log(`built ${rows.length} handlers in ${Math.round(performance.now() - started)} ms`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
