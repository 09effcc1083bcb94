/**
 * SecurityGroups over the EC2 API. Each execute() is exactly one EC2 write call, the call the plan
 * names; no Describe before or after, except for a prefix list (its version and entries are read
 * first: ModifyManagedPrefixList needs the current version, and only what is still to do is sent).
 * Throttling is retried by the client (see client.ts); EC2 errors leave as SecurityGroupApiError.
 */
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  DescribeManagedPrefixListsCommand,
  type DescribeSecurityGroupRulesCommandInput,
  DescribeSecurityGroupsCommand,
  type DescribeSecurityGroupsCommandInput,
  type EC2Client,
  type IpPermission,
  ModifyManagedPrefixListCommand,
  ModifySecurityGroupRulesCommand,
  paginateDescribeSecurityGroupRules,
  paginateDescribeSecurityGroups,
  paginateGetManagedPrefixListEntries,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroup,
  type SecurityGroupRule,
} from "@aws-sdk/client-ec2";
import type { PrefixListEntry } from "../../domain/change.js";
import type { Ec2Operation } from "../../domain/plan.js";
import {
  type Direction,
  describePeer,
  describePorts,
  describeProtocol,
  type Rule,
  ruleFromSecurityGroupRule,
  rulesFromIpPermission,
  withOptional,
} from "../../domain/rule.js";
import { SecurityGroupApiError } from "../../ports/errors.js";
import type {
  GroupInfo,
  OperationResult,
  PrefixListInfo,
  SecurityGroups,
} from "../../ports/security-groups.js";
import { atEdge, translateError } from "./errors.js";

export interface Ec2SecurityGroupsOptions {
  /** MaxResults of each DescribeSecurityGroupRules page, 5-1000. Default 1000. */
  pageSize?: number;
}

/** EC2 takes at most 200 values per filter. */
const MAX_FILTER_VALUES = 200;

type RevokeOperation = Extract<Ec2Operation, { action: "revoke" }>;
type PrefixListOperation = Extract<Ec2Operation, { action: "modifyPrefixList" }>;

export class Ec2SecurityGroups implements SecurityGroups {
  private readonly pageSize: number;

  constructor(
    private readonly client: EC2Client,
    options: Ec2SecurityGroupsOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 1000;
  }

  execute(op: Ec2Operation): Promise<OperationResult> {
    return atEdge(async () => {
      switch (op.action) {
        case "authorize":
          return { created: await this.authorize(op.groupId, op.direction, op.ipPermissions) };
        case "revoke":
          await this.revoke(op);
          return { created: [] };
        case "modify":
          await this.client.send(
            new ModifySecurityGroupRulesCommand({
              GroupId: op.groupId,
              SecurityGroupRules: op.securityGroupRules,
            }),
          );
          return { created: [] };
        case "modifyPrefixList":
          await this.movePrefixList(op);
          return { created: [] };
      }
    });
  }

  async describePrefixList(prefixListId: string): Promise<PrefixListInfo | undefined> {
    try {
      const out = await this.client.send(
        new DescribeManagedPrefixListsCommand({ PrefixListIds: [prefixListId] }),
      );
      const list = out.PrefixLists?.find((l) => l.PrefixListId === prefixListId);
      if (!list) return undefined;
      return withOptional<PrefixListInfo>(
        { prefixListId },
        {
          name: list.PrefixListName,
          ownerId: list.OwnerId,
          version: list.Version,
          state: list.State,
        },
      );
    } catch (e) {
      const error = translateError(e);
      if (error instanceof SecurityGroupApiError && error.code.startsWith("InvalidPrefixListID")) {
        return undefined;
      }
      throw error;
    }
  }

  async prefixListEntries(prefixListId: string): Promise<PrefixListEntry[]> {
    const entries: PrefixListEntry[] = [];
    try {
      const pages = paginateGetManagedPrefixListEntries(
        { client: this.client, stopOnSameToken: true },
        { PrefixListId: prefixListId },
      );
      for await (const page of pages) {
        for (const e of page.Entries ?? []) {
          if (!e.Cidr) continue;
          entries.push(
            withOptional<PrefixListEntry>({ cidr: e.Cidr }, { description: e.Description }),
          );
        }
      }
    } catch (e) {
      throw translateError(e);
    }
    return entries;
  }

  /**
   * ModifyManagedPrefixList with the list's current version, sending only what is still to do:
   * entries to add that are not there, entries to remove that are. Nothing left: no call. A list
   * still busy with an earlier change (…-in-progress) is a retryable IncorrectState.
   */
  private async movePrefixList(op: PrefixListOperation): Promise<void> {
    const list = await this.describePrefixList(op.prefixListId);
    if (!list) {
      throw new SecurityGroupApiError(
        "InvalidPrefixListID.NotFound",
        `The prefix list ID '${op.prefixListId}' does not exist`,
      );
    }
    if (list.state?.endsWith("-in-progress")) {
      throw new SecurityGroupApiError(
        "IncorrectState",
        `prefix list ${op.prefixListId} is ${list.state}; try again once it settles`,
        true,
      );
    }
    const have = new Set((await this.prefixListEntries(op.prefixListId)).map((e) => e.cidr));
    const add = op.addEntries.filter((e) => !have.has(e.cidr));
    const remove = op.removeEntries.filter((e) => have.has(e.cidr));
    if (add.length === 0 && remove.length === 0) return;
    await this.client.send(
      new ModifyManagedPrefixListCommand({
        PrefixListId: op.prefixListId,
        ...(list.version !== undefined ? { CurrentVersion: list.version } : {}),
        ...(add.length
          ? {
              AddEntries: add.map((e) =>
                e.description === undefined
                  ? { Cidr: e.cidr }
                  : { Cidr: e.cidr, Description: e.description },
              ),
            }
          : {}),
        ...(remove.length ? { RemoveEntries: remove.map((e) => ({ Cidr: e.cidr })) } : {}),
      }),
    );
  }

  async *describeRules(
    groupIds?: readonly string[],
  ): AsyncIterable<{ groupId: string; rule: Rule }> {
    const batches = groupIds === undefined ? [undefined] : chunks([...new Set(groupIds)]);
    for (const ids of batches) {
      const input: DescribeSecurityGroupRulesCommandInput = { MaxResults: this.pageSize };
      if (ids) input.Filters = [{ Name: "group-id", Values: ids }];
      try {
        const pages = paginateDescribeSecurityGroupRules(
          { client: this.client, stopOnSameToken: true },
          input,
        );
        for await (const page of pages) {
          for (const r of page.SecurityGroupRules ?? []) yield describedRule(r);
        }
      } catch (e) {
        throw translateError(e);
      }
    }
  }

  async *describeGroups(groupIds?: readonly string[]): AsyncIterable<GroupInfo> {
    const batches = groupIds === undefined ? [undefined] : chunks([...new Set(groupIds)]);
    for (const ids of batches) {
      // MaxResults cannot go with GroupIds: the ids go in a filter, as for the rules.
      const input: DescribeSecurityGroupsCommandInput = { MaxResults: this.pageSize };
      if (ids) input.Filters = [{ Name: "group-id", Values: ids }];
      try {
        const pages = paginateDescribeSecurityGroups(
          { client: this.client, stopOnSameToken: true },
          input,
        );
        for await (const page of pages) {
          for (const g of page.SecurityGroups ?? []) {
            if (!g.GroupId) continue;
            yield withOptional<GroupInfo>(
              { groupId: g.GroupId },
              { groupName: g.GroupName, vpcId: g.VpcId, tags: tagsOf(g) },
            );
          }
        }
      } catch (e) {
        throw translateError(e);
      }
    }
  }

  /** DescribeSecurityGroups by GroupNames: EC2 resolves it in the default VPC, as it did the call. */
  findGroupByName(groupName: string): Promise<GroupInfo | undefined> {
    return this.describeOne({ GroupNames: [groupName] }, (g) => g.GroupName === groupName);
  }

  describeGroup(groupId: string): Promise<GroupInfo | undefined> {
    return this.describeOne({ GroupIds: [groupId] }, (g) => g.GroupId === groupId);
  }

  /** The one group a DescribeSecurityGroups names, or undefined when EC2 has none. */
  private async describeOne(
    input: DescribeSecurityGroupsCommandInput,
    matches: (group: SecurityGroup) => boolean,
  ): Promise<GroupInfo | undefined> {
    try {
      const out = await this.client.send(new DescribeSecurityGroupsCommand(input));
      const group = out.SecurityGroups?.find((g) => g.GroupId && matches(g));
      if (!group?.GroupId) return undefined;
      return withOptional<GroupInfo>(
        { groupId: group.GroupId },
        { groupName: group.GroupName, vpcId: group.VpcId, tags: tagsOf(group) },
      );
    } catch (e) {
      const error = translateError(e);
      if (error instanceof SecurityGroupApiError && error.code === "InvalidGroup.NotFound") {
        return undefined;
      }
      throw error;
    }
  }

  private async authorize(
    groupId: string,
    direction: Direction,
    ipPermissions: IpPermission[],
  ): Promise<Rule[]> {
    const input = { GroupId: groupId, IpPermissions: ipPermissions };
    const out =
      direction === "ingress"
        ? await this.client.send(new AuthorizeSecurityGroupIngressCommand(input))
        : await this.client.send(new AuthorizeSecurityGroupEgressCommand(input));
    return (out.SecurityGroupRules ?? []).map(ruleFromSecurityGroupRule);
  }

  private async revoke(op: RevokeOperation): Promise<void> {
    const input =
      "securityGroupRuleIds" in op
        ? { GroupId: op.groupId, SecurityGroupRuleIds: op.securityGroupRuleIds }
        : { GroupId: op.groupId, IpPermissions: op.ipPermissions };
    const out =
      op.direction === "ingress"
        ? await this.client.send(new RevokeSecurityGroupIngressCommand(input))
        : await this.client.send(new RevokeSecurityGroupEgressCommand(input));
    // EC2 revokes what matches and answers success, listing what did not match.
    const unknown = out.UnknownIpPermissions ?? [];
    if (unknown.length > 0) {
      const { text, count } = describePermissions(op.direction, unknown);
      const rest = count < op.rules.length ? " (EC2 revoked the call's other rules)" : "";
      throw new SecurityGroupApiError(
        "InvalidPermission.NotFound",
        `${op.groupId} has no ${op.direction} rule ${text}${rest}`,
      );
    }
  }
}

/** A group's tags as a record (`{}` for none: DescribeSecurityGroups always says). */
function tagsOf(group: SecurityGroup): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const t of group.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? "";
  return tags;
}

function chunks(ids: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += MAX_FILTER_VALUES) {
    out.push(ids.slice(i, i + MAX_FILTER_VALUES));
  }
  return out;
}

function describedRule(r: SecurityGroupRule): { groupId: string; rule: Rule } {
  if (!r.GroupId) {
    throw new Error(
      `DescribeSecurityGroupRules returned rule ${r.SecurityGroupRuleId} without GroupId`,
    );
  }
  return { groupId: r.GroupId, rule: ruleFromSecurityGroupRule(r) };
}

/** "TCP 22 10.0.0.0/8, All traffic All sg-1" for an error message, and how many rules. */
function describePermissions(
  direction: Direction,
  perms: IpPermission[],
): { text: string; count: number } {
  try {
    const rules = perms.flatMap((p) => rulesFromIpPermission(direction, p));
    const text = rules
      .map((r) => `${describeProtocol(r.protocol)} ${describePorts(r)} ${describePeer(r.peer)}`)
      .join(", ");
    return { text, count: rules.length };
  } catch {
    return { text: JSON.stringify(perms), count: Number.POSITIVE_INFINITY };
  }
}
