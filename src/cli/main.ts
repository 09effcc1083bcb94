/**
 * The operator CLI. `main` returns the exit code: 0 done, 2 bad input or usage (doctor: 1 when the
 * config has problems, 3 when it still holds example values). Errors are one line on stderr,
 * never a stack trace; a usage error points at the `--help` that answers it.
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { gunzipSync } from "node:zlib";
import { MalformedEventError } from "../domain/cloudtrail.js";
import { type CloudTrailInputEvent, cloudTrailInput } from "../domain/cloudtrail-input.js";
import {
  type ExplainBaseline,
  type ExplainJson,
  type ExplainPolicy,
  explainContract,
  explainEvent,
  explainPolicyFromText,
  policyText,
} from "../domain/explain.js";
import { PolicyError } from "../domain/policy/index.js";
import { type Ec2SecurityGroupRule, ruleFromSecurityGroupRule } from "../domain/rule.js";
import {
  CHECK_PLAN_USAGE,
  CheckPlanInputError,
  formatCheckPlanJson,
  formatCheckPlanText,
  runCheckPlan,
} from "./check-plan.js";

const PROGRAM = "secgroup-approval";

const USAGE = `usage: ${PROGRAM} <command> [options]

commands:
  explain FILE [--json] [--baseline RULES.json]
      Parse CloudTrail input (FILE, or - for stdin): an EventBridge CloudTrail event, a CloudTrail
      log file from S3 ({"Records": [...]}, gzipped or not) or the output of
      \`aws cloudtrail lookup-events\` ({"Events": [...]}). Print, per record, the normalised change
      and the EC2 calls that would revert it. --baseline gives the group's rules as
      DescribeSecurityGroupRules returns them (needed for revoke-by-rule-id and modify events).
  check-plan PLAN.json --policy FILE [--allow-approval] [--json] [--principal ARN]
      Check a Terraform plan (\`terraform show -json\` output) against the policy: the decision on
      every security group rule it would add or remove. Exit 2 if one is denied, 1 if one needs
      approval (0 with --allow-approval).
  doctor [--config FILE]
      Check the deployment config (default: $SECGROUP_APPROVAL_CONFIG, else
      ./secgroup-approval.config.json) and say exactly what is missing or wrong. Exit 1 if so,
      3 if it still holds example (placeholder) values.

options:
  -h, --help      this help; '${PROGRAM} <command> --help' for one command
  -v, --version   print the version
`;

const EXPLAIN_USAGE = `usage: ${PROGRAM} explain FILE [--json] [--baseline RULES.json] [--policy FILE]

Explains security group changes recorded by CloudTrail, offline: per record, the normalised change
and the EC2 calls that would revert it. FILE (or - for stdin) holds one of:
  - one EventBridge "AWS API Call via CloudTrail" event, or one bare CloudTrail record;
  - a CloudTrail log file as a trail delivers it to S3: {"Records": [...]}, gzipped (.json.gz)
    or not;
  - the output of \`aws cloudtrail lookup-events\`: {"Events": [...]}.
Each record is read as the member reads it: the seven rule calls, CreateSecurityGroup (the new
group's default egress, which the policy keeps or revokes) and ModifyManagedPrefixList (the
entries moved, and the rules naming the list). A record of any other call is reported as
ignored, with why.

options:
  --json                  one JSON object per record, one per line (JSON Lines), in input order
  --baseline RULES.json   the group's rules before the change, as
                          \`aws ec2 describe-security-group-rules\` prints them (- for stdin);
                          needed to revert a ModifySecurityGroupRules or a revoke by rule id;
                          for ModifyManagedPrefixList, every rule of the region (to find the
                          rules naming the list)
  --policy FILE           also show the policy's decision on each change: FILE is a policy
                          file (see policy.example.json) or a config holding "policy" (whose
                          "people" then tell who is verified). The group's name, VPC and tags
                          and when the event arrived are not known offline: rules needing
                          them do not match
  -h, --help              this help

exit status: 0 explained (ignored records included), 2 bad usage or input
`;

const DOCTOR_USAGE = `usage: ${PROGRAM} doctor [--config FILE]

Checks the deployment config offline and says, per field, what is missing or wrong and what looks
risky; with "policy" in the config (a policy file's path relative to the config, or the policy
object), checks the policy and prints it as a table.

options:
  --config FILE   the config (default: $SECGROUP_APPROVAL_CONFIG, else
                  ./secgroup-approval.config.json)
  -h, --help      this help

exit status: 0 nothing to fix (other warnings may remain), 1 an error to fix, 2 bad usage,
             3 valid but still holding example values (a "placeholder" warning): replace them;
             so \`until ${PROGRAM} doctor; do $EDITOR FILE; done\` ends on a deployable config
`;

/**
 * Bad usage or input: exit 2. `help` names the usage that answers it ("" for the overall one,
 * "explain" for `explain --help`); without it the message stands alone.
 */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly help?: string,
  ) {
    super(message);
  }
}

/** A user-given string in a message: quoted, escaped, on one line. */
const quote = (s: string) => JSON.stringify(s);

const helpHint = (command: string) => `run '${PROGRAM}${command ? ` ${command}` : ""} --help'`;

// ---- arguments ----

interface OptionSpec {
  type: "string" | "boolean";
  /** The value's placeholder in messages ("FILE"); string options only. */
  value?: string;
}

type Parsed =
  | { help: true }
  | { help: false; values: Record<string, string | true>; positionals: string[] };

/**
 * A command's arguments, checked here rather than by parseArgs's strict mode, whose messages
 * name no command and can leave a quote open. `-h`/`--help` anywhere (before `--`) wins over any
 * other mistake.
 */
function parseCommand(command: string, spec: Record<string, OptionSpec>, args: string[]): Parsed {
  const { tokens } = parseArgs({
    args,
    options: {
      ...Object.fromEntries(Object.entries(spec).map(([name, o]) => [name, { type: o.type }])),
      help: { type: "boolean", short: "h" },
    },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, string | true> = {};
  const positionals: string[] = [];
  let problem: string | undefined;
  const fail = (message: string) => {
    problem ??= message;
  };
  for (const token of tokens) {
    if (token.kind === "positional") positionals.push(token.value);
    if (token.kind !== "option") continue;
    // `--baseline -h` is a request for help too, not a file named -h.
    const helpAsValue = !token.inlineValue && (token.value === "-h" || token.value === "--help");
    if (token.name === "help" || helpAsValue) return { help: true };
    const option = Object.hasOwn(spec, token.name) ? spec[token.name] : undefined;
    if (!option) {
      fail(`unknown option ${quote(token.rawName)} for ${command}`);
    } else if (option.type === "boolean") {
      if (token.inlineValue) fail(`option ${token.rawName} takes no value`);
      else values[token.name] = true;
    } else if (
      token.value === undefined ||
      (!token.inlineValue && token.value.startsWith("-") && token.value !== "-")
    ) {
      fail(`option ${token.rawName} needs a value (${option.value ?? "a value"})`);
    } else {
      values[token.name] = token.value;
    }
  }
  if (problem) throw new UsageError(problem, command);
  return { help: false, values, positionals };
}

// ---- input ----

/** Strict UTF-8: a byte sequence that is not UTF-8 is refused, never replaced with U+FFFD. */
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The gzip magic number: a CloudTrail log file as S3 holds it (.json.gz). */
const isGzip = (bytes: Uint8Array) => bytes[0] === 0x1f && bytes[1] === 0x8b;

function decode(bytes: Uint8Array, what: string): string {
  let text = bytes;
  if (isGzip(bytes)) {
    try {
      text = gunzipSync(bytes);
    } catch (err) {
      throw new UsageError(`${what} is gzip but does not decompress: ${(err as Error).message}`);
    }
  }
  try {
    return utf8.decode(text);
  } catch {
    throw new UsageError(`${what} is not valid UTF-8`);
  }
}

const nameOf = (file: string) => (file === "-" ? "stdin" : file);

/** FILE's text, or stdin's for "-", as strict UTF-8; gunzipped first if it is gzip. */
async function readInput(file: string): Promise<string> {
  if (file === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return decode(Buffer.concat(chunks), "stdin");
  }
  return decode(await readFile(file), file);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * The baseline: DescribeSecurityGroupRules output names each rule's GroupId, so a record only
 * ever meets its own group's rules (a rule without GroupId counts for every group), and a prefix
 * list change finds the groups whose rules name the list.
 */
function baselineFrom(json: unknown): ExplainBaseline {
  const list = Array.isArray(json)
    ? json
    : (json as { SecurityGroupRules?: unknown })?.SecurityGroupRules;
  if (!Array.isArray(list))
    throw new UsageError(
      "the baseline must be a JSON array of SecurityGroupRules, or {SecurityGroupRules: [...]}",
    );
  return list.map((r) => {
    const groupId = (r as { GroupId?: unknown })?.GroupId;
    const rule = ruleFromSecurityGroupRule(r as Ec2SecurityGroupRule);
    return typeof groupId === "string" ? { groupId, rule } : { rule };
  });
}

// ---- explain ----

function formatText(result: ExplainJson): string {
  if (result.ignored) return `ignored: ${result.reason}`;
  const c = result.change;
  const pl = c.prefixList;
  const where =
    c.groupId ??
    (pl ? `the groups whose rules name ${pl.prefixListId}` : "a group named only by name");
  const lines = [
    `${c.eventName} by ${c.requester.name} (${c.requester.type}, ${c.requester.arn})`,
    `  ${c.kind} ${c.direction} on ${where} in ${c.account} ${c.region} at ${c.eventTime}`,
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
  if (c.created) {
    const group = [
      c.created.groupName && `"${c.created.groupName}"`,
      c.created.vpcId && `in ${c.created.vpcId}`,
    ].filter(Boolean);
    const from =
      c.created.egressFrom === "baseline" ? "as the baseline holds it" : "as EC2 creates it";
    lines.push(
      `  the new group${group.length ? ` ${group.join(" ")}` : ""}: its default egress, ${from}`,
    );
  }
  if (pl) {
    const entry = (e: { cidr: string; description?: string }) =>
      `${e.cidr}${e.description ? ` "${e.description}"` : ""}`;
    lines.push(
      `  prefix list ${pl.prefixListId}${pl.prefixListName ? ` "${pl.prefixListName}"` : ""}`,
    );
    if (pl.added.length) lines.push(`    added: ${pl.added.map(entry).join(", ")}`);
    if (pl.removed.length) lines.push(`    removed: ${pl.removed.map(entry).join(", ")}`);
    if (pl.references === null) {
      lines.push(`  rules naming it: ${pl.referencesNote ?? "not known offline"}`);
    } else {
      lines.push("  rules naming it:");
      for (const ref of pl.references) {
        for (const r of ref.rules) lines.push(`    ${ref.groupId} ${r.direction ?? ""} ${rule(r)}`);
      }
      if (c.rules.length) lines.push("  as if each named each added entry:");
    }
  }
  if (c.ruleIds) lines.push(`  rule ids: ${c.ruleIds.join(", ")}`);
  c.rules.forEach((r, i) => {
    const before = c.before?.[i];
    lines.push(`  - ${before ? `${rule(before)} -> ` : ""}${rule(r)}`);
  });
  lines.push("revert:");
  if (result.revertError) lines.push(`  cannot plan: ${result.revertError}`);
  for (const op of result.revert) lines.push(`  ${JSON.stringify(op)}`);
  if (c.created && result.revert.length) {
    lines.push(
      "  (made only when the policy revokes the default egress; in a notify-mode account, on Deny)",
    );
  }
  lines.push(...policyText(result));
  return lines.join("\n");
}

/** A record of a list, labelled: where it is, what call, which event. */
function heading(entry: CloudTrailInputEvent): string {
  const what = [entry.eventName, entry.eventId && `eventID ${entry.eventId}`].filter(Boolean);
  return `${entry.where}: ${what.length ? what.join(", ") : "a record without eventName"}`;
}

/** One record explained; a record of a list that cannot be read says where it is. */
function explainEntry(
  entry: CloudTrailInputEvent,
  baseline?: ExplainBaseline,
  policy?: ExplainPolicy,
): ExplainJson {
  try {
    return explainEvent(entry.event, baseline, policy);
  } catch (err) {
    if (!entry.where || !(err instanceof Error)) throw err;
    throw new MalformedEventError(`${entry.where}: ${err.message}`);
  }
}

/** `--policy FILE`: a policy file or a config holding one; its problems are usage errors. */
async function readPolicy(file: string): Promise<ExplainPolicy> {
  const text = await readInput(file);
  try {
    // A config may name its policy file (relative to the config) instead of holding the policy.
    const named = policyPathIn(text);
    if (named === undefined || file === "-") return explainPolicyFromText(text, nameOf(file));
    const path = join(dirname(file), named);
    const { policy } = explainPolicyFromText(await readInput(path), path);
    const config = JSON.parse(text) as Record<string, unknown>;
    return explainPolicyFromText(JSON.stringify({ ...config, policy }), nameOf(file));
  } catch (err) {
    if (err instanceof PolicyError) throw new UsageError(err.message);
    throw err;
  }
}

/** The policy file a config names in `policy` (a path), or undefined. */
function policyPathIn(text: string): string | undefined {
  try {
    const json: unknown = JSON.parse(text);
    const policy = (json as { policy?: unknown } | null)?.policy;
    return typeof policy === "string" ? policy : undefined;
  } catch {
    return undefined; // not JSON: the policy parser says where
  }
}

const EXPLAIN_OPTIONS: Record<string, OptionSpec> = {
  json: { type: "boolean" },
  baseline: { type: "string", value: "RULES.json" },
  policy: { type: "string", value: "FILE" },
};

async function explain(args: string[]): Promise<number> {
  const parsed = parseCommand("explain", EXPLAIN_OPTIONS, args);
  if (parsed.help) {
    process.stdout.write(EXPLAIN_USAGE);
    return 0;
  }
  const { values, positionals } = parsed;
  const [file, ...extra] = positionals;
  if (!file || extra.length > 0) {
    throw new UsageError("explain takes one FILE (or - for stdin)", "explain");
  }
  const baselineFile = typeof values.baseline === "string" ? values.baseline : undefined;
  if (file === "-" && baselineFile === "-") {
    throw new UsageError("FILE and --baseline cannot both be - (stdin)", "explain");
  }
  if (values.policy === "-" && (file === "-" || baselineFile === "-")) {
    throw new UsageError("only one of FILE, --baseline and --policy can be - (stdin)", "explain");
  }
  const input = cloudTrailInput(parseJson(await readInput(file), nameOf(file)));
  const baseline = baselineFile
    ? baselineFrom(parseJson(await readInput(baselineFile), nameOf(baselineFile)))
    : undefined;
  const policy = typeof values.policy === "string" ? await readPolicy(values.policy) : undefined;
  // Every record first: a record that cannot be read fails the run before anything is printed.
  const results = input.events.map((entry) => ({
    entry,
    result: explainEntry(entry, baseline, policy),
  }));

  let output: string;
  if (values.json) {
    output = results.map(({ result }) => `${JSON.stringify(explainContract(result))}\n`).join("");
  } else if (input.kind === "event") {
    output = results.map(({ result }) => `${formatText(result)}\n`).join("");
  } else if (results.length === 0) {
    output = `no records in ${nameOf(file)}\n`;
  } else {
    const blocks = results.map(({ entry, result }) => `${heading(entry)}\n${formatText(result)}`);
    output = `${blocks.join("\n\n")}\n`;
  }
  process.stdout.write(output);
  return 0;
}

// ---- doctor ----

async function runDoctor(args: string[]): Promise<number> {
  const parsed = parseCommand("doctor", { config: { type: "string", value: "FILE" } }, args);
  if (parsed.help) {
    process.stdout.write(DOCTOR_USAGE);
    return 0;
  }
  const [extra] = parsed.positionals;
  if (extra !== undefined) {
    throw new UsageError(
      `doctor takes no FILE argument (${quote(extra)}): give the config as --config FILE`,
      "doctor",
    );
  }
  const config = typeof parsed.values.config === "string" ? parsed.values.config : undefined;
  const file = config ?? process.env.SECGROUP_APPROVAL_CONFIG ?? "secgroup-approval.config.json";
  const { doctor } = await import("./doctor.js");
  const result = await doctor(file);
  for (const line of result.lines) process.stdout.write(`${line}\n`);
  return result.exitCode;
}

// ---- check-plan ----

const CHECK_PLAN_OPTIONS: Record<string, OptionSpec> = {
  policy: { type: "string", value: "FILE" },
  principal: { type: "string", value: "ARN" },
  account: { type: "string", value: "ID" },
  region: { type: "string", value: "REGION" },
  "allow-approval": { type: "boolean" },
  json: { type: "boolean" },
};

async function runCheckPlanCommand(args: string[]): Promise<number> {
  const parsed = parseCommand("check-plan", CHECK_PLAN_OPTIONS, args);
  if (parsed.help) {
    process.stdout.write(CHECK_PLAN_USAGE);
    return 0;
  }
  const { values, positionals } = parsed;
  const [file, ...extra] = positionals;
  if (!file || extra.length > 0) {
    throw new UsageError("check-plan takes one PLAN.json (or - for stdin)", "check-plan");
  }
  const str = (key: string) => (typeof values[key] === "string" ? values[key] : undefined);
  const policyFile = str("policy");
  if (!policyFile) throw new UsageError("check-plan needs --policy FILE", "check-plan");
  if (file === "-" && policyFile === "-") {
    throw new UsageError("PLAN.json and --policy cannot both be - (stdin)", "check-plan");
  }
  const account = str("account");
  if (account !== undefined && !/^\d{12}$/.test(account)) {
    throw new UsageError(`--account ${quote(account)} is not a 12-digit account id`, "check-plan");
  }
  let result: ReturnType<typeof runCheckPlan>;
  try {
    result = runCheckPlan({
      planText: await readInput(file),
      planSource: nameOf(file),
      policyText: await readInput(policyFile),
      policySource: nameOf(policyFile),
      ...(str("principal") !== undefined ? { principal: str("principal") } : {}),
      ...(account !== undefined ? { account } : {}),
      ...(str("region") !== undefined ? { region: str("region") } : {}),
      allowApproval: values["allow-approval"] === true,
    });
  } catch (err) {
    if (err instanceof CheckPlanInputError) throw new UsageError(err.message);
    throw err;
  }
  process.stdout.write(
    values.json ? formatCheckPlanJson(result) : formatCheckPlanText(result, nameOf(file)),
  );
  return result.exitCode;
}

// ---- the program ----

/** package.json's version, read when asked: the one installed, never a copy. */
async function version(): Promise<string> {
  const text = await readFile(new URL("../../package.json", import.meta.url), "utf8");
  return String((JSON.parse(text) as { version?: unknown }).version);
}

const COMMANDS: Record<string, { usage: string; run: (args: string[]) => Promise<number> }> = {
  explain: { usage: EXPLAIN_USAGE, run: explain },
  "check-plan": { usage: CHECK_PLAN_USAGE, run: runCheckPlanCommand },
  doctor: { usage: DOCTOR_USAGE, run: runDoctor },
};

function unknownCommand(command: string): UsageError {
  const what = command.startsWith("-") ? "option" : "command";
  return new UsageError(`unknown ${what} ${quote(command)}`, "");
}

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      process.stdout.write(USAGE);
      return 2;
    case "help":
    case "--help":
    case "-h": {
      // `help explain` is `explain --help`.
      const topic = command === "help" ? rest[0] : undefined;
      if (topic === undefined) {
        process.stdout.write(USAGE);
        return 0;
      }
      const known = Object.hasOwn(COMMANDS, topic) ? COMMANDS[topic] : undefined;
      if (!known) throw unknownCommand(topic);
      process.stdout.write(known.usage);
      return 0;
    }
    case "version":
    case "--version":
    case "-v":
      process.stdout.write(`${await version()}\n`);
      return 0;
  }
  const known = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!known) throw unknownCommand(command);
  return known.run(rest);
}

export async function main(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    const code = (err as NodeJS.ErrnoException).code;
    const usage = err instanceof UsageError || !code || code.startsWith("ERR_PARSE_ARGS");
    const prefix = usage ? "" : "cannot read input: ";
    const hint =
      err instanceof UsageError && err.help !== undefined ? `; ${helpHint(err.help)}` : "";
    process.stderr.write(`${PROGRAM}: ${prefix}${message}${hint}\n`);
    return 2;
  }
}
