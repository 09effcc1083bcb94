/**
 * The POLICY variable: the deployment's policy file, checked by the engine's loader at cold start
 * and merged with the config's switches, for the member and the hub alike.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  hubConfigSchema,
  loadConfig,
  memberConfigSchema,
  policyOf,
} from "../../src/handlers/config.js";
import { hubSettings } from "../../src/handlers/hub-runtime.js";
import { memberSettings } from "../../src/handlers/member-runtime.js";

const member = {
  BASELINE_TABLE: "securityGroupBaselines",
  MEMBER_ACCOUNT_ID: "111122223333",
  AWS_REGION: "us-east-1",
  MEMBER_BUS_NAME: "secgroup-approval-member",
  SYSTEM_ROLE_ARNS: "arn:aws:iam::111122223333:role/secgroup-approval-member",
  EXEMPT_PRINCIPALS: "arn:aws:iam::*:role/BreakGlass*",
};
const hub = {
  REQUESTS_TABLE: "securityGroupRequests",
  SLACK_BOT_TOKEN_SECRET_ARN:
    "arn:aws:secretsmanager:us-east-1:999988887777:secret:secgroup-approval/slack-bot-token-AbCdEf",
  SLACK_APPROVAL_CHANNEL: "C0APPROVAL",
  SLACK_MONITORING_CHANNEL: "C0MONITORING",
  DENY_TOPIC_ARN: "arn:aws:sns:us-east-1:999988887777:denySecurityGroupChange",
  EXEMPT_PRINCIPALS: "arn:aws:iam::*:role/BreakGlass*",
};
const example = readFileSync(new URL("../../policy.example.json", import.meta.url), "utf8");

describe("POLICY", () => {
  it("absent: the switches alone, as before", () => {
    const config = loadConfig(memberConfigSchema, member);
    expect(config.POLICY).toBeUndefined();
    expect(policyOf(config).rules.map((r) => r.name)).toEqual([
      "system-roles",
      "exempt-principals",
      "max-event-age",
    ]);
  });

  it("the example file: merged between the system roles and the other switches", () => {
    const config = loadConfig(memberConfigSchema, { ...member, POLICY: example });
    const names = policyOf(config).rules.map((r) => r.name);
    expect(names[0]).toBe("system-roles");
    expect(names.slice(1, 4)).toEqual([
      "break-glass",
      "new-group-default-egress",
      "no-ssh-rdp-from-internet",
    ]);
    expect(names.slice(-2)).toEqual(["exempt-principals", "max-event-age"]);
    expect(policyOf(config).accounts?.["444455556666"]?.mode).toBe("notify");
    expect(memberSettings(config).policyFile?.rules).toHaveLength(8);
  });

  it("the hub gets the same policy (its own copy, from its own variables)", () => {
    const m = loadConfig(memberConfigSchema, { ...member, POLICY: example });
    const h = loadConfig(hubConfigSchema, { ...hub, POLICY: example });
    const hubPolicy = hubSettings(h).policy;
    expect(hubPolicy?.rules.map((r) => r.name)).toEqual(
      policyOf(m)
        .rules.map((r) => r.name)
        .filter((n) => n !== "system-roles"),
    );
  });

  it("a policy the loader refuses fails the cold start, naming POLICY and where", () => {
    const bad = JSON.stringify({ rules: [{ name: "x", match: {}, action: "auto_deny" }] });
    expect(() => loadConfig(memberConfigSchema, { ...member, POLICY: bad })).toThrow(ConfigError);
    expect(() => loadConfig(hubConfigSchema, { ...hub, POLICY: bad })).toThrow(
      /POLICY: not a valid policy: POLICY:1:\d+: rules\[0\]/,
    );
    expect(() => loadConfig(memberConfigSchema, { ...member, POLICY: "{not json" })).toThrow(
      /POLICY: not a valid policy: POLICY:1:2: not valid JSON/,
    );
  });
});
