/**
 * The deployment's policy file, as the functions get it: the config's `policy` key (an inline
 * object, or the path of a policy file), checked with the engine's loader at synth, compacted
 * (`$comment`, `description` and `$schema` dropped: they are for people) and passed as the
 * environment variable POLICY to every member and hub function. Each function merges it with the
 * config's switches at cold start (src/handlers/config.ts policyOf).
 *
 * Lambda allows 4 KB of environment variables per function, names and values together: a synth
 * whose environment would not fit fails here, naming the function, rather than at deploy.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { type Policy, parsePolicy, parsePolicyText } from "../src/domain/policy/index.js";
import { CONFIG_ENV_VAR, resolveConfigFile } from "./config.js";

/** The folder of the config file the app reads (a policy path is relative to it). */
export function configDir(cwd = process.cwd(), env = process.env): string {
  return env[CONFIG_ENV_VAR] ? dirname(resolveConfigFile(cwd, env).file) : cwd;
}

/** Lambda's limit on a function's environment variables, names and values together. */
export const LAMBDA_ENVIRONMENT_LIMIT = 4096;

const PEOPLE_ONLY_KEYS = new Set(["$comment", "description", "$schema"]);

function compact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(compact);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => !PEOPLE_ONLY_KEYS.has(k))
      .map(([k, v]) => [k, compact(v)]),
  );
}

/**
 * The config's policy (read defensively, as a key infra/config.ts checks only for its shape), or
 * undefined when it has none. A string is a file path, relative to `baseDir` (the config's
 * folder). Throws PolicyError (with the file, line and column) for a policy that is not valid.
 */
export function configPolicy(config: unknown, baseDir = configDir()): Policy | undefined {
  const raw =
    config !== null && typeof config === "object"
      ? (config as { policy?: unknown }).policy
      : undefined;
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === "string") {
    const path = resolve(baseDir, raw);
    return parsePolicyText(readFileSync(path, "utf8"), raw);
  }
  return parsePolicy(raw, "config policy");
}

/** The POLICY variable for the functions: the compact JSON of the config's policy, or nothing. */
export function policyEnvironment(config: unknown, baseDir?: string): { POLICY?: string } {
  const policy = configPolicy(config, baseDir);
  return policy ? { POLICY: JSON.stringify(compact(policy)) } : {};
}

/** Fails the synth when a function's environment would exceed Lambda's 4 KB. */
export function assertEnvironmentFits(what: string, environment: Record<string, string>): void {
  const size = Object.entries(environment).reduce(
    (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v),
    0,
  );
  if (size > LAMBDA_ENVIRONMENT_LIMIT) {
    const policy = environment.POLICY ? Buffer.byteLength(environment.POLICY) : 0;
    throw new Error(
      `${what}: the environment variables take ${size} bytes, over Lambda's ${LAMBDA_ENVIRONMENT_LIMIT}${
        policy
          ? ` (the policy alone ${policy}): shorten the policy (fewer or merged rules, shorter reasons)`
          : ""
      }, or the people mapping`,
    );
  }
}
