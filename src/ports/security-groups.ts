import type { PrefixListEntry } from "../domain/change.js";
import type { Ec2Operation } from "../domain/plan.js";
import type { Rule } from "../domain/rule.js";

export interface OperationResult {
  /** Rules EC2 reported creating (authorize), with their new ids. */
  created: Rule[];
}

/** A managed prefix list as DescribeManagedPrefixLists shows it. */
export interface PrefixListInfo {
  prefixListId: string;
  name?: string;
  /** The owning account, or "AWS" for an AWS-managed list. */
  ownerId?: string;
  version?: number;
  /** create-complete, modify-in-progress, modify-complete, … */
  state?: string;
}

export interface GroupInfo {
  groupId: string;
  groupName?: string;
  vpcId?: string;
  /** The group's tags (DescribeSecurityGroups returns them): the policy's groupTags matcher. */
  tags?: Record<string, string>;
}

/**
 * The EC2 security-group API of one account and region. Implementations throw
 * SecurityGroupApiError for EC2 errors; throttling is retried inside.
 */
export interface SecurityGroups {
  /** Performs one planned operation: exactly one EC2 write call. */
  execute(op: Ec2Operation): Promise<OperationResult>;
  /** Every rule of the given groups, or of all groups in the region when none are given. */
  describeRules(groupIds?: readonly string[]): AsyncIterable<{ groupId: string; rule: Rule }>;
  /** Id, name and VPC of the given groups, or of every group in the region when none are given. */
  describeGroups(groupIds?: readonly string[]): AsyncIterable<GroupInfo>;
  /** The default VPC's group of this name (how EC2 reads a call that names a group by name). */
  findGroupByName(groupName: string): Promise<GroupInfo | undefined>;
  /** Name and VPC of a group, or undefined when it does not exist. */
  describeGroup(groupId: string): Promise<GroupInfo | undefined>;
  /**
   * A managed prefix list (ModifyManagedPrefixList's revert needs it), or undefined when it does
   * not exist. Optional so that wrappers written before prefix lists still type-check; the EC2
   * adapter has it, and a member without it files no prefix list change.
   */
  describePrefixList?(prefixListId: string): Promise<PrefixListInfo | undefined>;
  /** The list's current entries (GetManagedPrefixListEntries). */
  prefixListEntries?(prefixListId: string): Promise<PrefixListEntry[]>;
}
