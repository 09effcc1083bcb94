/**
 * Test helpers: sample configs and an offline synth of the whole app into a temporary directory,
 * with esbuild bundling skipped (aws:cdk:bundling-stacks = []) so a synth takes about a second.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { type AppConfig, type AppConfigInput, configSchema } from "../../infra/config.js";
import { buildApp, cdkJsonContext, type SecgroupApprovalApp } from "../../infra/stacks.js";

export const HUB = "111111111111";
export const MEMBER_A = "222222222222";
export const MEMBER_B = "333333333333";

/** A hub and two member accounts, each in two regions. */
export const MULTI: AppConfigInput = {
  hub: { account: HUB, region: "us-east-1" },
  members: [
    { account: MEMBER_A, alias: "prod-payments", regions: ["us-east-1", "eu-west-1"] },
    { account: MEMBER_B, alias: "staging", regions: ["us-east-1", "ap-southeast-2"] },
  ],
  slack: {
    approvalChannel: "C0123456789",
    monitoringChannel: "C0987654321",
    approverUserIds: ["U0123456789", "W0234567891"],
    approverUserGroup: "S0123456789",
  },
  exemptPrincipals: ["arn:aws:iam::*:role/BreakGlassAdmin"],
  requestExpiryHours: 12,
  seedRules: { maxEventAgeSeconds: 600, autoDenyWithoutDescription: true },
};

/** Hub and member in one account: no members listed. */
export const SINGLE: AppConfigInput = {
  hub: { account: HUB, region: "eu-central-1" },
  slack: {
    approvalChannel: "C0123456789",
    monitoringChannel: "G0987654321",
    approverUserIds: ["U0123456789"],
  },
  singleAccount: true,
};

export interface Synthesized extends SecgroupApprovalApp {
  config: AppConfig;
  outdir: string;
  ms: number;
  template(stack: Stack): Template;
  /** The validation report CDK writes into the cloud assembly (cdk-nag's findings go there). */
  report(): ValidationReport;
}

export interface ValidationReport {
  pluginReports: {
    pluginName: string;
    conclusion: string;
    violations: {
      ruleName: string;
      severity: string;
      violatingConstructs: { constructPath: string }[];
    }[];
    suppressedViolations?: unknown[];
  }[];
}

export function synth(
  input: AppConfigInput,
  options: { cfnValidation?: boolean; mutate?: (app: SecgroupApprovalApp) => void } = {},
): Synthesized {
  const config = configSchema.parse(input);
  const outdir = mkdtempSync(join(tmpdir(), "secgroup-approval-cdk-"));
  const started = Date.now();
  const built = buildApp(config, {
    outdir,
    skipBundling: true,
    context: {
      ...cdkJsonContext(),
      // CloudFormation's own template checks take ~8 s to start: one dedicated test runs them.
      "@aws-cdk/core:validateAgainstDefaultRules": options.cfnValidation ?? false,
    },
  });
  options.mutate?.(built);
  built.app.synth();
  const ms = Date.now() - started;
  const templates = new Map<Stack, Template>();
  return {
    ...built,
    config,
    outdir,
    ms,
    template(stack) {
      let t = templates.get(stack);
      if (!t) {
        t = Template.fromStack(stack);
        templates.set(stack, t);
      }
      return t;
    },
    report() {
      // CDK writes it whenever a validation plugin ran: a missing file means cdk-nag did not.
      return JSON.parse(
        readFileSync(join(outdir, "validation-report.json"), "utf8"),
      ) as ValidationReport;
    },
  };
}

/** Every acknowledgement in the tree: where, which rule, and why. */
export function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  const out: { path: string; id: string; reason: string }[] = [];
  for (const c of root.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== "aws:cdk:acknowledged-rules") continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        out.push({ path: c.node.path, id, reason });
      }
    }
  }
  return out;
}

// ---- reading templates ------------------------------------------------------------------------

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export interface CfnResource {
  Type: string;
  Properties?: Record<string, Json>;
  DeletionPolicy?: string;
}
export interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource?: Json;
  Principal?: Json;
  Condition?: Record<string, Record<string, Json>>;
}

export function resources(t: Template, type: string): [string, CfnResource][] {
  return Object.entries(t.findResources(type) as Record<string, CfnResource>);
}

export const list = <T>(x: T | T[] | undefined): T[] =>
  x === undefined ? [] : Array.isArray(x) ? x : [x];

export function statements(resource: CfnResource, property = "PolicyDocument"): Statement[] {
  const doc = resource.Properties?.[property] as { Statement: Statement[] } | undefined;
  return doc?.Statement ?? [];
}

/** "arn:aws:iam::111111111111:root" from { AWS: ... } in any of its shapes. */
export function principalAccounts(principal: Json | undefined): string[] {
  const aws = (principal as { AWS?: Json } | undefined)?.AWS;
  return list(aws as Json | Json[]).map((p) => {
    const text = typeof p === "string" ? p : JSON.stringify(p);
    const m = /(\d{12})/.exec(text);
    return m?.[1] ?? text;
  });
}

/** The function a role belongs to, by the role's logical id prefix. */
export function policyOf(t: Template, logicalIdPrefix: string): Statement[] {
  const found = resources(t, "AWS::IAM::Policy").filter(([id]) => id.startsWith(logicalIdPrefix));
  return found.flatMap(([, r]) => statements(r));
}
