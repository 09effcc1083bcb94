/**
 * buttonClick's first click in a fresh process (see cold-start.ts): the function's environment as
 * infra/hub.ts sets it, pointed at the local stack — DynamoDB (dynalite), Slack (the fake), and
 * Secrets Manager and SNS (moto, through the EC2 proxy, which passes other services through) —
 * and one signed Approve click per round on a fresh pending request.
 */
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CreateTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { DEFAULT_TABLE_NAMES } from "../src/adapters/dynamodb/tables.js";
import { signSlackRequest } from "../src/adapters/slack/verify.js";
import {
  type LocalStack,
  SANDBOX,
  SANDBOX_MEMBERS,
  SANDBOX_PEOPLE,
  TOPICS,
} from "../src/sandbox/stack.js";
import type { FirstCall } from "./cold-start.js";
import { clickPayload, pendingRequests } from "./local.js";

const COLD_KEY = "bench-cold";
const COLD_SIGNING_SECRET = "0123456789abcdef0123456789abcdef";

/** The function's environment as infra/hub.ts sets it, on the local stack's endpoints. */
export async function firstClick(stack: LocalStack, rounds: number): Promise<FirstCall> {
  // Secrets Manager and SNS are moto's, through the proxy (which passes other services through).
  const aws = {
    endpoint: stack.ec2Endpoint,
    region: SANDBOX.region,
    credentials: { accessKeyId: COLD_KEY, secretAccessKey: "x" },
  };
  const secrets = new SecretsManagerClient(aws);
  const suffix = Date.now().toString(36);
  const secret = async (name: string, value: string) =>
    (
      await secrets.send(
        new CreateSecretCommand({ Name: `${name}-${suffix}`, SecretString: value }),
      )
    ).ARN ?? "";
  const [botArn, signingArn] = await Promise.all([
    secret("slack-bot-token", "xoxb-bench-cold"),
    secret("slack-signing-secret", COLD_SIGNING_SECRET),
  ]);
  const sns = new SNSClient(aws);
  await sns.send(new CreateTopicCommand({ Name: "applySecurityGroupChange" }));
  await sns.send(new CreateTopicCommand({ Name: "denySecurityGroupChange" }));
  const requests = await pendingRequests(stack, rounds);
  return {
    handler: "buttonClick",
    env: {
      AWS_REGION: SANDBOX.region,
      AWS_ACCESS_KEY_ID: COLD_KEY,
      AWS_SECRET_ACCESS_KEY: "x",
      AWS_ENDPOINT_URL_DYNAMODB: stack.dynamoEndpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: stack.ec2Endpoint,
      AWS_ENDPOINT_URL_SNS: stack.ec2Endpoint,
      REQUESTS_TABLE: DEFAULT_TABLE_NAMES.requests,
      SLACK_BOT_TOKEN_SECRET_ARN: botArn,
      SLACK_SIGNING_SECRET_ARN: signingArn,
      SLACK_TEAM_ID: SANDBOX.teamId,
      SLACK_APP_ID: SANDBOX.appId,
      SLACK_APPROVAL_CHANNEL: SANDBOX.approvalChannel,
      SLACK_MONITORING_CHANNEL: SANDBOX.monitoringChannel,
      APPROVER_USER_IDS: SANDBOX.approvers.join(","),
      DENY_TOPIC_ARN: TOPICS.deny,
      ACCOUNT_ALIASES: JSON.stringify(
        Object.fromEntries(SANDBOX_MEMBERS.map((m) => [m.account, m.alias])),
      ),
      GOVERNED_ACCOUNTS: JSON.stringify(
        Object.fromEntries(SANDBOX_MEMBERS.map((m) => [m.account, [m.region]])),
      ),
      PEOPLE: JSON.stringify(SANDBOX_PEOPLE.people),
      SLACK_API_URL: stack.slack.url,
    },
    // The first call did the whole approval: the request is approved, the apply published, and
    // both of its messages updated (the Slack client was loaded and used).
    verify: async (round) => {
      const request = requests[round];
      const now = request && (await stack.hubDeps.requests.get(request.requestId));
      const updated = (kind: "approval" | "monitoring") => {
        const ref = now?.slack?.[kind];
        return (ref && stack.slack.state.message(ref.channel, ref.ts)?.versions.length) ?? 0;
      };
      if (now?.status !== "approved" || updated("approval") < 2 || updated("monitoring") < 2) {
        throw new Error(
          `cold round ${round}: the first click left ${now?.requestId} ${now?.status}, its messages at ${updated("approval")} and ${updated("monitoring")} versions`,
        );
      }
    },
    event: async (round) => {
      const request = requests[round];
      if (!request) throw new Error(`no pending request for cold round ${round}`);
      const body = clickPayload(request, "U0BOB");
      const timestamp = Math.floor(Date.now() / 1000);
      return {
        body,
        isBase64Encoded: false,
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          "X-Slack-Request-Timestamp": String(timestamp),
          "X-Slack-Signature": signSlackRequest({
            signingSecret: COLD_SIGNING_SECRET,
            rawBody: body,
            timestamp,
          }),
        },
      };
    },
  };
}
