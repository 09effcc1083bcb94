/**
 * The hub: the requests table, the two Slack secrets, the hub's event bus (what members send),
 * the deny topic, the Slack interactivity endpoint and the five hub handlers.
 */
import { Duration, RemovalPolicy, SecretValue, Stack } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigateway";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import * as wafv2 from "aws-cdk-lib/aws-wafv2";
import { Construct } from "constructs";
import { REQUESTS_BY_DUE_INDEX, REQUESTS_TABLE } from "../src/adapters/dynamodb/tables.js";
import { HUB_DETAIL_TYPES, MEMBER_EVENT_SOURCE } from "../src/adapters/events/hub-link.js";
import { metricAlarms } from "./alarms.js";
import {
  type AppConfig,
  accountAliases,
  governedAccounts,
  memberAccounts,
  memberTargets,
} from "./config.js";
import { Handler, output } from "./handler.js";
import { BUTTON_CLICK_MEMORY_MB } from "./memory.js";
import {
  acknowledge,
  acknowledgeWildcards,
  nagPartition,
  REASONS,
  SNS_KMS_ACTIONS,
} from "./nag.js";
import {
  API_STAGE,
  anyKeyArn,
  BUSES,
  busArn,
  HUB_FUNCTIONS,
  type HubFunction,
  KEY_ALIASES,
  roleArn,
  roleName,
  SLACK_ACTIONS_PATH,
  SLACK_SECRET_NAMES,
  TOPICS,
  topicArn,
} from "./names.js";
import { assertEnvironmentFits, policyEnvironment } from "./policy.js";
import { indexArn, tableFrom } from "./tables.js";

/**
 * Exactly the calls each hub function makes on the requests table (src/app/hub/ through
 * src/adapters/dynamodb/request-store.ts). Only storeSecurityGroupRequest creates items; every
 * state change (a transition, a post's claim, the Slack refs) is a conditional UpdateItem, whose
 * losing side reads the item again.
 */
export const HUB_TABLE_ACTIONS = {
  // requests.create (PutItem), .get, .transition / .claimPost / .releasePost / .setSlackRefs
  store: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
  // requests.get, .transition (approve / deny)
  button: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
  // requests.get: the deny report only reads
  deny: ["dynamodb:GetItem"],
  // requests.get, .transition (applied / failed / follow-up revert)
  result: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
  // requests.get, .transition, posts' claims and refs; listDue is a Query on byDue, granted apart
  expire: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
} as const satisfies Record<HubFunction, string[]>;

/** Every hub function posts or updates Slack messages: each reads the bot token. */
export const BOT_TOKEN_READERS: readonly HubFunction[] = HUB_FUNCTIONS;
/** Only buttonClick verifies Slack's requests: it alone reads the signing secret. */
export const SIGNING_SECRET_READERS: readonly HubFunction[] = ["button"];

/** What the secrets hold until an operator puts the real values (docs/DEPLOY.md, step 5). */
export const SECRET_PLACEHOLDER = "not set: put the value as docs/DEPLOY.md says (step 5)";

export interface HubProps {
  config: AppConfig;
}

export class Hub extends Construct {
  readonly requests: ReturnType<typeof tableFrom>;
  readonly secrets: { botToken: secretsmanager.Secret; signingSecret: secretsmanager.Secret };
  /** What members send: changes and results, forwarded from each member's own bus. */
  readonly bus: events.EventBus;
  readonly topics: { deny: sns.Topic };
  readonly api: apigw.RestApi;
  /** Encrypts the deny topic (and the alarm topic, with alarmEmail). */
  readonly topicKey: kms.Key;
  readonly firewall: wafv2.CfnWebACL | undefined;
  readonly handlers: Record<HubFunction, Handler>;

  constructor(scope: Construct, id: string, props: HubProps) {
    super(scope, id);
    const { config } = props;
    const stack = Stack.of(this);
    const { partition, region, account } = stack;
    const members = memberTargets(config);
    const organization = config.organization;

    // ---- data --------------------------------------------------------------------------------
    this.requests = tableFrom(this, "Requests", REQUESTS_TABLE);

    const secret = (cid: string, secretName: string, what: string) => {
      const s = new secretsmanager.Secret(this, cid, {
        secretName,
        description: `secgroup-approval: the Slack ${what}, as one plain string. Created with a placeholder; put the value with aws secretsmanager put-secret-value (docs/DEPLOY.md, step 5).`,
        // No secret material here: a placeholder the functions reject by name. The template never
        // changes it again, so later deploys keep what was put.
        secretStringValue: SecretValue.unsafePlainText(SECRET_PLACEHOLDER),
        removalPolicy: RemovalPolicy.DESTROY,
      });
      acknowledge(
        s,
        "AwsSolutions-SMG4",
        "The bot token and signing secret are issued by Slack and can only be rotated in Slack's app settings; after rotating there, put the new value here (docs/DEPLOY.md). A rotation Lambda could not obtain new values.",
      );
      return s;
    };
    this.secrets = {
      botToken: secret("SlackBotToken", SLACK_SECRET_NAMES.botToken, "bot token (xoxb-…)"),
      signingSecret: secret(
        "SlackSigningSecret",
        SLACK_SECRET_NAMES.signingSecret,
        "signing secret (hex, from Basic Information)",
      ),
    };

    // ---- topics ------------------------------------------------------------------------------
    this.topicKey = new kms.Key(this, "TopicKey", {
      alias: KEY_ALIASES.hub,
      description: "secgroup-approval: encrypts the hub's SNS topics",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    const key = this.topicKey;
    // Written by buttonClick only: no other account may publish to a hub topic.
    this.topics = {
      deny: new sns.Topic(this, "DenyTopic", {
        topicName: TOPICS.deny,
        displayName: "secgroup-approval: denied requests",
        masterKey: key,
        enforceSSL: true,
      }),
    };

    // ---- the hub's bus -----------------------------------------------------------------------
    // EventBridge stamps every event with the account and region that sent it; the hub takes the
    // sender from there (src/domain/binding.ts). The policy admits the listed member accounts
    // and, organization-wide, the organization's accounts: nobody else may put events here.
    const hubBusArn = busArn(partition, region, account, BUSES.hub);
    this.bus = new events.EventBus(this, "Bus", {
      eventBusName: BUSES.hub,
      description:
        "secgroup-approval: changes and results from the member accounts (forwarded from each member's bus)",
    });
    (this.bus.node.defaultChild as events.CfnEventBus).policy = {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "GovernedMemberAccountsSend",
          Effect: "Allow",
          Principal: {
            AWS: memberAccounts(config).map((a) => `arn:${partition}:iam::${a}:root`),
          },
          Action: "events:PutEvents",
          Resource: hubBusArn,
        },
        ...(organization
          ? [
              {
                Sid: "OrganizationAccountsSend",
                Effect: "Allow",
                Principal: "*",
                Action: "events:PutEvents",
                Resource: hubBusArn,
                Condition: { StringEquals: { "aws:PrincipalOrgID": organization.id } },
              },
            ]
          : []),
      ],
    };

    // ---- handlers ----------------------------------------------------------------------------
    const environment: Record<string, string> = {
      REQUESTS_TABLE: this.requests.tableName,
      SLACK_BOT_TOKEN_SECRET_ARN: this.secrets.botToken.secretArn,
      ...(config.slack.teamId ? { SLACK_TEAM_ID: config.slack.teamId } : {}),
      ...(config.slack.appId ? { SLACK_APP_ID: config.slack.appId } : {}),
      SLACK_APPROVAL_CHANNEL: config.slack.approvalChannel,
      SLACK_MONITORING_CHANNEL: config.slack.monitoringChannel,
      APPROVER_USER_IDS: config.slack.approverUserIds.join(","),
      ...(config.slack.approverUserGroup
        ? { APPROVER_USER_GROUP: config.slack.approverUserGroup }
        : {}),
      DENY_TOPIC_ARN: this.topics.deny.topicArn,
      MEMBER_APPLY_TOPIC_NAME: TOPICS.apply,
      AWS_PARTITION: partition,
      REQUEST_EXPIRY_HOURS: String(config.requestExpiryHours),
      ACCOUNT_ALIASES: JSON.stringify(accountAliases(config)),
      GOVERNED_ACCOUNTS: JSON.stringify(governedAccounts(config)),
      ...(organization
        ? {
            ORGANIZATION_ID: organization.id,
            ORGANIZATION_REGIONS: organization.regions.join(","),
          }
        : {}),
      PEOPLE: JSON.stringify(config.people),
      SOURCE_IDENTITY_ROLES: config.sourceIdentityRoles.join(","),
      ON_EXPIRY: config.onExpiry,
      // The same switches and policy file as the members: the hub routes requests by them.
      EXEMPT_PRINCIPALS: config.exemptPrincipals.join(","),
      MAX_EVENT_AGE_SECONDS: String(config.seedRules.maxEventAgeSeconds),
      AUTO_DENY_WITHOUT_DESCRIPTION: String(config.seedRules.autoDenyWithoutDescription),
      ...policyEnvironment(config),
    };
    const fits = (fn: string, env: Record<string, string>) => {
      assertEnvironmentFits(`the hub function ${fn}`, {
        ...env,
        NODE_OPTIONS: "--enable-source-maps",
      });
      return env;
    };
    const handler = (
      cid: string,
      fn: HubFunction,
      entry: string,
      description: string,
      opts: { timeout: Duration; memorySize?: number; async: boolean },
      extra: Record<string, string> = {},
    ) =>
      new Handler(this, cid, {
        entry,
        roleName: roleName(fn, region),
        description,
        environment: fits(fn, { ...environment, ...extra }),
        ...opts,
      });

    this.handlers = {
      store: handler(
        "StoreSecurityGroupRequest",
        "store",
        "storeSecurityGroupRequest",
        "Stores a member's change as a request and posts it to Slack",
        { timeout: Duration.seconds(30), async: true },
      ),
      button: handler(
        "ButtonClick",
        "button",
        "buttonClick",
        "Slack interactivity: verifies the signature and records Approve/Deny",
        // Slack gives 3 s for the answer, cold start included: memory.ts says how much CPU that needs.
        { timeout: Duration.seconds(15), memorySize: BUTTON_CLICK_MEMORY_MB, async: false },
        // buttonClick alone knows where the signing secret is (and may read it).
        { SLACK_SIGNING_SECRET_ARN: this.secrets.signingSecret.secretArn },
      ),
      deny: handler(
        "DenySecurityGroupChange",
        "deny",
        "denySecurityGroupChange",
        "Reports a denied request in both Slack messages",
        { timeout: Duration.seconds(30), async: true },
      ),
      result: handler(
        "ErrorHandlerSecurityGroupChange",
        "result",
        "errorHandlerSecurityGroupChange",
        "Records a member's result (applied / failed / reverted) and updates Slack",
        { timeout: Duration.seconds(30), async: true },
      ),
      expire: handler(
        "ExpireRequests",
        "expire",
        "expireRequests",
        "The scheduled jobs: posts what is missing, expires, re-sends what got no result",
        { timeout: Duration.minutes(5), async: true },
      ),
    };

    for (const fn of HUB_FUNCTIONS) {
      const h = this.handlers[fn];
      h.allow({ actions: [...HUB_TABLE_ACTIONS[fn]], resources: [this.requests.tableArn] });
    }
    // The scheduled jobs read the requests they owe work from the sparse byDue index only.
    this.handlers.expire.allow({
      actions: ["dynamodb:Query"],
      resources: [indexArn(this.requests, REQUESTS_BY_DUE_INDEX)],
    });

    // ---- the secrets: each readable by the functions that use it, and by no other principal ---
    const readableBy = (s: secretsmanager.Secret, readers: readonly HubFunction[]) => {
      // Powertools Parameters reads a secret with GetSecretValue alone.
      for (const fn of readers) {
        this.handlers[fn].allow({
          actions: ["secretsmanager:GetSecretValue"],
          resources: [s.secretArn],
        });
      }
      s.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: "OnlyItsFunctionsRead",
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ["secretsmanager:GetSecretValue"],
          resources: ["*"],
          conditions: {
            ArnNotEquals: {
              "aws:PrincipalArn": readers.map((fn) => roleArn(partition, account, fn, region)),
            },
          },
        }),
      );
    };
    readableBy(this.secrets.botToken, BOT_TOKEN_READERS);
    readableBy(this.secrets.signingSecret, SIGNING_SECRET_READERS);

    // buttonClick publishes a denial to the deny topic (encrypted with this stack's key).
    const button = this.handlers.button;
    button.allow({ actions: ["sns:Publish"], resources: [this.topics.deny.topicArn] });
    button.allow({ actions: SNS_KMS_ACTIONS, resources: [key.keyArn] });
    // buttonClick sends an approval (or the revert of a denied live change) to the member's apply
    // topic; the scheduled jobs send again what got no result, and reverts of expired live
    // changes. Neither sends anything else there, and the jobs never deny.
    for (const publisher of [button, this.handlers.expire]) {
      if (members.length > 0) {
        publisher.allow({
          actions: ["sns:Publish"],
          resources: members.map((m) => topicArn(partition, m.region, m.account, TOPICS.apply)),
        });
      }
      // One statement per member region: kms:ViaService names that region's SNS.
      for (const memberRegion of new Set(members.map((m) => m.region))) {
        const inRegion = members.filter((m) => m.region === memberRegion);
        publisher.allow({
          actions: SNS_KMS_ACTIONS,
          resources: inRegion.map((m) => anyKeyArn(partition, m.region, m.account)),
          conditions: { StringEquals: { "kms:ViaService": `sns.${memberRegion}.amazonaws.com` } },
        });
        acknowledgeWildcards(
          publisher,
          { resources: inRegion.map((m) => anyKeyArn(nagPartition(stack), m.region, m.account)) },
          REASONS.crossAccountKey,
        );
      }
      if (organization) {
        // Accounts no config lists: any account of the organization, in its governed regions,
        // and only resources an account of the organization owns (aws:ResourceOrgID).
        const inOrganization = { "aws:ResourceOrgID": organization.id };
        publisher.allow({
          actions: ["sns:Publish"],
          resources: organization.regions.map((r) => topicArn(partition, r, "*", TOPICS.apply)),
          conditions: { StringEquals: inOrganization },
        });
        for (const r of organization.regions) {
          publisher.allow({
            actions: SNS_KMS_ACTIONS,
            resources: [anyKeyArn(partition, r, "*")],
            conditions: {
              StringEquals: { "kms:ViaService": `sns.${r}.amazonaws.com`, ...inOrganization },
            },
          });
        }
        acknowledgeWildcards(
          publisher,
          {
            resources: organization.regions.flatMap((r) => [
              topicArn(nagPartition(stack), r, "*", TOPICS.apply),
              anyKeyArn(nagPartition(stack), r, "*"),
            ]),
          },
          REASONS.organizationApplyTopics,
        );
      }
      acknowledgeWildcards(publisher, { actions: ["kms:GenerateDataKey*"] }, REASONS.snsKmsActions);
    }

    // ---- event sources -----------------------------------------------------------------------
    const deny = this.handlers.deny;
    this.topics.deny.addSubscription(
      new subscriptions.LambdaSubscription(deny.fn, deny.dlq ? { deadLetterQueue: deny.dlq } : {}),
    );

    // The bus's two rules: our source only, by detail-type (src/adapters/events/hub-link.ts).
    const fromMembers = (cid: string, detailType: string, h: Handler, description: string) =>
      new events.Rule(this, cid, {
        eventBus: this.bus,
        description,
        eventPattern: { source: [MEMBER_EVENT_SOURCE], detailType: [detailType] },
        targets: [
          new targets.LambdaFunction(h.fn, {
            ...(h.dlq ? { deadLetterQueue: h.dlq } : {}),
            retryAttempts: 8,
            maxEventAge: Duration.hours(2),
          }),
        ],
      });
    fromMembers(
      "ChangeRule",
      HUB_DETAIL_TYPES.change,
      this.handlers.store,
      "secgroup-approval: a member's reverted (or live) change -> storeSecurityGroupRequest",
    );
    fromMembers(
      "ResultRule",
      HUB_DETAIL_TYPES.result,
      this.handlers.result,
      "secgroup-approval: a member's apply or revert result -> errorHandlerSecurityGroupChange",
    );

    const expire = this.handlers.expire;
    new events.Rule(this, "ExpireSchedule", {
      description: "secgroup-approval: the scheduled jobs (post, expire, re-send, give up)",
      schedule: events.Schedule.rate(Duration.minutes(15)),
      targets: [
        new targets.LambdaFunction(expire.fn, {
          ...(expire.dlq ? { deadLetterQueue: expire.dlq } : {}),
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });

    // ---- Slack interactivity endpoint --------------------------------------------------------
    const accessLogs = new logs.LogGroup(this, "ApiAccessLogs", {
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigw.RestApi(this, "SlackApi", {
      restApiName: "secgroup-approval-slack",
      description: "secgroup-approval: Slack interactivity (POST /slack/actions)",
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // API Gateway writes execution and access logs through one CloudWatch Logs role per
      // account and region (its account settings). true: this stack creates that role and sets
      // it, replacing any role set before; false: the one already set is used and left alone.
      cloudWatchRole: config.apiGatewayCloudWatchRole,
      ...(config.apiGatewayCloudWatchRole
        ? { cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN }
        : {}),
      deployOptions: {
        stageName: API_STAGE,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        throttlingRateLimit: 25,
        throttlingBurstLimit: 50,
      },
    });
    const requireSlackHeaders = new apigw.RequestValidator(this, "SlackHeadersValidator", {
      restApi: this.api,
      requestValidatorName: "slack-signature-headers",
      validateRequestParameters: true,
      // No request model is attached, so this checks nothing and never alters the body.
      validateRequestBody: true,
    });
    const [first, second] = SLACK_ACTIONS_PATH;
    const actions = this.api.root.addResource(first).addResource(second);
    // A Lambda proxy integration with no templates and no binary media types: the handler gets
    // the exact bytes Slack signed.
    actions.addMethod(
      "POST",
      new apigw.LambdaIntegration(this.handlers.button.fn, { proxy: true, allowTestInvoke: false }),
      {
        authorizationType: apigw.AuthorizationType.NONE,
        requestValidator: requireSlackHeaders,
        requestParameters: {
          "method.request.header.X-Slack-Signature": true,
          "method.request.header.X-Slack-Request-Timestamp": true,
        },
      },
    );
    acknowledge(
      this.api,
      "AwsSolutions-APIG4",
      "Slack cannot sign requests with IAM or present Cognito tokens. Every request is authenticated in buttonClick by Slack's HMAC-SHA256 signature over the raw body with a 5-minute timestamp window; requests without the signature headers are rejected by API Gateway's request validator.",
    );
    acknowledge(
      this.api,
      "AwsSolutions-COG4",
      "Callers are Slack's servers, not users of a Cognito user pool; authentication is Slack's request signature (see AwsSolutions-APIG4).",
    );
    if (config.apiGatewayCloudWatchRole) {
      acknowledge(
        this.api,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        "The account-wide role API Gateway uses to write execution logs (created only with apiGatewayCloudWatchRole: true); AWS's managed policy for it grants only CloudWatch Logs writes and is what AWS documents for this role.",
      );
    }

    // ---- optional: AWS WAF, a per-IP rate limit in front of the endpoint --------------------
    this.firewall = undefined;
    if (config.wafRateLimitPerFiveMinutes !== undefined) {
      const aclMetric = "secgroup-approval-slack";
      const ruleMetric = "secgroup-approval-slack-per-ip";
      this.firewall = new wafv2.CfnWebACL(this, "SlackApiFirewall", {
        scope: "REGIONAL",
        description: `secgroup-approval: blocks an IP address sending more than ${config.wafRateLimitPerFiveMinutes} requests in 5 minutes to the Slack endpoint`,
        defaultAction: { allow: {} },
        visibilityConfig: {
          cloudWatchMetricsEnabled: true,
          metricName: aclMetric,
          sampledRequestsEnabled: true,
        },
        rules: [
          {
            name: "per-ip-rate-limit",
            priority: 0,
            action: { block: {} },
            statement: {
              rateBasedStatement: {
                limit: config.wafRateLimitPerFiveMinutes,
                aggregateKeyType: "IP",
                evaluationWindowSec: 300,
              },
            },
            visibilityConfig: {
              cloudWatchMetricsEnabled: true,
              metricName: ruleMetric,
              sampledRequestsEnabled: true,
            },
          },
        ],
      });
      new wafv2.CfnWebACLAssociation(this, "SlackApiFirewallAssociation", {
        resourceArn: this.api.deploymentStage.stageArn,
        webAclArn: this.firewall.attrArn,
      });
      // Slack's requests come from a few addresses of Slack's: if the limit ever blocks them,
      // clicks fail. Say so at once.
      new cloudwatch.Alarm(this, "ApiRateLimitedAlarm", {
        alarmDescription:
          "secgroup-approval: AWS WAF blocked requests to the Slack endpoint (an address went over wafRateLimitPerFiveMinutes; if it is Slack's, clicks are failing: raise the limit)",
        metric: new cloudwatch.Metric({
          namespace: "AWS/WAFV2",
          metricName: "BlockedRequests",
          dimensionsMap: { WebACL: aclMetric, Rule: ruleMetric, Region: region },
          period: Duration.minutes(5),
          statistic: "Sum",
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    } else {
      acknowledge(
        this.api,
        "AwsSolutions-APIG3",
        "One signed-request endpoint with stage throttling (25 rps, burst 50) and header validation; a WAF web ACL costs a monthly fee and adds nothing to the signature check, so it is optional: set wafRateLimitPerFiveMinutes for a per-IP rate limit, or attach one with AWS Firewall Manager.",
      );
    }

    // ---- alarms ------------------------------------------------------------------------------
    new cloudwatch.Alarm(this, "ApiServerErrorsAlarm", {
      alarmDescription:
        "secgroup-approval: the Slack endpoint answered 5XX (Slack shows the approver an error)",
      metric: this.api.metricServerError({ period: Duration.minutes(5), statistic: "Sum" }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    new cloudwatch.Alarm(this, "ApiLatencyAlarm", {
      alarmDescription:
        "secgroup-approval: the Slack endpoint is close to Slack's 3-second limit (p99 over 2.5 s)",
      metric: this.api.metricLatency({ period: Duration.minutes(5), statistic: "p99" }),
      threshold: 2500,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    metricAlarms(this, "hub", {
      RefusedMessage:
        "a member's message was refused: its body named another account or region than the one EventBridge says sent it, or one the hub does not govern",
      RefusedClick:
        "a Slack click was refused for its context (another workspace or app, another channel, or not the request's message)",
      JobGaveUp:
        "the scheduled jobs gave up on a request after its attempts (no apply or revert result came back): see the member's logs",
      PolicyMismatch:
        "a member's policy decision differed from the hub's (a policy deployed to one side only, or a member that is not what it should be): see the hub's logs",
    });

    // ---- outputs -----------------------------------------------------------------------------
    output(this, "SlackInteractivityUrl", {
      description: "Paste into the Slack app: Interactivity & Shortcuts > Request URL",
      value: this.api.urlForPath(`/${SLACK_ACTIONS_PATH.join("/")}`),
    });
    output(this, "SlackBotTokenSecretName", {
      description:
        "Put the bot token (xoxb-…): aws secretsmanager put-secret-value --secret-id <this> ...",
      value: SLACK_SECRET_NAMES.botToken,
    });
    output(this, "SlackSigningSecretName", {
      description:
        "Put the signing secret: aws secretsmanager put-secret-value --secret-id <this> ...",
      value: SLACK_SECRET_NAMES.signingSecret,
    });
    output(this, "HubEventBusArn", {
      description: "Each member's forwarding rule targets this bus",
      value: hubBusArn,
    });
    output(this, "RequestsTableName", { value: this.requests.tableName });
  }
}
