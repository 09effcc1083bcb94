/**
 * The policy file's schema (zod) and the checks across fields that a shape cannot say: an
 * auto_deny needs a reason, the approval settings belong to require_approval, a permissive rule
 * may not use a matcher that matches wider than it names, names are unique. Each problem is a
 * path in the file and a message; load.ts adds the line and column.
 */
import * as z from "zod";
import type { JsonPath } from "./json-position.js";
import { MATCHER_KEYS, MATCHERS, matcherFor } from "./matchers/index.js";
import { PERMISSIVE_ACTIONS, POLICY_ACTIONS, type PolicyAction } from "./types.js";

/** Names the engine and the config's four switches use: a file's rule may not take them. */
export const RESERVED_RULE_NAMES = [
  "default",
  "system-roles",
  "exempt-principals",
  "max-event-age",
  "require-description",
] as const;

/** Settings only a require_approval rule takes. */
export const APPROVAL_KEYS = ["approvals", "approvers", "channel", "expiryHours"] as const;

const COMMENT = z.union([z.string(), z.array(z.string())], {
  error: "a $comment is a string or a list of strings",
});

const MODE = z.enum(["enforce", "notify"], { error: 'expected "enforce" or "notify"' });

const matchSchema = z.strictObject(
  Object.fromEntries(MATCHER_KEYS.map((k) => [k, MATCHERS[k].schema.optional()])),
);

const approversSchema = z
  .strictObject({
    userGroup: z
      .string()
      .regex(/^S[A-Z0-9]{2,}$/, "a Slack user group id is S… (upper case)")
      .optional(),
    users: z
      .array(z.string().regex(/^[UW][A-Z0-9]{2,}$/, "a Slack user id is U… or W… (upper case)"))
      .min(1, "list at least one user, or leave users out")
      .optional(),
  })
  .refine((a) => a.userGroup !== undefined || a.users !== undefined, "name a userGroup or users");

export const ruleSchema = z.strictObject({
  name: z
    .string({ error: "a rule needs a name" })
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
      "a name is letters, digits, '.', '_' or '-' (up to 64), starting with a letter or digit",
    ),
  description: z.string().optional(),
  $comment: COMMENT.optional(),
  match: matchSchema,
  quantifier: z.enum(["all", "any"], { error: 'expected "all" or "any"' }).optional(),
  action: z.enum(POLICY_ACTIONS, { error: `expected one of ${POLICY_ACTIONS.join(", ")}` }),
  reason: z.string().trim().min(1, "a reason must not be empty").optional(),
  approvals: z.int().min(1).max(10).optional(),
  approvers: approversSchema.optional(),
  channel: z
    .string()
    .regex(/^[CG][A-Z0-9]{2,}$/, "a Slack channel id is C… or G… (upper case)")
    .optional(),
  expiryHours: z.number().positive().max(720, "at most 720 hours (30 days)").optional(),
});

export const policySchema = z.strictObject({
  $schema: z.string().optional(),
  $comment: COMMENT.optional(),
  version: z.literal(1, { error: "the only version is 1" }).optional(),
  mode: MODE.optional(),
  accounts: z
    .record(
      z.string().regex(/^\d{12}$/, "an AWS account id is 12 digits"),
      z.strictObject({ mode: MODE, $comment: COMMENT.optional() }),
    )
    .optional(),
  rules: z.array(ruleSchema, { error: "rules is a list of rules" }),
});

export interface SchemaIssue {
  path: JsonPath;
  message: string;
  /** Point at the key (an unknown key) rather than its value. */
  at?: "key";
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function valueAt(root: unknown, path: JsonPath): unknown {
  let v = root;
  for (const p of path) {
    if (Array.isArray(v) && typeof p === "number") v = v[p];
    else if (isObject(v) && typeof p === "string" && Object.hasOwn(v, p)) v = v[p];
    else return undefined;
  }
  return v;
}

/** The keys an object at `path` takes, for an "unknown key" message. */
function knownKeys(path: JsonPath): readonly string[] {
  const last = path[path.length - 1];
  if (path.length === 0) return Object.keys(policySchema.shape);
  if (path.length === 2 && path[0] === "rules") return Object.keys(ruleSchema.shape);
  if (last === "match") return MATCHER_KEYS;
  if (last === "peer")
    return ["cidrWithin", "cidrContains", "public", "prefixList", "groupReference", "sameVpc"];
  if (last === "risk") return ["atLeast", "exactly", "atMost"];
  if (last === "approvers") return ["userGroup", "users"];
  if (path.length === 2 && path[0] === "accounts") return ["mode", "$comment"];
  return [];
}

function fromZod(error: z.ZodError, input: unknown): SchemaIssue[] {
  return error.issues.flatMap((issue): SchemaIssue[] => {
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    if (issue.code === "unrecognized_keys") {
      const known = knownKeys(path);
      const what = path[path.length - 1] === "match" ? "matcher" : "key";
      return issue.keys.map((key) => ({
        path: [...path, key],
        at: "key" as const,
        message: `unknown ${what} ${JSON.stringify(key)}${known.length ? ` (expected one of: ${known.join(", ")})` : ""}`,
      }));
    }
    if (issue.code === "invalid_key") {
      const inner = issue.issues[0]?.message ?? issue.message;
      return [
        {
          path,
          at: "key",
          message: `the key ${JSON.stringify(String(path[path.length - 1]))}: ${inner}`,
        },
      ];
    }
    const parent = valueAt(input, path.slice(0, -1));
    const missing =
      path.length > 0 && isObject(parent) && !Object.hasOwn(parent, String(path[path.length - 1]));
    if (missing) return [{ path, message: "is required" }];
    return [{ path, message: issue.message }];
  });
}

/** Checks across fields, on the raw input (so they are reported beside shape errors). */
function crossChecks(input: unknown): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  if (!isObject(input) || !Array.isArray(input.rules)) return issues;
  const seen = new Map<string, number>();
  input.rules.forEach((rule: unknown, i: number) => {
    if (!isObject(rule)) return;
    const at = (...rest: (string | number)[]): JsonPath => ["rules", i, ...rest];
    if (typeof rule.name === "string") {
      if ((RESERVED_RULE_NAMES as readonly string[]).includes(rule.name)) {
        issues.push({
          path: at("name"),
          message: `"${rule.name}" is reserved (the default decision and the config's switches use it): choose another name`,
        });
      }
      const first = seen.get(rule.name);
      if (first !== undefined) {
        issues.push({
          path: at("name"),
          message: `"${rule.name}" is also the name of rules[${first}]`,
        });
      } else seen.set(rule.name, i);
    }
    const action = POLICY_ACTIONS.find((a) => a === rule.action) as PolicyAction | undefined;
    if (!action) return;
    if (action === "auto_deny" && !(typeof rule.reason === "string" && rule.reason.trim())) {
      issues.push({
        path: at("reason"),
        message: "an auto_deny rule needs a reason (it is all the requester is told)",
      });
    }
    if (action !== "require_approval") {
      for (const key of APPROVAL_KEYS) {
        if (Object.hasOwn(rule, key)) {
          issues.push({
            path: at(key),
            at: "key",
            message: `${key} is for require_approval rules only, not ${action}`,
          });
        }
      }
    }
    if (action === "require_approval" && isObject(rule.approvers)) {
      const users = rule.approvers.users;
      const approvals = typeof rule.approvals === "number" ? rule.approvals : 1;
      if (rule.approvers.userGroup === undefined && Array.isArray(users)) {
        const needed = Math.max(approvals, 2);
        if (users.length < needed) {
          issues.push({
            path: at("approvers", "users"),
            message: `${users.length} user${users.length === 1 ? "" : "s"} cannot give ${needed} different approvals (an unverified requester always needs 2): add users or a userGroup`,
          });
        }
      }
    }
    // Whatever the quantifier: a permissive rule names the ranges it lets through.
    if (PERMISSIVE_ACTIONS.has(action) && isObject(rule.match)) {
      for (const [key, config] of Object.entries(rule.match)) {
        const matcher = matcherFor(key);
        if (matcher?.level !== "rule" || !matcher.widening) continue;
        const parsed = matcher.schema.safeParse(config);
        const why = parsed.success ? matcher.widening(parsed.data) : undefined;
        if (why) {
          issues.push({
            path: at("match", key),
            message: `not in a permissive (${action}) rule: ${why}`,
          });
        }
      }
    }
  });
  return issues;
}

/** Every problem of a policy (the object a file holds, or a config's `policy`), paths from it. */
export function policyIssues(input: unknown): SchemaIssue[] {
  const parsed = policySchema.safeParse(input);
  return [...(parsed.success ? [] : fromZod(parsed.error, input)), ...crossChecks(input)];
}
