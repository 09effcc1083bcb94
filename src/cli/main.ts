/**
 * The operator CLI. `main` returns the exit code: 0 done, 2 bad input or usage. Errors are one
 * line on stderr, never a stack trace.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { type ExplainJson, explainContract, explainEvent } from "../domain/explain.js";
import { type Ec2SecurityGroupRule, type Rule, ruleFromSecurityGroupRule } from "../domain/rule.js";

const USAGE = `usage: secgroup-approval <command> [options]

commands:
  explain FILE [--json] [--baseline RULES.json]
      Parse an EventBridge CloudTrail event (FILE, or - for stdin) and print the normalised
      change and the EC2 calls that would revert it. --baseline gives the group's rules as
      DescribeSecurityGroupRules returns them (needed for revoke-by-rule-id and modify events).
  doctor [--config FILE]
      Check the deployment config (default: $SECGROUP_APPROVAL_CONFIG, else
      ./secgroup-approval.config.json) and say exactly what is missing or wrong. Exit 1 if so.
`;

export class UsageError extends Error {}

async function readInput(file: string): Promise<string> {
  if (file === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }
  return readFile(file, "utf8");
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

function baselineFrom(json: unknown): Rule[] {
  const list = Array.isArray(json)
    ? json
    : (json as { SecurityGroupRules?: unknown })?.SecurityGroupRules;
  if (!Array.isArray(list))
    throw new UsageError(
      "the baseline must be a JSON array of SecurityGroupRules, or {SecurityGroupRules: [...]}",
    );
  return list.map((r) => ruleFromSecurityGroupRule(r as Ec2SecurityGroupRule));
}

function formatText(result: ExplainJson): string {
  if (result.ignored) return `ignored: ${result.reason}`;
  const c = result.change;
  const lines = [
    `${c.eventName} by ${c.requester.name} (${c.requester.type}, ${c.requester.arn})`,
    `  ${c.kind} ${c.direction} on ${c.groupId ?? "a group named only by name"} in ${c.account} ${c.region} at ${c.eventTime}`,
  ];
  const rule = (r: (typeof c.rules)[number]) => {
    const peer =
      r.cidrIpv4 ??
      r.cidrIpv6 ??
      r.prefixListId ??
      `${r.referencedUserId ? `${r.referencedUserId}/` : ""}${r.referencedGroupId}`;
    const ports = r.fromPort === null ? "" : ` ${r.fromPort}-${r.toPort}`;
    return `${r.protocol}${ports} ${peer}${r.description ? ` "${r.description}"` : ""}${r.ruleId ? ` [${r.ruleId}]` : ""}`;
  };
  if (c.ruleIds) lines.push(`  rule ids: ${c.ruleIds.join(", ")}`);
  c.rules.forEach((r, i) => {
    const before = c.before?.[i];
    lines.push(`  - ${before ? `${rule(before)} -> ` : ""}${rule(r)}`);
  });
  lines.push("revert:");
  if (result.revertError) lines.push(`  cannot plan: ${result.revertError}`);
  for (const op of result.revert) lines.push(`  ${JSON.stringify(op)}`);
  return lines.join("\n");
}

async function explain(args: string[]): Promise<string> {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: "boolean", default: false }, baseline: { type: "string" } },
    allowPositionals: true,
  });
  const [file, ...extra] = positionals;
  if (!file || extra.length > 0) throw new UsageError("explain takes one FILE (or - for stdin)");
  const event = parseJson(await readInput(file), file === "-" ? "stdin" : file);
  const baseline = values.baseline
    ? baselineFrom(parseJson(await readFile(values.baseline, "utf8"), values.baseline))
    : undefined;
  const result = explainEvent(event, baseline);
  return values.json ? JSON.stringify(explainContract(result)) : formatText(result);
}

async function runDoctor(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: "string" } } });
  const file =
    values.config ?? process.env.SECGROUP_APPROVAL_CONFIG ?? "secgroup-approval.config.json";
  const { doctor } = await import("./doctor.js");
  const result = await doctor(file);
  for (const line of result.lines) process.stdout.write(`${line}\n`);
  return result.ok ? 0 : 1;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "explain":
        process.stdout.write(`${await explain(rest)}\n`);
        return 0;
      case "doctor":
        return await runDoctor(rest);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const code = (err as NodeJS.ErrnoException).code;
    const usage = err instanceof UsageError || !code || code.startsWith("ERR_PARSE_ARGS");
    const prefix = usage ? "" : "cannot read input: ";
    process.stderr.write(`secgroup-approval: ${prefix}${message.split("\n")[0]}\n`);
    return 2;
  }
}
