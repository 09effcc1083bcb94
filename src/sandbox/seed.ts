/**
 * The security groups the sandbox starts with, in each member account, made by that account's
 * exempt admin so their rules stand and the baselines take them in: `npm start` and
 * `npm run screenshots` seed the same ones.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { SANDBOX, SANDBOX_MEMBERS } from "./stack.js";

interface SeedGroup {
  name: string;
  description: string;
  port: number;
  cidr: string;
  note: string;
  /** Tags given at creation (the policy's groupTags matcher sees them once the sweep reads them). */
  tags?: Record<string, string>;
}

/** The groups each account starts with (made by its exempt admin, so their rules stand). */
const SEED: Record<string, SeedGroup[]> = {
  [SANDBOX.account]: [
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
    {
      // policy.example.json's production-two-approvers: two approvers, in #sg-prod.
      name: "payments-prod",
      description: "Payments API (production)",
      port: 443,
      cidr: "10.0.0.0/8",
      note: "HTTPS from the corporate network",
      tags: { env: "production" },
    },
  ],
  [SANDBOX_MEMBERS[1]?.account ?? ""]: [
    {
      name: "staging-web",
      description: "Staging web tier",
      port: 443,
      cidr: "10.0.0.0/8",
      note: "HTTPS from the corporate network",
    },
  ],
};

export async function seed(
  ec2Endpoint: string,
): Promise<{ id: string; name: string; alias: string }[]> {
  const made: { id: string; name: string; alias: string }[] = [];
  for (const member of SANDBOX_MEMBERS) {
    for (const g of await seedAccount(
      ec2Endpoint,
      member.adminAccessKey,
      SEED[member.account] ?? [],
    )) {
      made.push({ ...g, alias: member.alias });
    }
  }
  return made;
}

async function seedAccount(
  ec2Endpoint: string,
  adminKey: string,
  groups: readonly SeedGroup[],
): Promise<{ id: string; name: string }[]> {
  const ec2 = new EC2Client({
    endpoint: ec2Endpoint,
    region: SANDBOX.region,
    credentials: { accessKeyId: adminKey, secretAccessKey: "sandbox" },
  });
  const { Vpcs = [] } = await ec2.send(
    new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["true"] }] }),
  );
  const vpcId = Vpcs[0]?.VpcId;
  const made: { id: string; name: string }[] = [];
  for (const g of groups) {
    const { GroupId } = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: g.name,
        Description: g.description,
        VpcId: vpcId,
        ...(g.tags
          ? {
              TagSpecifications: [
                {
                  ResourceType: "security-group",
                  Tags: Object.entries(g.tags).map(([Key, Value]) => ({ Key, Value })),
                },
              ],
            }
          : {}),
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

/** Every member's groups other than the VPCs' default ones, as the start line lists them. */
export async function listGroups(
  ec2Endpoint: string,
): Promise<{ id: string; name: string; alias: string }[]> {
  const lists = await Promise.all(
    SANDBOX_MEMBERS.map(async (member) => {
      const ec2 = new EC2Client({
        endpoint: ec2Endpoint,
        region: member.region,
        credentials: { accessKeyId: member.adminAccessKey, secretAccessKey: "sandbox" },
      });
      const { SecurityGroups = [] } = await ec2.send(new DescribeSecurityGroupsCommand({}));
      return SecurityGroups.filter((g) => g.GroupName !== "default").map((g) => ({
        id: g.GroupId ?? "",
        name: g.GroupName ?? "",
        alias: member.alias,
      }));
    }),
  );
  return lists.flat();
}
