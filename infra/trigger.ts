/**
 * The deploy-time sweep runs through CDK's Trigger, whose provider function is a singleton CDK
 * builds from raw CloudFormation resources (core's CustomResourceProvider): its role gets the
 * AWS managed policy AWSLambdaBasicExecutionRole (logs:CreateLogGroup and writes on every log
 * group of the account) and its logs go to an implicit /aws/lambda/… group that never expires.
 * CustomResourceProvider has no option for either, so this rewrites the two resources: the role
 * loses the managed policy and may only write to the provider's own log group, which keeps one
 * year like every other log group here.
 *
 * cdk-nag does not see these resources (they are CfnResource, not CfnRole/CfnFunction), so
 * without this nothing would flag them; test/infra pins the result.
 */
import { CfnResource, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";

/** The construct id aws-cdk-lib/triggers gives its provider (one per stack). */
export const TRIGGER_PROVIDER_ID = "AWSCDK.TriggerCustomResourceProviderCustomResourceProvider";
const DONE = "TriggerProviderLogs";

interface ProviderLike extends Construct {
  addToRolePolicy(statement: unknown): void;
}

/** Call after the stack's first triggers.Trigger; later calls change nothing. */
export function hardenTriggerProvider(scope: Construct): void {
  const stack = Stack.of(scope);
  if (stack.node.tryFindChild(DONE)) return;
  const provider = stack.node.tryFindChild(TRIGGER_PROVIDER_ID) as ProviderLike | undefined;
  const role = provider?.node.tryFindChild("Role");
  const handler = provider?.node.tryFindChild("Handler");
  if (
    !provider ||
    typeof provider.addToRolePolicy !== "function" ||
    !(role instanceof CfnResource && role.cfnResourceType === "AWS::IAM::Role") ||
    !(handler instanceof CfnResource && handler.cfnResourceType === "AWS::Lambda::Function")
  ) {
    // A CDK upgrade moved things: fail the synth rather than deploy the managed policy again.
    throw new Error(
      `secgroup-approval: ${TRIGGER_PROVIDER_ID} in ${stack.stackName} is not shaped as expected (a CDK upgrade?): update infra/trigger.ts`,
    );
  }

  const logGroup = new logs.LogGroup(stack, DONE, {
    retention: logs.RetentionDays.ONE_YEAR,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  role.addPropertyDeletionOverride("ManagedPolicyArns");
  provider.addToRolePolicy({
    Effect: "Allow",
    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
    Resource: logGroup.logGroupArn,
  });
  handler.addPropertyOverride("LoggingConfig", { LogGroup: logGroup.logGroupName });
}
