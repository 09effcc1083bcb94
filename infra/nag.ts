/**
 * cdk-nag 3 (AwsSolutionsChecks) through CDK's validation API, and the acknowledgements this app
 * makes. Every acknowledgement carries a written reason; findings that are not acknowledged fail
 * the synth.
 */
import { type Stack, Token, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";

export function addNagChecks(app: IConstruct): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}

/**
 * The partition as cdk-nag prints it in a finding: the literal when the stack knows it
 * (@aws-cdk/core:enablePartitionLiterals), else "<AWS::Partition>".
 */
export function nagPartition(stack: Stack): string {
  return Token.isUnresolved(stack.partition) ? "<AWS::Partition>" : stack.partition;
}

export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** AwsSolutions-IAM5 reports each wildcard resource or action as its own finding. */
export function acknowledgeWildcards(
  scope: IConstruct,
  findings: { resources?: readonly string[]; actions?: readonly string[] },
  reason: string,
): void {
  for (const r of findings.resources ?? [])
    acknowledge(scope, `AwsSolutions-IAM5[Resource::${r}]`, reason);
  for (const a of findings.actions ?? [])
    acknowledge(scope, `AwsSolutions-IAM5[Action::${a}]`, reason);
}

export const SNS_KMS_ACTIONS = ["kms:GenerateDataKey*", "kms:Decrypt"];

export const REASONS = {
  snsKmsActions:
    "Publishing to an SNS topic encrypted with a KMS key needs kms:GenerateDataKey* and kms:Decrypt on that key (the actions the SNS developer guide prescribes for publishers).",
  crossAccountKey:
    "The topic's KMS key belongs to another stack, usually in another account, and its key id is random, so it cannot be named here; the statement is limited to keys of that one account and region and, by kms:ViaService, to use by SNS. The key policy on the other side admits only this role.",
  organizationApplyTopics:
    "Organization-wide deployment: an account of the organization that no config lists may be governed, so its apply topic (a fixed name) and the key encrypting it (a random id) cannot be named in advance. The statements are limited to the topic name applySecurityGroupChange and to keys used through SNS in the governed regions, and by aws:ResourceOrgID to resources owned by an account of the organization; each member's topic and key policies admit only this role.",
  revertFailedInvoke:
    "Lambda destinations invoke the on-failure function through the source function's role; CDK grants lambda:InvokeFunction on the revertFailed function and its versions (<arn>:*), one function of this stack, nothing else.",
  ec2Groups:
    "A person may change any security group in the account, so reverting and re-applying must be possible on every group: the write actions are limited to security groups and security-group rules of this account and region (no ec2:* and no other resource types).",
  ec2PrefixLists:
    "A person may add entries to any customer-managed prefix list that governed rules name, so reverting and re-applying must be possible on every list: ec2:ModifyManagedPrefixList only, on prefix lists of this account and region.",
  ec2PrefixListRead:
    "ec2:DescribeManagedPrefixLists does not support resource-level permissions; it and ec2:GetManagedPrefixListEntries (read-only) are granted on * to the two functions that modify a prefix list back.",
  ec2Describe:
    "ec2:DescribeSecurityGroups and ec2:DescribeSecurityGroupRules do not support resource-level permissions; only the one or two of them the function calls are granted on *.",
} as const;
