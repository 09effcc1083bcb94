/**
 * Loading a policy: from its own JSON file, or from the `policy` key of the deployment config
 * (an object with `policy` and no `rules` is taken for a config). Every problem is reported with
 * its path and, when the text is given, its line and column: `policy.json:14:9: rules[2].reason:
 * an auto_deny rule needs a reason`.
 */
import {
  formatJsonPath,
  type JsonPath,
  JsonSyntaxError,
  parseJsonLocated,
} from "./json-position.js";
import { policyIssues } from "./schema.js";
import type { Policy } from "./types.js";

export interface PolicyIssue {
  /** From the top of the file (a config's issues start with "policy"). */
  path: JsonPath;
  message: string;
  line?: number;
  column?: number;
}

export class PolicyError extends Error {
  override readonly name = "PolicyError";
  constructor(
    readonly source: string,
    readonly issues: PolicyIssue[],
  ) {
    super(issues.map((i) => formatIssue(source, i)).join("; "));
  }
}

/** `file:line:column: path: message` (without a line when the text was not given). */
export function formatIssue(source: string, issue: PolicyIssue): string {
  const where = issue.line !== undefined ? `${source}:${issue.line}:${issue.column}` : source;
  const path = issue.path.length > 0 ? `${formatJsonPath(issue.path)}: ` : "";
  return `${where}: ${path}${issue.message}`;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Whether a JSON document is a deployment config holding a policy, rather than a policy file. */
export function isConfigWithPolicy(json: unknown): boolean {
  return isObject(json) && Object.hasOwn(json, "policy") && !Object.hasOwn(json, "rules");
}

function validate(
  json: unknown,
  source: string,
  locate?: (path: JsonPath, at?: "key") => { line: number; column: number },
): Policy {
  const config = isConfigWithPolicy(json);
  const input = config ? (json as Record<string, unknown>).policy : json;
  const prefix: JsonPath = config ? ["policy"] : [];
  const found = policyIssues(input);
  if (found.length === 0) return input as Policy;
  const issues = found.map((i): PolicyIssue => {
    const path = [...prefix, ...i.path];
    if (!locate) return { path, message: i.message };
    const { line, column } = locate(path, i.at);
    return { path, message: i.message, line, column };
  });
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  throw new PolicyError(source, issues);
}

/** A parsed JSON value as a policy (a policy file's or a config's); throws PolicyError. */
export function parsePolicy(json: unknown, source = "policy"): Policy {
  return validate(json, source);
}

/**
 * JSON text as a policy; throws PolicyError whose issues carry line and column, for a syntax
 * error as for a schema error.
 */
export function parsePolicyText(text: string, source = "policy"): Policy {
  let located: ReturnType<typeof parseJsonLocated>;
  try {
    located = parseJsonLocated(text);
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    const { line, column } = err.position;
    throw new PolicyError(source, [
      { path: [], message: `not valid JSON: ${err.reason}`, line, column },
    ]);
  }
  return validate(located.value, source, located.locate);
}
