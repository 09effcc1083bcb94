import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  accountAliases,
  ConfigFileError,
  configSchema,
  EXAMPLE_CONFIG_FILE,
  loadConfigFile,
  memberAccounts,
  memberTargets,
  parseConfig,
  resolveConfigFile,
} from "../../infra/config.js";
import { REPO_ROOT } from "../../infra/handler.js";
import { MULTI, SINGLE } from "./synth.js";

const problems = (input: unknown): string[] => {
  const r = parseConfig(input);
  return r.ok ? [] : r.problems;
};

describe("the config schema", () => {
  it("accepts the committed example", () => {
    const config = loadConfigFile(join(REPO_ROOT, EXAMPLE_CONFIG_FILE));
    expect(config.hub).toEqual({ account: "111111111111", region: "us-east-1" });
    expect(memberTargets(config)).toHaveLength(3);
  });

  it("fills defaults", () => {
    const config = configSchema.parse(SINGLE);
    expect(config).toMatchObject({
      members: [],
      exemptPrincipals: [],
      requestExpiryHours: 24,
      seedRules: { maxEventAgeSeconds: 300, autoDenyWithoutDescription: false },
      singleAccount: true,
    });
    expect(memberTargets(config)).toEqual([
      { account: "111111111111", region: "eu-central-1", alias: "hub" },
    ]);
  });

  it("lists member targets, accounts and aliases", () => {
    const config = configSchema.parse(MULTI);
    expect(memberTargets(config).map((t) => `${t.account}/${t.region}`)).toEqual([
      "222222222222/us-east-1",
      "222222222222/eu-west-1",
      "333333333333/us-east-1",
      "333333333333/ap-southeast-2",
    ]);
    expect(memberAccounts(config)).toEqual(["222222222222", "333333333333"]);
    expect(accountAliases(config)).toEqual({
      "222222222222": "prod-payments",
      "333333333333": "staging",
    });
  });

  it("names each wrong field in plain English", () => {
    expect(
      problems({
        hub: { account: 1111, region: "US East" },
        members: [{ account: "22222222222", alias: "x", regions: [] }],
        slack: {
          approvalChannel: "#approvals",
          monitoringChannel: "C0987654321",
          approverUserIds: ["alice@example.com"],
        },
        requestExpiryHours: -1,
        seedRules: { maxEventAgeSeconds: 1.5 },
        exemptPrincipals: ["arn:aws:iam::1:role/a,b"],
        singleAcount: true,
      }),
    ).toEqual([
      "hub.account: must be a 12-digit AWS account id in quotes (got the number 1111)",
      'hub.region: must be an AWS region name such as us-east-1 (got "US East")',
      'members[0].account: must be a 12-digit AWS account id (digits only, in quotes) (got "22222222222")',
      "members[0].regions: must list at least one region",
      'slack.approvalChannel: must be a Slack channel id (C… or G…, e.g. C0123456789), not a #name: open the channel\'s details in Slack to copy it (got "#approvals")',
      'slack.approverUserIds[0]: must be a Slack member id (U… or W…, e.g. U0123456789), not a name or e-mail: Slack profile > ⋮ > Copy member ID (got "alice@example.com")',
      'exemptPrincipals[0]: must be an ARN or ARN glob such as arn:aws:iam::111122223333:role/BreakGlass* (no spaces or commas) (got "arn:aws:iam::1:role/a,b")',
      "requestExpiryHours: must be more than 0 hours (got the number -1)",
      "seedRules.maxEventAgeSeconds: must be a whole number of seconds (got the number 1.5)",
      '(the file): unknown field "singleAcount" (a typo? see secgroup-approval.config.example.json)',
    ]);
  });

  it("says what is missing", () => {
    expect(problems({})).toEqual([
      "hub: is missing: give the hub account and region",
      "slack: is missing: give the approval and monitoring channel ids and the approvers",
    ]);
    expect(
      problems({ hub: { region: "us-east-1" }, slack: { approvalChannel: "C0123456789" } }),
    ).toEqual([
      "hub.account: is missing (must be a 12-digit AWS account id in quotes)",
      "slack.monitoringChannel: is missing (must be a Slack channel id)",
    ]);
  });

  it("checks the config as a whole", () => {
    const base = {
      ...MULTI,
      slack: { ...MULTI.slack, approverUserIds: [], approverUserGroup: undefined },
    };
    expect(problems(base)).toEqual([
      "slack.approverUserIds: nobody could approve: list at least one approver id or set slack.approverUserGroup",
    ]);
    expect(problems({ ...MULTI, members: [] })).toEqual([
      'members: must list at least one member account (or set "singleAccount": true to govern the hub account itself)',
    ]);
    expect(
      problems({
        ...MULTI,
        members: [
          { account: "222222222222", alias: "a", regions: ["us-east-1", "us-east-1"] },
          { account: "222222222222", alias: "b", regions: ["eu-west-1"] },
        ],
      }),
    ).toEqual([
      "members[0].regions[1]: region us-east-1 is listed twice for account 222222222222",
      "members[1].account: account 222222222222 is already listed as members[0]: list each account once, with all its regions",
    ]);
    expect(
      problems({
        ...SINGLE,
        members: [{ account: "222222222222", alias: "a", regions: ["us-east-1"] }],
      }),
    ).toEqual([
      'members[0].account: single-account mode governs only the hub account 111111111111, but 222222222222 is listed: remove it or set "singleAccount": false',
    ]);
  });
});

describe("deployment options", () => {
  it("default: API Gateway's logging role created, alarms to nobody", () => {
    const config = configSchema.parse(MULTI);
    expect(config.apiGatewayCloudWatchRole).toBe(true);
    expect(config.alarmEmail).toBeUndefined();
    expect(config.alarmTopicArn).toBeUndefined();
  });

  it("checks alarmEmail and alarmTopicArn", () => {
    expect(
      problems({ ...MULTI, alarmEmail: "secops@acme.io", apiGatewayCloudWatchRole: false }),
    ).toEqual([]);
    expect(
      problems({
        ...MULTI,
        alarmEmail: "secops",
        alarmTopicArn: "arn:aws:sqs:us-east-1:403581726914:q",
        apiGatewayCloudWatchRole: "no",
      }),
    ).toEqual([
      'apiGatewayCloudWatchRole: must be true or false (got "no")',
      'alarmEmail: must be an e-mail address such as secops@example.com (one address; use a list address for a team) (got "secops")',
      'alarmTopicArn: must be an SNS topic ARN such as arn:aws:sns:us-east-1:111122223333:ops-alerts (got "arn:aws:sqs:us-east-1:403581726914:q")',
    ]);
  });

  it("refuses an alarm topic outside a stack's region: CloudWatch cannot notify it", () => {
    // MULTI's stacks are in us-east-1, eu-west-1 and ap-southeast-2.
    expect(
      problems({ ...MULTI, alarmTopicArn: "arn:aws:sns:us-east-1:403581726914:ops-alerts" }),
    ).toEqual([
      "alarmTopicArn: is in us-east-1, but stacks also go to eu-west-1, ap-southeast-2: CloudWatch alarms can only notify a topic in their own region (use alarmEmail instead: each stack then gets its own topic)",
    ]);
    expect(
      problems({ ...SINGLE, alarmTopicArn: "arn:aws:sns:eu-central-1:403581726914:ops-alerts" }),
    ).toEqual([]);
  });
});

describe("loading the config file", () => {
  const dir = mkdtempSync(join(tmpdir(), "secgroup-approval-config-"));

  it("prefers $SECGROUP_APPROVAL_CONFIG, then ./secgroup-approval.config.json, then the example", () => {
    expect(resolveConfigFile("/repo", { SECGROUP_APPROVAL_CONFIG: "prod.json" })).toEqual({
      file: "/repo/prod.json",
    });
    const empty = mkdtempSync(join(tmpdir(), "secgroup-approval-cwd-"));
    const fallback = resolveConfigFile(empty, {});
    expect(fallback.file).toBe(join(empty, EXAMPLE_CONFIG_FILE));
    expect(fallback.warning).toMatch(/secgroup-approval.config.json not found/);
    writeFileSync(join(empty, "secgroup-approval.config.json"), "{}");
    expect(resolveConfigFile(empty, {})).toEqual({
      file: join(empty, "secgroup-approval.config.json"),
    });
  });

  it("throws one error listing every problem", () => {
    const file = join(dir, "bad.json");
    writeFileSync(
      file,
      JSON.stringify({
        ...MULTI,
        requestExpiryHours: 0,
        hub: { account: "1", region: "us-east-1" },
      }),
    );
    expect(() => loadConfigFile(file)).toThrow(ConfigFileError);
    expect(() => loadConfigFile(file)).toThrow(
      /hub\.account[\s\S]*requestExpiryHours: must be more than 0 hours/,
    );
  });

  it("reports unreadable JSON and missing files", () => {
    const file = join(dir, "broken.json");
    writeFileSync(file, '{"hub": ');
    expect(() => loadConfigFile(file)).toThrow(/broken\.json is not valid JSON/);
    expect(() => loadConfigFile(join(dir, "nope.json"))).toThrow(/nope\.json does not exist: copy/);
  });
});
