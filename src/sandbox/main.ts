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
 * (baseline sweep, 3600); 0 turns one off. SLACK_SIGNING_SECRET signs the page's button clicks.
 */
import { rm } from "node:fs/promises";
import { parseArgs } from "node:util";
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeVpcsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import type { Log } from "../ports/log.js";
import { startSandboxServer } from "./server.js";
import { SANDBOX, startLocalStack } from "./stack.js";

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
const SWEEP_EVERY_S = seconds("SANDBOX_SWEEP_INTERVAL_SECONDS", 3600);
const SIGNING_SECRET = process.env.SLACK_SIGNING_SECRET || "sandbox-signing-secret";
const DATA_DIR = ".sandbox";

const started = performance.now();
const time = () => new Date().toLocaleTimeString("en-GB");
let broadcast: (event: { type: string; line: string }) => void = () => {};

/** One line per step of the flow; everything else only when it is a warning or an error. */
function flowLine(message: string, a: Record<string, unknown> = {}): string | undefined {
  switch (message) {
    case "reverted":
      return `reverted ${a.groupId} in ${a.revertMs} ms (${a.calls} EC2 call${a.calls === 1 ? "" : "s"}), event ${a.eventId}`;
    case "revert_failed":
      return `could NOT revert ${a.groupId}: ${JSON.stringify(a.revertError)}`;
    case "exempt":
    case "ignored":
      return `${message}: ${a.reason}`;
    case "request stored":
      return a.created
        ? `request ${a.requestId} ${a.status}, posted to ${(a.posted as string[]).map((c) => `#${c}`).join(" and ")}`
        : undefined;
    case "request approved":
    case "request denied":
      return `request ${a.requestId} ${message.split(" ")[1]} by ${a.by}`;
    case "request applied":
      return `request ${a.requestId} applied`;
    case "request failed":
      return `request ${a.requestId} failed: ${JSON.stringify(a.error)}`;
    case "event not delivered":
      return `${a.reason}: ${a.eventName} event not delivered`;
    case "scheduled run":
      return a.job === "sweepBaseline"
        ? `baseline sweep: ${a.groups} groups, ${a.rules} rules${a.republished ? `, ${a.republished} unsent change(s) sent to the hub` : ""}`
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
    console.warn(`${time()}  warn: ${message} ${attributes ? JSON.stringify(attributes) : ""}`);
  },
  error(message, attributes) {
    console.error(`${time()}  error: ${message} ${attributes ? JSON.stringify(attributes) : ""}`);
  },
};

async function seed(ec2Endpoint: string): Promise<{ id: string; name: string }[]> {
  const ec2 = new EC2Client({
    endpoint: ec2Endpoint,
    region: SANDBOX.region,
    credentials: { accessKeyId: "admin", secretAccessKey: "sandbox" },
  });
  const { Vpcs = [] } = await ec2.send(
    new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["true"] }] }),
  );
  const vpcId = Vpcs[0]?.VpcId;
  const groups = [
    {
      name: "web-servers",
      description: "Public web tier",
      port: 443,
      cidr: "0.0.0.0/0",
      note: "HTTPS from anywhere",
    },
    {
      name: "databases",
      description: "PostgreSQL for the web tier",
      port: 5432,
      cidr: "10.0.0.0/16",
      note: "PostgreSQL from the VPC",
    },
  ];
  const made: { id: string; name: string }[] = [];
  for (const g of groups) {
    const { GroupId } = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: g.name,
        Description: g.description,
        VpcId: vpcId,
      }),
    );
    if (!GroupId) throw new Error(`moto made no group ${g.name}`);
    // As the exempt admin: the seed rules stand.
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId,
        IpPermissions: [
          {
            IpProtocol: "tcp",
            FromPort: g.port,
            ToPort: g.port,
            IpRanges: [{ CidrIp: g.cidr, Description: g.note }],
          },
        ],
      }),
    );
    made.push({ id: GroupId, name: g.name });
  }
  return made;
}

const every = (s: number) => (s > 0 ? `every ${s} s` : "off");

async function main(): Promise<void> {
  if (values.fresh) await rm(".sandbox", { recursive: true, force: true });
  const stack = await startLocalStack({
    dataDir: DATA_DIR,
    ec2Port: EC2_PORT,
    dynamoPort: DYNAMODB_PORT,
    slackApiPort: SLACK_API_PORT,
    signingSecret: SIGNING_SECRET,
    log: consoleLog,
    schedule: { expireEveryMs: EXPIRE_EVERY_S * 1000, sweepEveryMs: SWEEP_EVERY_S * 1000 },
  });
  // moto is in memory: the groups are made again, and the baseline swept again (the stack swept
  // at start; this takes in the new groups and sends the hub any change it has not had).
  const groups = await seed(stack.ec2Endpoint);
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

  State: DynamoDB and Slack messages kept in ${DATA_DIR}/${values.fresh ? " (started empty)" : ` (${stack.slack.state.messages().length} messages restored; --fresh starts empty)`}
  EC2 state starts fresh each run (moto keeps nothing): earlier requests name groups that are gone.
  Schedules: expireRequests ${every(EXPIRE_EVERY_S)}, baseline sweep ${every(SWEEP_EVERY_S)}

  Account ${SANDBOX.account} (${SANDBOX.accountAlias}), region ${SANDBOX.region}
  Groups: ${groups.map((g) => `${g.name} ${g.id}`).join(", ")}

  Identities (the AWS access key id picks who you are):
    alice     IAM user alice                      governed; Slack U0ALICE, cannot approve her own change
    sso-bob   SSO session bob@example.com         governed; Slack U0BOB is an approver
    admin     role BreakGlassAdmin                exempt: changes stand
  Slack users on the page: bob and carol approve, mallory is not an approver.

  Try it from the page, or with the AWS CLI:
    AWS_ACCESS_KEY_ID=alice AWS_SECRET_ACCESS_KEY=x aws ec2 authorize-security-group-ingress \\
      --endpoint-url ${stack.ec2Endpoint} --region ${SANDBOX.region} --group-id ${web} \\
      --ip-permissions 'IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=0.0.0.0/0,Description=ssh}]'
    AWS_ACCESS_KEY_ID=alice AWS_SECRET_ACCESS_KEY=x aws ec2 describe-security-group-rules \\
      --endpoint-url ${stack.ec2Endpoint} --region ${SANDBOX.region} --filters Name=group-id,Values=${web}

  Ctrl-C stops everything.
`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping…");
    await server.stop();
    await stack.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((err: unknown) => {
  console.error(`secgroup-approval sandbox: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
