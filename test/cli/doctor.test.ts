import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { AppConfigInput } from "../../infra/config.js";
import { doctor } from "../../src/cli/doctor.js";

const dir = mkdtempSync(join(tmpdir(), "secgroup-approval-doctor-"));
let n = 0;
function file(content: unknown): string {
  n += 1;
  const path = join(dir, `config-${n}.json`);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return path;
}

const GOOD: AppConfigInput = {
  hub: { account: "111111111111", region: "us-east-1" },
  members: [
    { account: "111111111111", alias: "shared", regions: ["us-east-1"] },
    { account: "222222222222", alias: "prod", regions: ["us-east-1", "eu-west-1"] },
  ],
  slack: {
    approvalChannel: "C0123456789",
    monitoringChannel: "C0987654321",
    approverUserIds: ["U0123456789", "U0234567891"],
  },
};

describe("doctor", () => {
  it("passes a good config and summarises it", async () => {
    const result = await doctor(file(GOOD));
    expect(result.ok).toBe(true);
    expect(result.lines).toEqual([
      "ok:    hub: account 111111111111 in us-east-1 (stack SecgroupApproval-Hub)",
      "ok:    members: 2 accounts, 3 member stacks",
      "       111111111111 (shared) in us-east-1",
      "       222222222222 (prod) in us-east-1, eu-west-1",
      "ok:    the hub account is also governed (members[0])",
      "ok:    approvers: 2 users",
      expect.stringMatching(/config-\d+\.json is valid: deploy with npx cdk deploy/),
    ]);
  });

  it("says the file is missing, and where the example is", async () => {
    const result = await doctor(join(dir, "absent.json"));
    expect(result.ok).toBe(false);
    expect(result.lines[0]).toMatch(
      /^error: .*absent\.json does not exist: copy secgroup-approval\.config\.example\.json to secgroup-approval\.config\.json/,
    );
  });

  it("says the JSON is broken", async () => {
    const result = await doctor(file('{ "hub": { "account": "111111111111", } }'));
    expect(result.ok).toBe(false);
    expect(result.lines[0]).toMatch(/^error: .*is not valid JSON: /);
  });

  it("names every wrong field", async () => {
    const result = await doctor(
      file({
        ...GOOD,
        slack: {
          approvalChannel: "#approvals",
          monitoringChannel: "C0987654321",
          approverUserIds: ["alice"],
        },
        requestExpiryHours: 0,
        members: [
          { account: "222222222222", alias: "prod", regions: ["us-east-1"] },
          { account: "222222222222", alias: "prod2", regions: ["eu-west-1"] },
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
        /^error: members\[1\]\.account: account 222222222222 is already listed as members\[0\]/,
      ),
      expect.stringMatching(/^4 problems in .*config-\d+\.json/),
    ]);
  });

  it("says what is missing", async () => {
    const result = await doctor(file({ hub: { account: "111111111111" } }));
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
        members: [{ account: "222222222222", alias: "prod", regions: ["us-east-1"] }],
        slack: {
          approvalChannel: "C0123456789",
          monitoringChannel: "C0123456789",
          approverUserIds: ["U0123456789"],
        },
        seedRules: { maxEventAgeSeconds: 30 },
        exemptPrincipals: ["arn:aws:ec2:*:*:instance/*"],
      }),
    );
    expect(result.ok).toBe(true);
    const warnings = result.lines.filter((l) => l.startsWith("warning:"));
    expect(warnings).toEqual([
      expect.stringMatching(
        /^warning: the hub account 111111111111 is not in members: changes to its own security groups are not governed/,
      ),
      expect.stringMatching(
        /^warning: slack\.monitoringChannel: is the same channel as slack\.approvalChannel/,
      ),
      expect.stringMatching(
        /^warning: slack\.approverUserIds: only one approver, who cannot approve their own changes/,
      ),
      expect.stringMatching(
        /^warning: exemptPrincipals\[0\]: "arn:aws:ec2:\*:\*:instance\/\*" is not an IAM or STS ARN/,
      ),
      expect.stringMatching(/^warning: seedRules\.maxEventAgeSeconds: 30 s is short/),
    ]);
    expect(result.lines.at(-1)).toMatch(/is valid \(5 warnings\)/);
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
        hub: { account: "111111111111", region: "eu-central-1" },
        slack: {
          approvalChannel: "G0123456789",
          monitoringChannel: "C0987654321",
          approverUserGroup: "S0123456789",
        },
        singleAccount: true,
      }),
    );
    expect(result.ok).toBe(true);
    expect(result.lines).toContain(
      "ok:    single-account mode: the hub account governs itself in eu-central-1",
    );
    expect(result.lines).toContain(
      "ok:    slack.approvalChannel: G0123456789 is a private channel: invite the app's bot user into it",
    );
  });
});
