import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/domain-fixtures.js";

const DOMAIN = join(REPO_ROOT, "src", "domain");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts|js|mjs)$/.test(e.name) ? [path] : [];
  });
}

/** Comments say "no Date.now" freely; only code counts. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

const RULES: [string, RegExp][] = [
  ["imports an AWS SDK package", /\bfrom\s+["']@aws-sdk\/|\bimport\(\s*["']@aws-sdk\//],
  ["imports a Slack SDK package", /\bfrom\s+["']@slack\/|\bimport\(\s*["']@slack\//],
  [
    "imports Powertools",
    /\bfrom\s+["']@aws-lambda-powertools\/|\bimport\(\s*["']@aws-lambda-powertools\//,
  ],
  ["imports a Node API", /\bfrom\s+["']node:|\bimport\(\s*["']node:|\brequire\(\s*["']node:/],
  [
    "imports a Node built-in by its bare name",
    /\bfrom\s+["'](fs|path|os|crypto|child_process|http|https|net|process|util)(\/[^"']*)?["']/,
  ],
  ["reads process.env", /\bprocess\s*\.\s*env\b|\bprocess\s*\[\s*["']env["']\s*\]/],
  ["uses the process global", /\bprocess\s*\./],
  ["reads the clock with Date.now", /\bDate\s*\.\s*now\b/],
  ["reads the clock with new Date()", /\bnew\s+Date\s*\(\s*\)/],
  ["uses performance.now", /\bperformance\s*\.\s*now\b/],
  ["draws randomness with Math.random", /\bMath\s*\.\s*random\b/],
  ["draws randomness with crypto", /\bcrypto\s*\.\s*(randomUUID|getRandomValues)\b/],
];

/** The offences in one source text, as "rule (line n)". */
function offences(source: string): string[] {
  const code = stripComments(source);
  const found: string[] = [];
  code.split("\n").forEach((line, i) => {
    for (const [what, re] of RULES) if (re.test(line)) found.push(`${what} (line ${i + 1})`);
  });
  return found;
}

describe("src/domain is pure", () => {
  const files = sourceFiles(DOMAIN);

  it("finds the domain's files", () => {
    const names = files.map((f) => relative(DOMAIN, f));
    for (const expected of ["rule.ts", "cloudtrail.ts", "plan.ts", "policy.ts", "request.ts"]) {
      expect(names).toContain(expected);
    }
  });

  it.each(files.map((f) => [relative(REPO_ROOT, f), f]))(
    "%s uses no SDK, env, clock or randomness",
    (_name, file) => {
      expect(offences(readFileSync(file, "utf8"))).toEqual([]);
    },
  );

  it("the check catches each kind of offence (and ignores comments)", () => {
    const bad = [
      'import { EC2Client } from "@aws-sdk/client-ec2";',
      'import { WebClient } from "@slack/web-api";',
      'import { Logger } from "@aws-lambda-powertools/logger";',
      'import { readFile } from "node:fs/promises";',
      'const m = await import("node:crypto");',
      'import { join } from "path";',
      "const t = process.env.TABLE;",
      "const now = Date.now();",
      "const d = new Date();",
      "const d = new Date( );",
      "const r = Math.random();",
      "const id = crypto.randomUUID();",
    ];
    for (const line of bad) expect(offences(line), line).not.toEqual([]);
    const fine = [
      "const d = new Date(ms);",
      "const t = Date.parse(event.time);",
      "// no Date.now here: inject a clock",
      "/* process.env is read in handlers */",
      'import * as z from "zod";',
      'import type { Rule } from "./rule.js";',
      'const url = "https://example.com/x"; // Date.now',
    ];
    for (const line of fine) expect(offences(line), line).toEqual([]);
  });
});
