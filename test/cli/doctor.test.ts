import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AppConfigInput } from "../../infra/config.js";
import { EXAMPLE_CONFIG_FILE } from "../../infra/config.js";
import {
  DOCTOR_EXIT,
  doctor,
  isPlaceholderAccount,
  isPlaceholderSlackId,
} from "../../src/cli/doctor.js";
import { main } from "../../src/cli/main.js";

const dir = mkdtempSync(join(tmpdir(), "secgroup-approval-doctor-"));
let n = 0;
function file(content: unknown): string {
  n += 1;
  const path = join(dir, `config-${n}.json`);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return path;
}

const HUB = "403581726914";
const PROD = "527190364802";

const GOOD: AppConfigInput = {
  hub: { account: HUB, region: "us-east-1" },
  members: [
    { account: HUB, alias: "shared", regions: ["us-east-1"] },
    { account: PROD, alias: "prod", regions: ["us-east-1", "eu-west-1"] },
  ],
  slack: {
    approvalChannel: "C04QX7J2M1B",
    monitoringChannel: "C05RT8K3N2C",
    approverUserIds: ["U03AB4CD5EF", "U04GH6IJ7KL"],
    teamId: "T02KQ8XH3LM",
    appId: "A06PL2ZR9VW",
  },
  people: [{ slackUserId: "U03AB4CD5EF", principals: [`arn:aws:iam::${PROD}:user/dana`] }],
  alarmEmail: "secops@acme.io",
};

describe("doctor", () => {
  it("passes a good config and summarises it", async () => {
    const result = await doctor(file(GOOD));
    expect(result.ok).toBe(true);
    expect(result.lines).toEqual([
      "ok:    hub: account 403581726914 in us-east-1 (stack SecgroupApproval-Hub)",
      "ok:    members: 2 accounts, 3 member stacks",
      "       403581726914 (shared) in us-east-1",
      "       527190364802 (prod) in us-east-1, eu-west-1",
      "ok:    the hub account is also governed (members[0])",
      "ok:    approvers: 2 users",
      "ok:    slack.teamId / slack.appId: only clicks from workspace T02KQ8XH3LM on app A06PL2ZR9VW count",
      "ok:    people: 1 person mapped to Slack; a requester who is one of them or an Identity Center session needs one approver (never themselves), anyone else two",
      "ok:    alarmEmail: alarms notify secops@acme.io through a topic in each stack (4 subscription e-mails to confirm)",
      "ok:    apiGatewayCloudWatchRole: true: the hub stack sets API Gateway's CloudWatch Logs role for account 403581726914 in us-east-1, replacing any role set there before (if one is, set false; check: aws apigateway get-account --region us-east-1)",
      expect.stringMatching(/config-\d+\.json is valid: deploy with npx cdk deploy/),
    ]);
  });

  it("warns on every value still copied from the example or from AWS's documentation", async () => {
    const result = await doctor(join(import.meta.dirname, "..", "..", EXAMPLE_CONFIG_FILE));
    expect(result.ok).toBe(true);
    const placeholders = result.lines.filter((l) => l.includes("looks like a placeholder"));
    expect(placeholders).toEqual([
      "warning: hub.account: 111111111111 looks like a placeholder, not a real account id: put your own 12-digit account id here",
      "warning: members[0].account: 222222222222 looks like a placeholder, not a real account id: put your own 12-digit account id here",
      "warning: members[1].account: 333333333333 looks like a placeholder, not a real account id: put your own 12-digit account id here",
      "warning: exemptPrincipals[1]: 222222222222 looks like a placeholder, not a real account id: put your own 12-digit account id here",
      "warning: people[1].principals[0]: 222222222222 looks like a placeholder, not a real account id: put your own 12-digit account id here",
      "warning: slack.approvalChannel: C0123456789 looks like a placeholder, not a real channel id: copy the real one from Slack (docs/DEPLOY.md, step 1)",
      "warning: slack.monitoringChannel: C0987654321 looks like a placeholder, not a real channel id: copy the real one from Slack (docs/DEPLOY.md, step 1)",
      "warning: slack.approverUserIds[0]: U0123456789 looks like a placeholder, not a real member id: copy the real one from Slack (docs/DEPLOY.md, step 1)",
      "warning: slack.approverUserIds[1]: U0234567891 looks like a placeholder, not a real member id: copy the real one from Slack (docs/DEPLOY.md, step 1)",
      "warning: slack.approverUserGroup: S0123456789 looks like a placeholder, not a real user group id: copy the real one from Slack (docs/DEPLOY.md, step 1)",
      "warning: slack.teamId: T0123456789 looks like a placeholder, not a real workspace id: copy the real one from Slack (docs/DEPLOY.md, step 1)",
      "warning: slack.appId: A0123456789 looks like a placeholder, not a real app id: copy the real one from Slack (docs/DEPLOY.md, step 1)",
      "warning: people[0].slackUserId: U0123456789 looks like a placeholder, not a real member id: copy the real one from Slack (docs/DEPLOY.md, step 1)",
      "warning: people[1].slackUserId: U0234567891 looks like a placeholder, not a real member id: copy the real one from Slack (docs/DEPLOY.md, step 1)",
    ]);
    expect(result.lines).toContain(
      "warning: alarmEmail: secops@example.com is an example address: nobody would read the alarms",
    );
    expect(result.placeholders).toBe(placeholders.length + 1);
    expect(result.exitCode).toBe(DOCTOR_EXIT.placeholders);
    expect(result.lines.at(-1)).toMatch(
      /is valid \(\d+ warnings\), but still holds example values \(15 placeholder warnings\): replace them before you deploy$/,
    );
  });

  it("knows the usual placeholder shapes, and leaves real-looking ids alone", () => {
    for (const id of [
      "000000000000",
      "999999999999",
      "123456789012",
      "111122223333",
      "444455556666",
    ])
      expect(isPlaceholderAccount(id), id).toBe(true);
    for (const id of ["403581726914", "527190364802", "111111111112"])
      expect(isPlaceholderAccount(id), id).toBe(false);
    for (const id of ["C0123456789", "U9876543210", "UXXXXXXXXXX", "C00000000", "SEXAMPLE01"])
      expect(isPlaceholderSlackId(id), id).toBe(true);
    for (const id of ["C04QX7J2M1B", "U03AB4CD5EF", "S03MN8OP9QR", "C012345XYZ9"])
      expect(isPlaceholderSlackId(id), id).toBe(false);
  });

  it("warns on example e-mail addresses, and when alarms notify nobody", async () => {
    const example = await doctor(file({ ...GOOD, alarmEmail: "ops@example.com" }));
    expect(example.lines).toContain(
      "warning: alarmEmail: ops@example.com is an example address: nobody would read the alarms",
    );
    const { alarmEmail: _, ...silent } = GOOD;
    const none = await doctor(file(silent));
    expect(none.ok).toBe(true);
    expect(none.lines).toContainEqual(
      expect.stringMatching(
        /^warning: alarmEmail \/ alarmTopicArn: neither is set, so the alarms .* notify nobody/,
      ),
    );
  });

  it("checks alarmTopicArn: format, region, and the access a topic of another account needs", async () => {
    const bad = await doctor(file({ ...GOOD, alarmTopicArn: "ops-alerts" }));
    expect(bad.ok).toBe(false);
    expect(bad.lines[0]).toMatch(/^error: alarmTopicArn: must be an SNS topic ARN such as/);

    const elsewhere = await doctor(
      file({ ...GOOD, alarmTopicArn: "arn:aws:sns:us-east-1:610293847561:ops-alerts" }),
    );
    expect(elsewhere.ok).toBe(false);
    expect(elsewhere.lines[0]).toBe(
      "error: alarmTopicArn: is in us-east-1, but stacks also go to eu-west-1: CloudWatch alarms can only notify a topic in their own region (use alarmEmail instead: each stack then gets its own topic)",
    );

    const oneRegion = await doctor(
      file({
        ...GOOD,
        members: [{ account: PROD, alias: "prod", regions: ["us-east-1"] }],
        alarmEmail: undefined,
        alarmTopicArn: `arn:aws:sns:us-east-1:${HUB}:ops-alerts`,
      }),
    );
    expect(oneRegion.ok).toBe(true);
    expect(oneRegion.lines).toContain(
      `ok:    alarmTopicArn: alarms notify arn:aws:sns:us-east-1:${HUB}:ops-alerts`,
    );
    expect(oneRegion.lines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^warning: alarmTopicArn: the topic's access policy must let cloudwatch.amazonaws.com publish for alarms of accounts ${PROD} \\(not the topic's own account ${HUB}\\)`,
        ),
      ),
    );
  });

  it("says what apiGatewayCloudWatchRole: false means", async () => {
    const result = await doctor(file({ ...GOOD, apiGatewayCloudWatchRole: false }));
    expect(result.lines).toContain(
      `ok:    apiGatewayCloudWatchRole: false: the hub uses the CloudWatch Logs role already set for API Gateway in ${HUB} us-east-1; without one, the hub's deploy fails`,
    );
  });

  it("says the file is missing, and where the example is", async () => {
    const result = await doctor(join(dir, "absent.json"));
    expect(result.ok).toBe(false);
    expect(result.lines[0]).toMatch(
      /^error: .*absent\.json does not exist: copy secgroup-approval\.config\.example\.json to secgroup-approval\.config\.json/,
    );
  });

  it("says the JSON is broken", async () => {
    const result = await doctor(file('{\n  "hub": { "account": "403581726914", }\n}'));
    expect(result.ok).toBe(false);
    expect(result.exitCode).toBe(DOCTOR_EXIT.errors);
    // Line and column, as an editor counts them: not JSON.parse's "at position 38".
    expect(result.lines[0]).toMatch(
      /^error: .*config-\d+\.json:2:39: not valid JSON: expected a property name in double quotes$/,
    );
  });

  it("names every wrong field", async () => {
    const result = await doctor(
      file({
        ...GOOD,
        slack: {
          approvalChannel: "#approvals",
          monitoringChannel: "C05RT8K3N2C",
          approverUserIds: ["alice"],
        },
        requestExpiryHours: 0,
        members: [
          { account: "527190364802", alias: "prod", regions: ["us-east-1"] },
          { account: "527190364802", alias: "prod2", regions: ["eu-west-1"] },
        ],
      }),
    );
    expect(result.ok).toBe(false);
    expect(result.lines).toEqual([
      expect.stringMatching(
        /^error: slack\.approvalChannel: must be a Slack channel id \(C… or G…/,
      ),
      expect.stringMatching(
        /^error: slack\.approverUserIds\[0\]: must be a Slack member id \(U… or W…/,
      ),
      "error: requestExpiryHours: must be more than 0 hours (got the number 0)",
      expect.stringMatching(
        /^error: members\[1\]\.account: account 527190364802 is already listed as members\[0\]/,
      ),
      expect.stringMatching(/^4 problems in .*config-\d+\.json/),
    ]);
  });

  it("says what is missing", async () => {
    const result = await doctor(file({ hub: { account: "403581726914" } }));
    expect(result.lines).toEqual([
      "error: hub.region: is missing (must be an AWS region name such as us-east-1)",
      "error: slack: is missing: give the approval and monitoring channel ids and the approvers",
      expect.stringMatching(/^2 problems in /),
    ]);
  });

  it("warns when the hub account is not governed, channels coincide, or one approver is alone", async () => {
    const result = await doctor(
      file({
        ...GOOD,
        members: [{ account: "527190364802", alias: "prod", regions: ["us-east-1"] }],
        slack: {
          approvalChannel: "C04QX7J2M1B",
          monitoringChannel: "C04QX7J2M1B",
          approverUserIds: ["U03AB4CD5EF"],
        },
        seedRules: { maxEventAgeSeconds: 30 },
        exemptPrincipals: ["arn:aws:ec2:*:*:instance/*"],
      }),
    );
    expect(result.ok).toBe(true);
    const warnings = result.lines.filter((l) => l.startsWith("warning:"));
    expect(warnings).toEqual([
      expect.stringMatching(
        /^warning: the hub account 403581726914 is not in members: changes to its own security groups are not governed/,
      ),
      expect.stringMatching(
        /^warning: slack\.monitoringChannel: is the same channel as slack\.approvalChannel/,
      ),
      expect.stringMatching(
        /^warning: slack\.approverUserIds: only one approver, who cannot approve their own changes/,
      ),
      expect.stringMatching(
        /^warning: slack\.teamId \/ slack\.appId: neither is set, so clicks are not bound to a workspace and an app/,
      ),
      expect.stringMatching(
        /^warning: exemptPrincipals\[0\]: "arn:aws:ec2:\*:\*:instance\/\*" is not an IAM or STS ARN/,
      ),
      expect.stringMatching(/^warning: seedRules\.maxEventAgeSeconds: 30 s is short/),
    ]);
    expect(result.lines.at(-1)).toMatch(/is valid \(6 warnings\)/);
  });

  it("says what the Slack workspace and app, people and source-identity roles mean", async () => {
    const onlyTeam = await doctor(
      file({ ...GOOD, slack: { ...GOOD.slack, appId: undefined }, people: [] }),
    );
    expect(onlyTeam.ok).toBe(true);
    expect(onlyTeam.lines).toContain(
      "warning: slack.appId: not set, so clicks are bound to workspace T02KQ8XH3LM only: set it too (docs/DEPLOY.md, step 1)",
    );
    expect(onlyTeam.lines).toContain(
      "warning: people: empty, so every requester that is not an Identity Center session (IAM users, other assumed roles, root) will need two approvers: map the people who change security groups to their Slack ids",
    );
    const roles = await doctor(
      file({
        ...GOOD,
        people: [
          { slackUserId: "U03AB4CD5EF", principals: [`arn:aws:iam::${PROD}:role/dana-admin`] },
        ],
        sourceIdentityRoles: ["arn:aws:iam::*:role/ci-deployer"],
      }),
    );
    expect(roles.lines).toContain(
      `warning: people[0].principals[0]: "arn:aws:iam::${PROD}:role/dana-admin" is a role: anyone who may assume it is taken for U03AB4CD5EF; map a role only when one person can assume it`,
    );
    expect(roles.lines).toContainEqual(
      expect.stringMatching(
        /^ok: {4}people: 1 person mapped to Slack; a requester who is one of them or an Identity Center session or a session of a sourceIdentityRoles role needs one approver/,
      ),
    );
    expect(roles.lines).toContainEqual(
      expect.stringMatching(
        /^ok: {4}sourceIdentityRoles: 1 role pattern whose sessions are verified by their source identity: each role's trust policy must require sts:SourceIdentity/,
      ),
    );
  });

  it("describes the organization, onExpiry, drift and the firewall", async () => {
    const result = await doctor(
      file({
        ...GOOD,
        organization: { id: "o-k3x9q2m7p1", regions: ["us-east-1"] },
        onExpiry: "leave",
        drift: { graceSeconds: 0 },
        wafRateLimitPerFiveMinutes: 50,
      }),
    );
    expect(result.ok).toBe(true);
    expect(result.lines).toContainEqual(
      expect.stringMatching(
        /^ok: {4}organization: o-k3x9q2m7p1: the hub's bus admits every account of the organization/,
      ),
    );
    expect(result.lines).toContain(
      'ok:    onExpiry: "leave": a change left live (not reverted) whose request expires stays in place',
    );
    expect(result.lines).toContainEqual(
      expect.stringMatching(/^ok: {4}drift\.graceSeconds: 0: the drift check reverts and files/),
    );
    expect(result.lines).toContainEqual(
      expect.stringMatching(
        /^ok: {4}wafRateLimitPerFiveMinutes: an AWS WAF web ACL blocks an address sending over 50 requests in 5 minutes .*\$0\.60 per million requests/,
      ),
    );
    expect(result.lines).toContainEqual(
      expect.stringMatching(
        /^warning: wafRateLimitPerFiveMinutes: 50 is low: Slack sends every click/,
      ),
    );
  });

  it("refuses an exemption that matches everybody", async () => {
    const result = await doctor(file({ ...GOOD, exemptPrincipals: ["arn:*"] }));
    expect(result.ok).toBe(false);
    expect(result.lines).toContain(
      'error: exemptPrincipals[0]: "arn:*" exempts everyone: nothing would ever be reverted',
    );
  });

  it("catches environments too large for Lambda", async () => {
    const members = Array.from({ length: 150 }, (_, i) => ({
      account: String(100000000000 + i),
      alias: `a-rather-long-account-alias-number-${i}`,
      regions: ["us-east-1"],
    }));
    const result = await doctor(file({ ...GOOD, members }));
    expect(result.ok).toBe(false);
    expect(result.lines).toContainEqual(
      expect.stringMatching(
        /^error: the hub functions' environment would be about \d+ bytes, over Lambda's 4096/,
      ),
    );
  });

  it("describes single-account mode", async () => {
    const result = await doctor(
      file({
        hub: { account: "403581726914", region: "eu-central-1" },
        slack: {
          approvalChannel: "G04QX7J2M1B",
          monitoringChannel: "C05RT8K3N2C",
          approverUserGroup: "S03MN8OP9QR",
        },
        singleAccount: true,
      }),
    );
    expect(result.ok).toBe(true);
    expect(result.lines).toContain(
      "ok:    single-account mode: the hub account governs itself in eu-central-1",
    );
    expect(result.lines).toContain(
      "ok:    slack.approvalChannel: G04QX7J2M1B is a private channel: invite the app's bot user into it",
    );
  });

  it("exits 0 when nothing is left to fix, 1 on an error, 3 while example values remain", async () => {
    const good = await doctor(file(GOOD));
    expect(good).toMatchObject({ ok: true, exitCode: 0, placeholders: 0 });
    // Other warnings do not fail it: only errors and placeholders do.
    const warned = await doctor(file({ ...GOOD, requestExpiryHours: 200 }));
    expect(warned.lines.some((l) => l.startsWith("warning: requestExpiryHours"))).toBe(true);
    expect(warned.exitCode).toBe(0);
    const placeholder = await doctor(
      file({ ...GOOD, hub: { account: "111111111111", region: "us-east-1" } }),
    );
    expect(placeholder).toMatchObject({ ok: true, exitCode: 3, placeholders: 1 });
    expect(placeholder.lines.at(-1)).toMatch(
      /but still holds example values \(1 placeholder warning\): replace them before you deploy$/,
    );
    const broken = await doctor(file({ ...GOOD, exemptPrincipals: ["arn:*"] }));
    expect(broken).toMatchObject({ ok: false, exitCode: 1 });
  });

  describe("through the CLI", () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });
    const run = async (args: string[]) => {
      const out: string[] = [];
      vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
        out.push(String(chunk));
        return true;
      });
      vi.spyOn(process.stderr, "write").mockImplementation(() => true);
      const code = await main(args);
      vi.restoreAllMocks();
      return { code, out: out.join("") };
    };

    it("returns doctor's exit status, and documents it in doctor --help", async () => {
      expect((await run(["doctor", "--config", file(GOOD)])).code).toBe(0);
      const example = join(import.meta.dirname, "..", "..", EXAMPLE_CONFIG_FILE);
      expect((await run(["doctor", "--config", example])).code).toBe(3);
      expect((await run(["doctor", "--config", file("{")])).code).toBe(1);
      const help = await run(["doctor", "--help"]);
      expect(help.code).toBe(0);
      expect(help.out).toMatch(
        /1 an error to fix, 2 bad usage,\s+3 valid but still holding example values/,
      );
      expect(help.out).toContain('with "policy" in the config');
    });
  });

  it("refuses a region that does not exist, and names the one probably meant", async () => {
    const result = await doctor(
      file({ ...GOOD, members: [{ account: HUB, alias: "shared", regions: ["us-east-9"] }] }),
    );
    expect(result.exitCode).toBe(1);
    expect(result.lines[0]).toBe(
      'error: members[0].regions[0]: "us-east-9" is not an AWS region: did you mean us-east-1 (US East (N. Virginia))?',
    );
  });

  describe("the policy", () => {
    const policyFile = (content: string) => {
      n += 1;
      const name = `policy-${n}.json`;
      writeFileSync(join(dir, name), content);
      return name;
    };
    const POLICY = {
      version: 1,
      rules: [
        {
          name: "break-glass",
          match: { principal: "arn:aws:iam::*:role/BreakGlassAdmin" },
          action: "exempt",
          reason: "break-glass",
        },
        {
          name: "no-ssh-from-internet",
          match: { direction: "ingress", portsOverlap: 22, peer: { public: true } },
          action: "auto_deny",
          reason: "no SSH from the internet",
        },
      ],
    };

    it("prints the policy file the config names (relative to the config) as a table", async () => {
      const name = policyFile(JSON.stringify(POLICY, null, 2));
      const result = await doctor(file({ ...GOOD, policy: name }));
      expect(result.exitCode).toBe(0);
      const at = result.lines.indexOf(
        `ok:    policy: ${name}: 2 rules, tried in this order with the config's switches (first match decides):`,
      );
      expect(at).toBeGreaterThan(0);
      const table = result.lines.slice(at + 1, at + 7).map((l) => l.replace(/\s+/g, " ").trim());
      expect(table).toEqual([
        "rule match action decision",
        "system-roles principal arn:aws:iam::<member account>:role/secgroup-approval-<function>-<region> ignore made by this system's own role",
        "break-glass principal arn:aws:iam::*:role/BreakGlassAdmin exempt break-glass",
        "no-ssh-from-internet any rule: ingress, ports overlapping 22, peer public auto_deny no SSH from the internet",
        "max-event-age event over 300 s late notify the event arrived more than 300 s after the change: it was not reverted",
        "default anything else require_approval 1 approval (2 if unverified): no policy rule matched: a person decides",
      ]);
      // Columns line up.
      const header = result.lines[at + 1] ?? "";
      expect(result.lines[at + 3]?.indexOf("exempt")).toBe(header.indexOf("action"));
    });

    it("takes the policy object inline too", async () => {
      const result = await doctor(file({ ...GOOD, policy: POLICY }));
      expect(result.exitCode).toBe(0);
      expect(result.lines).toContainEqual(
        expect.stringMatching(
          /^ +break-glass +principal arn:aws:iam::\*:role\/BreakGlassAdmin +exempt/,
        ),
      );
    });

    it("reports the policy file's problems with file:line:column", async () => {
      const bad = policyFile(
        '{\n  "rules": [\n    { "name": "deny-all", "match": {}, "action": "auto_deny" }\n  ]\n}\n',
      );
      const result = await doctor(file({ ...GOOD, policy: bad }));
      expect(result.exitCode).toBe(1);
      expect(result.lines).toContainEqual(
        expect.stringMatching(
          new RegExp(`^error: ${bad}:3:5: rules\\[0\\]\\.reason: an auto_deny rule needs a reason`),
        ),
      );

      const syntax = policyFile('{\n  "rules": [\n    { "name": "x", }\n  ]\n}\n');
      const broken = await doctor(file({ ...GOOD, policy: syntax }));
      expect(broken.lines).toContain(
        `error: ${syntax}:3:20: not valid JSON: expected a property name in double quotes`,
      );

      const missing = await doctor(file({ ...GOOD, policy: "nowhere.json" }));
      expect(missing.lines).toContainEqual(
        expect.stringMatching(/^error: policy: nowhere\.json does not exist \(a path relative to /),
      );
    });

    it("locates an inline policy's problems in the config itself", async () => {
      const config = file(
        JSON.stringify(
          { ...GOOD, policy: { rules: [{ name: "default", match: {}, action: "notify" }] } },
          null,
          2,
        ),
      );
      const result = await doctor(config);
      expect(result.exitCode).toBe(1);
      expect(result.lines).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^error: ${config.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:\\d+:\\d+: policy\\.rules\\[0\\]\\.name: "default" is reserved`,
          ),
        ),
      );
    });

    it("shows the policy committed as the example", async () => {
      const result = await doctor(join(import.meta.dirname, "..", "..", EXAMPLE_CONFIG_FILE));
      expect(result.lines).toContain(
        "ok:    policy: policy.example.json: 8 rules, tried in this order with the config's switches (first match decides):",
      );
      expect(result.lines.filter((l) => l.startsWith("error:"))).toEqual([]);
    });
  });

  it("explains the four switches as the policy rules they are short for", async () => {
    const result = await doctor(
      file({
        ...GOOD,
        exemptPrincipals: ["arn:aws:iam::*:role/BreakGlassAdmin"],
        seedRules: { maxEventAgeSeconds: 600, autoDenyWithoutDescription: true },
      }),
    );
    const info = result.lines.filter((l) => l.startsWith("info:"));
    expect(info).toEqual([
      'info:  exemptPrincipals is the same as the policy rule {"name":"exempt","description":"exemptPrincipals: break-glass admins and pipelines whose changes stand","match":{"principal":["arn:aws:iam::*:role/BreakGlassAdmin"]},"action":"exempt","reason":"the requester is exempt"}: move it into the policy file (docs/POLICY.md); as a switch it is tried after the file\'s rules',
      'info:  seedRules.maxEventAgeSeconds is the same as the policy rule {"name":"late-events","description":"seedRules.maxEventAgeSeconds: a late event is not reverted, a person decides","match":{"eventAgeOverSeconds":600},"action":"notify","reason":"the event arrived more than 600 s after the change: it was not reverted"}: move it into the policy file (docs/POLICY.md); as a switch it is tried after the file\'s rules',
      'info:  seedRules.autoDenyWithoutDescription is the same as the policy rule {"name":"rules-need-description","description":"seedRules.autoDenyWithoutDescription","match":{"kind":["add","modify","drift"],"descriptionMissing":true},"action":"auto_deny","reason":"a rule has no description"}: move it into the policy file (docs/POLICY.md); as a switch it is tried after the file\'s rules',
    ]);
    // A config that sets none of them gets no such line.
    expect((await doctor(file(GOOD))).lines.some((l) => l.startsWith("info:"))).toBe(false);
  });
});
