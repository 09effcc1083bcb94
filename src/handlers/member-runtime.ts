/** The member account's adapters, built from the environment once per Lambda container. */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoBaselines, DynamoEventLedger } from "../adapters/dynamodb/baselines.js";
import { documentClient } from "../adapters/dynamodb/client.js";
import { createEc2Client } from "../adapters/ec2/client.js";
import { Ec2SecurityGroups } from "../adapters/ec2/security-groups.js";
import { SnsPublisher } from "../adapters/sns/publisher.js";
import type { MemberDeps } from "../app/member.js";
import { loadConfig, memberConfigSchema } from "./config.js";
import { log, once, systemClock } from "./logging.js";

export const memberDeps = once((): MemberDeps => {
  const config = loadConfig(memberConfigSchema, process.env);
  const dynamo = documentClient(new DynamoDBClient({}));
  return {
    securityGroups: new Ec2SecurityGroups(createEc2Client()),
    baselines: new DynamoBaselines(dynamo, config.BASELINE_TABLE),
    ledger: new DynamoEventLedger(dynamo, config.BASELINE_TABLE),
    publisher: new SnsPublisher(),
    clock: systemClock,
    log,
    config: {
      hubChangeTopicArn: config.HUB_CHANGE_TOPIC_ARN,
      hubResultTopicArn: config.HUB_RESULT_TOPIC_ARN,
      accountAlias: config.ACCOUNT_ALIAS,
      policy: {
        systemRoleArns: config.SYSTEM_ROLE_ARNS,
        exemptPrincipals: config.EXEMPT_PRINCIPALS,
        maxEventAgeSeconds:
          config.MAX_EVENT_AGE_SECONDS === 0 ? null : config.MAX_EVENT_AGE_SECONDS,
        autoDenyWithoutDescription: config.AUTO_DENY_WITHOUT_DESCRIPTION,
      },
    },
  };
});
