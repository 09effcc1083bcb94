/** The member account's adapters, built from the environment once per Lambda container. */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { BACKGROUND, clientConfig } from "../adapters/aws-clients.js";
import { DynamoBaselines, DynamoEventLedger } from "../adapters/dynamodb/baselines.js";
import { documentClient } from "../adapters/dynamodb/client.js";
import { createEc2Client } from "../adapters/ec2/client.js";
import { Ec2SecurityGroups } from "../adapters/ec2/security-groups.js";
import { EventBridgeHubLink } from "../adapters/events/hub-link.js";
import { driftEventId, requestIdFor } from "../adapters/ids.js";
import { powertoolsCounters } from "../adapters/metrics/powertools.js";
import type { MemberDeps } from "../app/member/index.js";
import { loadConfig, type MemberConfig, memberConfigSchema, switchesOf } from "./config.js";
import { log, once, systemClock } from "./logging.js";

export function memberSettings(config: MemberConfig): MemberDeps["config"] {
  return {
    account: config.MEMBER_ACCOUNT_ID,
    region: config.AWS_REGION,
    policy: switchesOf(config),
    ...(config.POLICY ? { policyFile: config.POLICY } : {}),
    people: { people: config.PEOPLE, sourceIdentityRoles: config.SOURCE_IDENTITY_ROLES },
    drift: { graceSeconds: config.DRIFT_GRACE_SECONDS, maxPerSweep: config.DRIFT_MAX_PER_SWEEP },
    deployment: config.DEPLOYMENT_ID,
  };
}

export const memberConfig = once(() => loadConfig(memberConfigSchema, process.env));

export const memberDeps = once((): MemberDeps => {
  const config = memberConfig();
  const dynamo = documentClient(new DynamoDBClient(clientConfig(BACKGROUND)));
  return {
    securityGroups: new Ec2SecurityGroups(createEc2Client()),
    baselines: new DynamoBaselines(dynamo, config.BASELINE_TABLE),
    ledger: new DynamoEventLedger(dynamo, config.BASELINE_TABLE),
    hub: new EventBridgeHubLink(
      new EventBridgeClient(clientConfig(BACKGROUND)),
      config.MEMBER_BUS_NAME,
    ),
    clock: systemClock,
    log,
    metrics: powertoolsCounters("secgroup-approval-member"),
    ids: { requestIdFor, driftEventId },
    config: memberSettings(config),
  };
});
