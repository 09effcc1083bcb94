/**
 * The member on real components for the two calls that widen rules without naming one:
 * ModifyManagedPrefixList and CreateSecurityGroup. EC2 is moto server (through the real
 * Ec2SecurityGroups adapter), the baselines table dynalite, the hub a recording link. The
 * CloudTrail events are the fixtures with moto's ids put in.
 */
import { randomUUID } from "node:crypto";
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateManagedPrefixListCommand,
  CreateSecurityGroupCommand,
  DescribeManagedPrefixListsCommand,
  type EC2Client,
  GetManagedPrefixListEntriesCommand,
  ModifyManagedPrefixListCommand,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTables } from "../../src/adapters/dynamodb/tables.js";
import { createEc2Client } from "../../src/adapters/ec2/client.js";
import { Ec2SecurityGroups } from "../../src/adapters/ec2/security-groups.js";
import { requestIdFor } from "../../src/adapters/ids.js";
import { adoptCreatedGroup } from "../../src/app/member/create-group.js";
import { handleHubMessage, type MemberDeps, sweepBaselines } from "../../src/app/member/index.js";
import { revertPrefixListChange } from "../../src/app/member/prefix-list.js";
import type { PrefixListChange } from "../../src/domain/change.js";
import type { Policy } from "../../src/domain/policy/types.js";
import { actionText } from "../../src/domain/slack/describe.js";
import { createRevertHandler } from "../../src/handlers/revertSecurityGroup.js";
import { type DynamoClients, dynamoClients, startDynalite } from "../../src/sandbox/dynamodb.js";
import { type MotoServer, startMoto } from "../../src/sandbox/moto.js";
import { loadFixture } from "../support/domain-fixtures.js";
import { memberDepsOn, RecordingHubLink } from "../support/member-deps.js";

/** moto keeps every resource in its default account: the member governs that one. */
const ACCOUNT = "123456789012";
const REGION = "us-east-1";

let moto: MotoServer;
let db: { endpoint: string; stop(): Promise<void> };
let dynamo: DynamoClients;
let admin: EC2Client;
let serial = 0;

beforeAll(async () => {
  [moto, db] = await Promise.all([startMoto(), startDynalite()]);
  dynamo = dynamoClients(db.endpoint);
  admin = createEc2Client({
    region: REGION,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: "admin", secretAccessKey: "x" },
    maxAttempts: 1,
  });
}, 60_000);

afterAll(async () => {
  await Promise.all([moto?.stop(), db?.stop()]);
});

async function world() {
  serial += 1;
  const table = `baselines-pl-${serial}`;
  await ensureTables(dynamo.client, { requests: `requests-pl-${serial}`, baselines: table });
  const hub = new RecordingHubLink();
  const client = createEc2Client({
    region: REGION,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: "member", secretAccessKey: "x" },
    maxAttempts: 1,
  });
  const deps: MemberDeps = memberDepsOn(dynamo.doc, {
    account: ACCOUNT,
    region: REGION,
    securityGroups: new Ec2SecurityGroups(client),
    hub,
    table,
  });
  return { deps, hub };
}

type Event = { detail: Record<string, unknown> } & Record<string, unknown>;

/** A fixture as moto's account made it: the account, region, a fresh event id, now. */
function fromFixture(name: string, mutate: (detail: Record<string, unknown>) => void): Event {
  const e = structuredClone(loadFixture(name)) as Event;
  e.account = ACCOUNT;
  e.region = REGION;
  e.detail.eventID = randomUUID();
  e.detail.eventTime = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  e.detail.recipientAccountId = ACCOUNT;
  e.detail.awsRegion = REGION;
  e.detail.userIdentity = {
    type: "IAMUser",
    principalId: "AIDAEXAMPLEALICE",
    arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
    accountId: ACCOUNT,
    userName: "alice",
  };
  mutate(e.detail);
  return e;
}

const modifyEvent = (prefixListId: string, cidr: string, version: number) =>
  fromFixture("widening/ModifyManagedPrefixList/add-entry-console.json", (d) => {
    d.requestParameters = {
      ModifyManagedPrefixListRequest: {
        CurrentVersion: version,
        AddEntry: { Description: "someone's range", cidr, tag: "1" },
        PrefixListId: prefixListId,
      },
    };
  });

const createEvent = (groupId: string, groupName: string) =>
  fromFixture("other/CreateSecurityGroup.json", (d) => {
    d.requestParameters = { groupName, groupDescription: "test" };
    d.responseElements = { requestId: randomUUID(), _return: true, groupId };
  });

async function prefixList(name: string, cidrs: string[]): Promise<string> {
  const out = await admin.send(
    new CreateManagedPrefixListCommand({
      PrefixListName: name,
      AddressFamily: "IPv4",
      MaxEntries: 10,
      Entries: cidrs.map((Cidr) => ({ Cidr, Description: "office" })),
    }),
  );
  return out.PrefixList?.PrefixListId as string;
}

async function group(name: string): Promise<string> {
  const out = await admin.send(
    new CreateSecurityGroupCommand({ GroupName: name, Description: name }),
  );
  return out.GroupId as string;
}

async function entries(prefixListId: string): Promise<string[]> {
  const out = await admin.send(
    new GetManagedPrefixListEntriesCommand({ PrefixListId: prefixListId }),
  );
  return (out.Entries ?? []).map((e) => e.Cidr as string).sort();
}

/** Someone adds a CIDR to the list (straight on moto), as the event will say. */
async function widen(prefixListId: string, cidr: string): Promise<number> {
  const before = await admin.send(
    new DescribeManagedPrefixListsCommand({ PrefixListIds: [prefixListId] }),
  );
  const version = before.PrefixLists?.[0]?.Version ?? 1;
  await admin.send(
    new ModifyManagedPrefixListCommand({
      PrefixListId: prefixListId,
      CurrentVersion: version,
      AddEntries: [{ Cidr: cidr, Description: "someone's range" }],
    }),
  );
  return version;
}

async function egressOf(deps: MemberDeps, groupId: string) {
  const rules = [];
  for await (const { rule } of deps.securityGroups.describeRules([groupId])) {
    if (rule.direction === "egress") rules.push(rule);
  }
  return rules;
}

describe("ModifyManagedPrefixList", () => {
  it("a list governed groups name: the added entry is reverted, the change filed with the groups and rules; Approve adds it again", async () => {
    const { deps, hub } = await world();
    const pl = await prefixList(`office-${serial}`, ["10.0.0.0/16"]);
    const web = await group(`web-${serial}`);
    const db_ = await group(`db-${serial}`);
    for (const [groupId, port] of [
      [web, 443],
      [web, 22],
      [db_, 5432],
    ] as const) {
      await admin.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: groupId,
          IpPermissions: [
            {
              IpProtocol: "tcp",
              FromPort: port,
              ToPort: port,
              PrefixListIds: [{ PrefixListId: pl, Description: `port ${port}` }],
            },
          ],
        }),
      );
    }
    const version = await widen(pl, "0.0.0.0/0");
    expect(await entries(pl)).toEqual(["0.0.0.0/0", "10.0.0.0/16"]);

    // Through the handler: it routes the event by its name.
    const status = await createRevertHandler(() => deps)(modifyEvent(pl, "0.0.0.0/0", version));
    expect(status).toBe("reverted");
    expect(await entries(pl)).toEqual(["10.0.0.0/16"]);

    const [message] = hub.changes();
    expect(message?.revertError).toBeUndefined();
    const change = message?.change as PrefixListChange;
    expect(change).toMatchObject({
      kind: "prefixList",
      eventName: "ModifyManagedPrefixList",
      prefixListId: pl,
      fromVersion: version,
      added: [{ cidr: "0.0.0.0/0", description: "someone's range" }],
      removed: [],
    });
    expect(change.references.map((r) => [r.groupId, r.rules.length]).sort()).toEqual(
      [
        [web, 2],
        [db_, 1],
      ].sort(),
    );
    expect(
      change.references.flatMap((r) => r.rules).every((r) => r.ruleId?.startsWith("sgr-")),
    ).toBe(true);
    expect(actionText(change)).toMatch(/1 entry added, widens 3 rules in 2 groups$/);

    // A redelivery reverts nothing twice and files nothing twice.
    const again = await revertPrefixListChange(deps, {
      ...modifyEvent(pl, "0.0.0.0/0", version),
      detail: { ...modifyEvent(pl, "0.0.0.0/0", version).detail, eventID: change.eventId },
    });
    expect(again.status).toBe("duplicate");

    // Approve: apply.ts makes the modification again, unchanged.
    const result = await handleHubMessage(deps, {
      type: "apply",
      requestId: requestIdFor(change),
      change,
    });
    expect(result?.outcome).toBe("applied");
    expect(await entries(pl)).toEqual(["0.0.0.0/0", "10.0.0.0/16"]);
  });

  it("a list no governed rule names is ignored, with the reason, and left as it is", async () => {
    const { deps, hub } = await world();
    const pl = await prefixList(`lonely-${serial}`, ["10.1.0.0/16"]);
    const version = await widen(pl, "192.0.2.0/24");
    const outcome = await revertPrefixListChange(deps, modifyEvent(pl, "192.0.2.0/24", version));
    expect(outcome).toEqual({
      status: "ignored",
      reason: `no governed security group rule names ${pl}: its entries widen no governed rule`,
    });
    expect(await entries(pl)).toEqual(["10.1.0.0/16", "192.0.2.0/24"]);
    expect(hub.sent).toHaveLength(0);
  });

  it("an AWS-managed list is ignored", async () => {
    const { deps } = await world();
    const lists = await admin.send(new DescribeManagedPrefixListsCommand({}));
    const s3 = lists.PrefixLists?.find((l) => l.OwnerId === "AWS")?.PrefixListId as string;
    const outcome = await revertPrefixListChange(deps, modifyEvent(s3, "192.0.2.0/24", 1));
    expect(outcome).toMatchObject({
      status: "ignored",
      reason: expect.stringMatching(/AWS-managed/),
    });
  });
});

describe("CreateSecurityGroup", () => {
  const closed: Policy = {
    rules: [
      {
        name: "new-groups-closed",
        match: { kind: "create" },
        action: "auto_deny",
        reason: "new groups start with no egress",
      },
    ],
  };

  it("adopts the group at once with its defaults; the default egress stays by default", async () => {
    const { deps, hub } = await world();
    const groupId = await group(`fresh-${serial}`);
    const status = await createRevertHandler(() => deps)(createEvent(groupId, `fresh-${serial}`));
    expect(status).toBe("adopted");
    const record = await deps.baselines.read(groupId);
    expect(record?.rules?.map((r) => [r.direction, r.protocol, r.peer])).toEqual([
      ["egress", "all", { kind: "cidrIpv4", cidr: "0.0.0.0/0" }],
    ]);
    expect(record?.name).toBe(`fresh-${serial}`);
    expect(await egressOf(deps, groupId)).toHaveLength(1);
    expect(hub.sent).toHaveLength(0);
  });

  it("revokes the default egress when the policy says so, adopts the group without it, files an auto_denied notice", async () => {
    const { deps, hub } = await world();
    const groupId = await group(`closed-${serial}`);
    const outcome = await adoptCreatedGroup(deps, createEvent(groupId, `closed-${serial}`), closed);
    expect(outcome.status).toBe("reverted");
    expect(await egressOf(deps, groupId)).toHaveLength(0);
    const record = await deps.baselines.read(groupId);
    expect(record?.rules).toEqual([]);
    const [message] = hub.changes();
    expect(message?.policy).toEqual({
      status: "auto_denied",
      rule: "new-groups-closed",
      reason: "new groups start with no egress",
    });
    expect(message?.change).toMatchObject({
      kind: "add",
      eventName: "CreateSecurityGroup",
      direction: "egress",
      groupId,
    });
  });

  /** The same rule, with moto's account rolled out in notify mode. */
  const closedInNotifyMode: Policy = { ...closed, accounts: { [ACCOUNT]: { mode: "notify" } } };

  /** A group created, then taken by the member under the notify-mode policy. */
  async function createdInNotifyMode(name: string) {
    const w = await world();
    // Installed before the group is made, as a deployed member is: the install sweep adopts
    // every group as it stands, later sweeps compare.
    expect((await sweepBaselines(w.deps)).install).toBe(true);
    const groupId = await group(`${name}-${serial}`);
    const [egress] = await egressOf(w.deps, groupId);
    if (!egress?.ruleId) throw new Error("moto made no default egress");
    const outcome = await adoptCreatedGroup(
      w.deps,
      createEvent(groupId, `${name}-${serial}`),
      closedInNotifyMode,
    );
    const [message] = w.hub.changes();
    if (!message) throw new Error("nothing filed");
    return { ...w, groupId, egress, outcome, message };
  }

  it("in a notify-mode account the rule is not carried out: the egress stays, filed as not enforced, and the drift check leaves it", async () => {
    const { deps, hub, groupId, egress, outcome, message } =
      await createdInNotifyMode("staging-closed");
    expect(outcome.status).toBe("revert_failed");
    expect(await egressOf(deps, groupId)).toEqual([egress]);
    expect(hub.changes()).toHaveLength(1);
    expect(message.change).toMatchObject({
      kind: "add",
      eventName: "CreateSecurityGroup",
      direction: "egress",
      groupId,
      rules: [expect.objectContaining({ ruleId: egress.ruleId })],
    });
    expect(message.revertError).toEqual({
      code: "NotEnforced",
      message:
        'this account is in notify mode: policy rule "new-groups-closed" would deny it (new groups start with no egress)',
    });
    expect(message.policy).toEqual({
      action: "notify",
      rule: "new-groups-closed",
      reason: "new groups start with no egress",
      mode: "notify",
    });
    // Not approved, and open for a person: the drift check neither reverts nor files it.
    const record = await deps.baselines.read(groupId);
    expect(record?.rules).toEqual([]);
    expect(record?.open.map((o) => [o.eventId, o.code])).toEqual([
      [message.change.eventId, "NotEnforced"],
    ]);
    for (let i = 0; i < 2; i += 1) {
      expect(await sweepBaselines(deps)).toMatchObject({ install: false, drift: 0, suspected: 0 });
    }
    expect(await egressOf(deps, groupId)).toEqual([egress]);
    expect((await deps.baselines.read(groupId))?.rules).toEqual([]);
    expect(hub.changes()).toHaveLength(1);
  });

  it("notify mode, Approve: the egress is kept with no EC2 write and becomes approved", async () => {
    const { deps, groupId, egress, message } = await createdInNotifyMode("staging-approved");
    const result = await handleHubMessage(deps, {
      type: "apply",
      requestId: requestIdFor(message.change),
      change: message.change,
      ...(message.revertError ? { revertError: message.revertError } : {}),
    });
    expect(result?.outcome).toBe("applied");
    // The same rule (no revoke and authorize in between), now in the approved baseline.
    expect(await egressOf(deps, groupId)).toEqual([egress]);
    const record = await deps.baselines.read(groupId);
    expect(record?.rules?.map((r) => r.ruleId)).toEqual([egress.ruleId]);
    expect(record?.open).toEqual([]);
  });

  it("notify mode, Deny: the egress is revoked and stays away", async () => {
    const { deps, groupId, message } = await createdInNotifyMode("staging-denied");
    const result = await handleHubMessage(deps, {
      type: "revert",
      requestId: requestIdFor(message.change),
      change: message.change,
    });
    expect(result?.outcome).toBe("reverted");
    expect(await egressOf(deps, groupId)).toEqual([]);
    const record = await deps.baselines.read(groupId);
    expect(record?.rules).toEqual([]);
    expect(record?.open).toEqual([]);
  });

  it("the config's description switch does not revoke a new group's egress, which has no description", async () => {
    const { deps, hub } = await world();
    deps.config.policy = { ...deps.config.policy, autoDenyWithoutDescription: true };
    const groupId = await group(`switch-${serial}`);
    // Through the handler: it decides with the switches merged into the policy.
    const status = await createRevertHandler(() => deps)(createEvent(groupId, `switch-${serial}`));
    expect(status).toBe("adopted");
    expect(await egressOf(deps, groupId)).toHaveLength(1);
    expect(hub.sent).toHaveLength(0);
  });
});
