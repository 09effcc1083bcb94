import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  accountAliases,
  ConfigFileError,
  configSchema,
  EXAMPLE_CONFIG_FILE,
  governedAccounts,
  loadConfigFile,
  memberAccounts,
  memberTargets,
  parseConfig,
  placeholderWarnings,
  readConfigFile,
  resolveConfigFile,
} from "../../infra/config.js";
import { REPO_ROOT } from "../../infra/handler.js";
import { AWS_REGIONS, closestRegion } from "../../infra/regions.js";
import { listingOnly } from "../../infra/stacks.js";
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
      people: [],
      sourceIdentityRoles: [],
      onExpiry: "revert",
      drift: { graceSeconds: 900, maxPerSweep: 100 },
    });
    expect(config.organization).toBeUndefined();
    expect(config.wafRateLimitPerFiveMinutes).toBeUndefined();
    expect(config.slack.teamId).toBeUndefined();
    expect(config.slack.appId).toBeUndefined();
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
    expect(governedAccounts(config)).toEqual({
      "222222222222": ["us-east-1", "eu-west-1"],
      "333333333333": ["us-east-1", "ap-southeast-2"],
    });
    expect(governedAccounts(configSchema.parse(SINGLE))).toEqual({
      "111111111111": ["eu-central-1"],
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
      'hub.region: "US East" is not an AWS region: did you mean us-east-1 (US East (N. Virginia))?',
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

describe("who is who, the organization, expiry, drift and the firewall", () => {
  it("accepts people, source-identity roles, the Slack workspace and app, and the options", () => {
    expect(
      problems({
        ...MULTI,
        slack: { ...MULTI.slack, teamId: "T04QX7J2M1B", appId: "A05RT8K3N2C" },
        people: [
          { slackUserId: "U0123456789", identityCenterUsers: ["alice@acme.io"] },
          {
            slackUserId: "W0234567891",
            principals: ["arn:aws:iam::222222222222:user/bob", "arn:aws:iam::*:role/bob-*"],
          },
        ],
        sourceIdentityRoles: ["arn:aws:iam::*:role/ci-deployer"],
        organization: { id: "o-a1b2c3d4e5", regions: ["us-east-1", "eu-west-1"] },
        onExpiry: "leave",
        drift: { graceSeconds: 0, maxPerSweep: 20 },
        wafRateLimitPerFiveMinutes: 1000,
      }),
    ).toEqual([]);
  });

  it("names each wrong new field in plain English", () => {
    expect(
      problems({
        ...MULTI,
        slack: { ...MULTI.slack, teamId: "acme", appId: "my-app" },
        people: [
          {
            slackUserId: "alice",
            principals: ["arn:aws:sts::222222222222:assumed-role/Admin/alice"],
          },
        ],
        sourceIdentityRoles: ["arn:aws:iam::222222222222:user/ci"],
        organization: { id: "123", regions: [] },
        onExpiry: "keep",
        drift: { graceSeconds: -1, maxPerSweep: 0 },
        wafRateLimitPerFiveMinutes: 5,
      }),
    ).toEqual([
      'slack.teamId: must be a Slack workspace (team) id (T…, e.g. T0123456789): in Slack, the workspace menu > Settings shows it, or the T… part of an app_redirect URL (got "acme")',
      'slack.appId: must be a Slack app id (A…, e.g. A0123456789): https://api.slack.com/apps > the app > Basic Information > App ID (got "my-app")',
      'organization.id: must be an AWS Organizations id (o-…, e.g. o-a1b2c3d4e5): aws organizations describe-organization --query Organization.Id (got "123")',
      "organization.regions: must list at least one region",
      'people[0].slackUserId: must be a Slack member id (U… or W…, e.g. U0123456789), not a name or e-mail: Slack profile > ⋮ > Copy member ID (got "alice")',
      'people[0].principals[0]: must be an IAM user or role ARN (globs allowed) such as arn:aws:iam::111122223333:user/alice; a session ARN (arn:aws:sts::…:assumed-role/…) never matches: name its role (got "arn:aws:sts::222222222222:assumed-role/Admin/alice")',
      'sourceIdentityRoles[0]: must be an IAM role ARN (globs allowed) such as arn:aws:iam::*:role/ci-deployer (got "arn:aws:iam::222222222222:user/ci")',
      'onExpiry: must be "revert" (the default: the member reverts it) or "leave" (it stays)',
      "drift.graceSeconds: must be 0 or more seconds (got the number -1)",
      "drift.maxPerSweep: must be at least 1 (got the number 0)",
      "wafRateLimitPerFiveMinutes: must be at least 10 (AWS WAF's lowest limit) (got the number 5)",
    ]);
  });

  it("checks people, the organization and the options as a whole", () => {
    expect(
      problems({
        ...MULTI,
        people: [
          { slackUserId: "U0123456789", principals: ["arn:aws:iam::222222222222:user/bob"] },
          { slackUserId: "U0234567891", principals: ["arn:aws:iam::222222222222:user/bob"] },
          { slackUserId: "U0345678912" },
        ],
        organization: { id: "o-a1b2c3d4e5", regions: ["us-east-1", "us-east-1"] },
      }),
    ).toEqual([
      "organization.regions[1]: region us-east-1 is listed twice",
      "people[1].principals[0]: arn:aws:iam::222222222222:user/bob is already mapped to people[0]: a principal may speak for one person only",
      "people[2]: maps nothing: give principals (IAM users or roles only this person uses) or identityCenterUsers",
    ]);
    expect(
      problems({ ...SINGLE, organization: { id: "o-a1b2c3d4e5", regions: ["eu-central-1"] } }),
    ).toEqual([
      'organization: single-account mode governs only the hub account: remove organization or set "singleAccount": false',
    ]);
    expect(problems({ ...MULTI, wafRateLimitPerFiveMinutes: 2_000_000_001 })).toEqual([
      "wafRateLimitPerFiveMinutes: must be at most 2000000000 (got the number 2000000001)",
    ]);
    expect(problems({ ...MULTI, drift: { graceSeconds: 90_000 } })).toEqual([
      "drift.graceSeconds: must be at most 86400 seconds (a day) (got the number 90000)",
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
    expect(() => loadConfigFile(file)).toThrow(
      /broken\.json:1:9: not valid JSON: unexpected end of the JSON text/,
    );
    expect(() => loadConfigFile(join(dir, "nope.json"))).toThrow(/nope\.json does not exist: copy/);
  });
});

describe("regions", () => {
  const regionProblems = (regions: string[]) =>
    problems({ ...MULTI, members: [{ account: "222222222222", alias: "prod", regions }] });

  it("refuses a region that does not exist, naming the field and the closest region", () => {
    expect(regionProblems(["us-east-9"])).toEqual([
      'members[0].regions[0]: "us-east-9" is not an AWS region: did you mean us-east-1 (US East (N. Virginia))?',
    ]);
    expect(regionProblems(["eu-wst-1", "ap-southeast-22"])).toEqual([
      'members[0].regions[0]: "eu-wst-1" is not an AWS region: did you mean eu-west-1 (Europe (Ireland))?',
      'members[0].regions[1]: "ap-southeast-22" is not an AWS region: did you mean ap-southeast-2 (Asia Pacific (Sydney))?',
    ]);
    expect(problems({ ...MULTI, hub: { account: "111111111111", region: "Frankfurt" } })).toEqual([
      'hub.region: "Frankfurt" is not an AWS region: give a region name such as us-east-1 (see infra/regions.ts)',
    ]);
    expect(
      problems({ ...MULTI, organization: { id: "o-a1b2c3d4e5", regions: ["us-weest-2"] } }),
    ).toEqual([
      'organization.regions[0]: "us-weest-2" is not an AWS region: did you mean us-west-2 (US West (Oregon))?',
    ]);
  });

  it("accepts every commercial, China and GovCloud region", () => {
    for (const region of [
      "us-east-1",
      "mx-central-1",
      "ap-southeast-7",
      "cn-northwest-1",
      "us-gov-west-1",
    ]) {
      expect(regionProblems([region]), region).toEqual([]);
    }
    expect(Object.keys(AWS_REGIONS)).toHaveLength(40);
    expect(closestRegion("US_EAST_2")).toBe("us-east-2");
    expect(closestRegion("xyz")).toBeUndefined();
  });
});

describe("the config file's text", () => {
  it("names line and column of a JSON syntax error, not a position", () => {
    const file = join(mkdtempSync(join(tmpdir(), "sga-config-")), "c.json");
    writeFileSync(
      file,
      '{\n  "hub": {\n    "account": "403581726914"\n    "region": "us-east-1"\n  }\n}\n',
    );
    const result = readConfigFile(file);
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems).toEqual([
      `${file}:4:5: not valid JSON: expected ',' or '}' after a property value`,
    ]);
  });

  it("takes policy as a file's path or an inline object, nothing else", () => {
    expect(problems({ ...MULTI, policy: "policy.example.json" })).toEqual([]);
    expect(problems({ ...MULTI, policy: { rules: [] } })).toEqual([]);
    expect(problems({ ...MULTI, policy: 3 })).toEqual([
      'policy: must be the path of a policy file, relative to this config (e.g. "policy.example.json"), or the policy object itself',
    ]);
  });
});

describe("placeholder warnings (doctor and cdk synth share them)", () => {
  it("flag every example value of the committed example, alarmEmail included", () => {
    const warnings = placeholderWarnings(loadConfigFile(join(REPO_ROOT, EXAMPLE_CONFIG_FILE)));
    expect(warnings).toHaveLength(15);
    expect(warnings.at(-1)).toBe(
      "alarmEmail: secops@example.com is an example address: nobody would read the alarms",
    );
    expect(
      placeholderWarnings(
        configSchema.parse({
          ...MULTI,
          hub: { account: "403581726914", region: "us-east-1" },
          members: [{ account: "527190364802", alias: "prod", regions: ["us-east-1"] }],
          slack: {
            approvalChannel: "C04QX7J2M1B",
            monitoringChannel: "C05RT8K3N2C",
            approverUserIds: ["U03AB4CD5EF"],
          },
        }),
      ),
    ).toEqual([]);
  });
});

describe("cdk ls", () => {
  it("is told apart from synth by the bundling the CDK CLI asks for", () => {
    const cli = (stacks: unknown) => ({
      CDK_OUTDIR: "cdk.out",
      CDK_CONTEXT_JSON: JSON.stringify({ "aws:cdk:bundling-stacks": stacks }),
    });
    expect(listingOnly(cli([]))).toBe(true); // ls, destroy
    expect(listingOnly(cli(["**"]))).toBe(false); // synth, diff, deploy
    expect(listingOnly(cli(["SecgroupApproval-Hub"]))).toBe(false); // synth -e
    expect(
      listingOnly({ CDK_CONTEXT_JSON: JSON.stringify({ "aws:cdk:bundling-stacks": [] }) }),
    ).toBe(false); // not run by the CLI (tests, tsx infra/app.ts)
    const dir = mkdtempSync(join(tmpdir(), "sga-ctx-"));
    const overflow = join(dir, "context.json");
    writeFileSync(overflow, JSON.stringify({ "aws:cdk:bundling-stacks": [] }));
    expect(listingOnly({ CDK_OUTDIR: "cdk.out", CONTEXT_OVERFLOW_LOCATION_ENV: overflow })).toBe(
      true,
    );
  });
});
