/**
 * `npm start`: the whole product on this machine, no AWS account and no Slack workspace.
 *
 *   npm start               keep DynamoDB data and Slack messages in .sandbox/ between runs
 *   npm start -- --fresh    start empty
 *
 * EC2 (moto) keeps nothing between runs: its groups are made again at each start.
 * Ports: SANDBOX_PORT (page, 3000), EC2_PORT (EC2 endpoint, 4566), SLACK_API_PORT (loopback
 * Slack Web API, 4567), DYNAMODB_PORT (dynalite, 4568); 0 picks a free port.
 * Schedules: SANDBOX_EXPIRE_INTERVAL_SECONDS (expireRequests, 60), SANDBOX_SWEEP_INTERVAL_SECONDS
 * (the drift check, 900); 0 turns one off. SANDBOX_DRIFT_GRACE_SECONDS (0): how long a difference
 * must last before the sweep files it as drift. SLACK_SIGNING_SECRET signs the page's clicks.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Log } from "../ports/log.js";
import { checkPorts, LOCK_FILE, lockDataDir, PreflightError } from "./preflight.js";
import { listGroups, seed } from "./seed.js";
import { SANDBOX_USERS, startSandboxServer } from "./server.js";
import {
  EC2_RECORDING,
  examplePolicy,
  SANDBOX,
  SANDBOX_MEMBERS,
  startLocalStack,
} from "./stack.js";

// Node 20 runs everything here with the pinned AWS SDK; the SDK's nine-line notice that later
// SDK releases will need Node 22 is for whoever upgrades it (the README says so), not for each start.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const { values } = parseArgs({ options: { fresh: { type: "boolean", default: false } } });
const port = (name: string, fallback: number) => {
  const raw = process.env[name];
  const n = raw === undefined || raw === "" ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`${name} must be a port number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
};
const seconds = (name: string, fallback: number) => {
  const raw = process.env[name];
  const n = raw === undefined || raw === "" ? fallback : Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 2_000_000) {
    console.error(`${name} must be a number of seconds (0 = never), got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
};
const PAGE_PORT = port("SANDBOX_PORT", 3000);
const EC2_PORT = port("EC2_PORT", 4566);
const SLACK_API_PORT = port("SLACK_API_PORT", 4567);
const DYNAMODB_PORT = port("DYNAMODB_PORT", 4568);
const EXPIRE_EVERY_S = seconds("SANDBOX_EXPIRE_INTERVAL_SECONDS", 60);
const SWEEP_EVERY_S = seconds("SANDBOX_SWEEP_INTERVAL_SECONDS", 900);
const DRIFT_GRACE_S = seconds("SANDBOX_DRIFT_GRACE_SECONDS", 0);
const SIGNING_SECRET = process.env.SLACK_SIGNING_SECRET || "sandbox-signing-secret";
const DATA_DIR = ".sandbox";

const started = performance.now();
const time = () => new Date().toLocaleTimeString("en-GB");
let broadcast: (event: { type: string; line: string }) => void = () => {};

const slackName = (id: unknown) => SANDBOX_USERS.find((u) => u.id === id)?.name ?? String(id);

/** One line per step of the flow; everything else only when it is a warning or an error. */
function flowLine(message: string, a: Record<string, unknown> = {}): string | undefined {
  switch (message) {
    case "reverted":
      return `reverted ${a.groupId} in ${a.revertMs} ms (${a.calls} EC2 call${a.calls === 1 ? "" : "s"}), event ${a.eventId}`;
    case "revert_failed":
      return `could NOT revert ${a.groupId}: ${JSON.stringify(a.revertError)}`;
    case "left_live": {
      const why = a.revertError as { code?: string } | undefined;
      return `left ${a.groupId} live for a person to decide (${why?.code}), event ${a.eventId}`;
    }
    case "exempt":
      return `${message}: ${a.reason}`;
    case "ignored":
      // The system's own reverts and applies come back as events: that they pass is no news.
      return String(a.reason).startsWith("made by this system's own role")
        ? undefined
        : `${message}: ${a.reason}`;
    case "drift reverted and filed":
      return `drift on ${a.groupId} (no CloudTrail event): reverted, filed as ${a.requestId}`;
    case "request stored":
      return a.created
        ? `request ${a.requestId} ${a.status}, posted to ${(a.posted as string[]).map((c) => `#${c}`).join(" and ")}`
        : undefined;
    case "request approved":
    case "request denied":
      return `request ${a.requestId} ${message.split(" ")[1]} by ${slackName(a.by)}`;
    case "approval recorded":
      return `request ${a.requestId}: approval by ${slackName(a.by)} recorded, ${a.still} more needed`;
    case "request applied":
      return `request ${a.requestId} applied`;
    case "request failed":
      return `request ${a.requestId} failed: ${JSON.stringify(a.error)}`;
    case "event not delivered":
      return `${a.reason}: ${a.eventName} event not delivered`;
    case "scheduled run":
      return a.job === "sweepBaseline"
        ? `drift check: ${a.groups} groups, ${a.drift} drift reverted and filed${a.suspected ? `, ${a.suspected} within the grace window` : ""}${a.republished ? `, ${a.republished} unsent change(s) sent to the hub` : ""}`
        : `expireRequests: ${[
            (a.expired as string[]).length ? `expired ${(a.expired as string[]).join(", ")}` : "",
            (a.resent as string[]).length ? `sent again ${(a.resent as string[]).join(", ")}` : "",
          ]
            .filter(Boolean)
            .join("; ")}`;
    case "interaction":
      return a.outcome === "approved" || a.outcome === "denied"
        ? undefined
        : `click on ${a.requestId ?? "?"}: ${a.outcome} (${a.status})`;
    default:
      return undefined;
  }
}

const consoleLog: Log = {
  debug() {},
  info(message, attributes) {
    const line = flowLine(message, attributes);
    if (!line) return;
    console.log(`${time()}  ${line}`);
    broadcast({ type: "log", line });
  },
  warn(message, attributes) {
    const line = flowLine(message, attributes);
    if (line) {
      console.log(`${time()}  ${line}`);
      broadcast({ type: "log", line });
      return;
    }
    console.warn(`${time()}  warn: ${message} ${attributes ? JSON.stringify(attributes) : ""}`);
  },
  error(message, attributes) {
    console.error(`${time()}  error: ${message} ${attributes ? JSON.stringify(attributes) : ""}`);
  },
};

const every = (s: number) => (s > 0 ? `every ${s} s` : "off");

async function main(): Promise<void> {
  const unlock = await lockDataDir(DATA_DIR);
  await checkPorts([
    { variable: "SANDBOX_PORT", port: PAGE_PORT },
    { variable: "EC2_PORT", port: EC2_PORT },
    { variable: "SLACK_API_PORT", port: SLACK_API_PORT },
    { variable: "DYNAMODB_PORT", port: DYNAMODB_PORT },
  ]);
  if (values.fresh) {
    await Promise.all(
      (await readdir(DATA_DIR))
        .filter((f) => f !== LOCK_FILE)
        .map((f) => rm(join(DATA_DIR, f), { recursive: true, force: true })),
    );
  }
  const stack = await startLocalStack({
    dataDir: DATA_DIR,
    ec2Port: EC2_PORT,
    dynamoPort: DYNAMODB_PORT,
    slackApiPort: SLACK_API_PORT,
    signingSecret: SIGNING_SECRET,
    log: consoleLog,
    schedule: { expireEveryMs: EXPIRE_EVERY_S * 1000, sweepEveryMs: SWEEP_EVERY_S * 1000 },
    driftGraceSeconds: DRIFT_GRACE_S,
    policy: examplePolicy(),
  });
  const restored = stack.slack.state.messages().length;
  // EC2 comes back from the recording in .sandbox/; only an empty one is seeded (as the exempt
  // admins: the seed's rules stand and the baselines take them in).
  if (stack.ec2Replayed === 0) await seed(stack.ec2Endpoint);
  const groups = await listGroups(stack.ec2Endpoint);
  await stack.sweep();
  const server = await startSandboxServer({ stack, port: PAGE_PORT });
  broadcast = server.broadcast;
  const web = groups[0]?.id ?? "sg-…";

  console.log(`
secgroup-approval sandbox is up in ${((performance.now() - started) / 1000).toFixed(1)} s

  Slack channels (the page)   ${server.url}
  Slack interactivity         ${server.url}/slack/actions   (signing secret: ${SIGNING_SECRET})
  Posted messages (JSON)      ${server.url}/sandbox/slack/messages
  EC2 endpoint (moto, proxied) ${stack.ec2Endpoint}
  Slack Web API (loopback)    ${stack.slack.url}
  DynamoDB (dynalite)         ${stack.dynamoEndpoint}

  State: DynamoDB and Slack messages kept in ${DATA_DIR}/${restored === 0 ? " (started empty)" : ` (${restored} messages restored; --fresh starts empty)`}
  EC2 ${stack.ec2Replayed ? `restored: ${stack.ec2Replayed} recorded calls replayed` : "seeded afresh"}, recorded in ${DATA_DIR}/${EC2_RECORDING}
  Schedules: expireRequests ${every(EXPIRE_EVERY_S)}, drift check ${every(SWEEP_EVERY_S)} (grace ${DRIFT_GRACE_S} s)

  Accounts: ${SANDBOX_MEMBERS.map((m) => `${m.account} (${m.alias})`).join(", ")}; region ${SANDBOX.region}
  Groups: ${groups.map((g) => `${g.name} ${g.id} (${g.alias})`).join(", ")}

  Identities (the AWS access key id picks who you are):
    alice          IAM user alice (sandbox)          verified by the people mapping: Slack U0ALICE,
                                                     who cannot approve her own change
    sso-bob        SSO session bob@example.com       verified by Identity Center: bob cannot approve it
    ci-deploy      role ci-deploy, session "bob"     unverified (the caller chose the name): needs
                                                     two different approvers, "1 of 2" after the first
    terraform-ci   role terraform-ci (sandbox)       the pipeline: auto-approved by policy (stands,
                                                     a monitoring line only)
    admin          role BreakGlassAdmin (sandbox)    exempt: changes stand (a monitoring line)
    staging-dev    IAM user dev (staging)            staging is in notify mode: the change stands,
                                                     Approve keeps it, Deny reverts it
    staging-admin  role BreakGlassAdmin (staging)    exempt
  Slack users on the page: bob and carol approve, mallory is not an approver.

  Policy: policy.example.json (docs/POLICY.md). SSH or RDP from the internet is auto-denied; a rule
  without a description is auto-denied; a new group keeps its default egress; payments-prod (tagged
  env=production) needs two approvers, in #sg-prod; the staging account is rolled out in notify mode.

  Try it from the page, or with the AWS CLI:
    AWS_ACCESS_KEY_ID=alice AWS_SECRET_ACCESS_KEY=x aws ec2 authorize-security-group-ingress \\
      --endpoint-url ${stack.ec2Endpoint} --region ${SANDBOX.region} --group-id ${web} \\
      --ip-permissions 'IpProtocol=tcp,FromPort=8443,ToPort=8443,IpRanges=[{CidrIp=198.51.100.0/24,Description=partner-api}]'
    AWS_ACCESS_KEY_ID=alice AWS_SECRET_ACCESS_KEY=x aws ec2 describe-security-group-rules \\
      --endpoint-url ${stack.ec2Endpoint} --region ${SANDBOX.region} --filters Name=group-id,Values=${web}

  A change CloudTrail misses (no event), then the drift check that finds it:
    AWS_ACCESS_KEY_ID=alice AWS_SECRET_ACCESS_KEY=x aws ec2 authorize-security-group-ingress \\
      --endpoint-url ${stack.ec2Endpoint}/untracked --region ${SANDBOX.region} --group-id ${web} \\
      --ip-permissions 'IpProtocol=tcp,FromPort=8080,ToPort=8080,IpRanges=[{CidrIp=10.0.0.0/8,Description=untracked}]'
    curl -s -X POST ${server.url}/sandbox/sweep

  Ctrl-C stops everything.
`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping…");
    await server.stop();
    await stack.stop();
    await unlock();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((err: unknown) => {
  console.error(`secgroup-approval sandbox: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(err instanceof PreflightError ? 2 : 1);
});
