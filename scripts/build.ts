/**
 * Bundles each Lambda handler into one minified ESM file under dist/<name>/index.mjs with a
 * source map, AWS SDK clients included (pinned to the versions we test), and prints the sizes.
 * The CDK app bundles the same entry points the same way through NodejsFunction.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const HANDLERS = [
  "revertSecurityGroup",
  "applySecurityGroupChange",
  "sweepBaseline",
  "storeSecurityGroupRequest",
  "buttonClick",
  "denySecurityGroupChange",
  "errorHandlerSecurityGroupChange",
  "expireRequests",
];

const present = new Set(readdirSync("src/handlers").map((f) => f.replace(/\.ts$/, "")));
const missing = HANDLERS.filter((h) => !present.has(h));
if (missing.length) throw new Error(`missing handler entry files: ${missing.join(", ")}`);

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`.padStart(10);
const started = performance.now();
const rows = await Promise.all(
  HANDLERS.map(async (name) => {
    const outfile = `dist/${name}/index.mjs`;
    await build({
      entryPoints: [`src/handlers/${name}.ts`],
      outfile,
      bundle: true,
      minify: true,
      sourcemap: true,
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
    const size = statSync(outfile).size;
    return { name, size, gzip: gzipSync(readFileSync(outfile)).length };
  }),
);
console.log(`${"handler".padEnd(34)}${"minified".padStart(10)}${"gzip".padStart(10)}`);
for (const r of rows) console.log(`${r.name.padEnd(34)}${kib(r.size)}${kib(r.gzip)}`);
console.log(`built ${rows.length} handlers in ${Math.round(performance.now() - started)} ms`);
