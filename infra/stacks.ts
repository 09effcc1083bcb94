/**
 * The CDK app: one hub stack and one member stack per (account, region). In single-account mode
 * the member for the hub's own region lives inside the hub stack, so one `cdk deploy` does it all.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App, Stack, type StackProps, Tags } from "aws-cdk-lib";
import * as cxapi from "aws-cdk-lib/cx-api";
import type { Construct } from "constructs";
import { notifyAlarms } from "./alarms.js";
import { type AppConfig, type MemberTarget, memberTargets } from "./config.js";
import { REPO_ROOT } from "./handler.js";
import { Hub } from "./hub.js";
import { Member } from "./member.js";
import { addNagChecks } from "./nag.js";
import { HUB_STACK_NAME, memberStackName, PREFIX } from "./names.js";

export class HubStack extends Stack {
  readonly hub: Hub;
  /** Single-account mode: the member of the hub's own region. */
  readonly member: Member | undefined;

  constructor(
    scope: Construct,
    id: string,
    props: StackProps & { config: AppConfig; localMember?: MemberTarget },
  ) {
    super(scope, id, props);
    this.hub = new Hub(this, "Hub", { config: props.config });
    this.member = props.localMember
      ? new Member(this, "Member", { config: props.config, target: props.localMember })
      : undefined;
    notifyAlarms(this, props.config, this.hub.topicKey);
  }
}

export class MemberStack extends Stack {
  readonly member: Member;

  constructor(
    scope: Construct,
    id: string,
    props: StackProps & { config: AppConfig; target: MemberTarget },
  ) {
    super(scope, id, props);
    this.member = new Member(this, "Member", { config: props.config, target: props.target });
    notifyAlarms(this, props.config, this.member.topicKey);
  }
}

export interface BuildOptions {
  /** CDK context; defaults to cdk.json's (its feature flags), so tests synth what the CLI synths. */
  context?: Record<string, unknown>;
  /** Where the cloud assembly goes (tests use a temporary directory). */
  outdir?: string;
  /** Skip esbuild (tests): sets aws:cdk:bundling-stacks to []. */
  skipBundling?: boolean;
  /** Run cdk-nag (default true). */
  nag?: boolean;
  /**
   * Listing only (`cdk ls`, `cdk destroy`: the CDK CLI then asks for no bundling): skip cdk-nag and
   * CloudFormation's template validation, which only matter to a synth that is deployed or read.
   * See listingOnly().
   */
  listing?: boolean;
}

/**
 * Whether the CDK CLI runs this app for a command that needs only the stacks' names and
 * environments. The CLI sets the context aws:cdk:bundling-stacks to [] for every command that
 * does not bundle (ls, destroy, ...) and to the selected stacks (or "**") for synth, diff,
 * deploy, watch and import; it passes the context in $CDK_CONTEXT_JSON, or in a file named by
 * $CONTEXT_OVERFLOW_LOCATION_ENV when large (as aws-cdk-lib's App reads it).
 */
export function listingOnly(env: Record<string, string | undefined> = process.env): boolean {
  if (!env[cxapi.OUTDIR_ENV]) return false; // not run by the CDK CLI
  let context: Record<string, unknown> = {};
  try {
    const json = env[cxapi.CONTEXT_ENV];
    const file = env[cxapi.CONTEXT_OVERFLOW_LOCATION_ENV];
    context = {
      ...(json ? JSON.parse(json) : {}),
      ...(file ? JSON.parse(readFileSync(file, "utf8")) : {}),
    };
  } catch {
    return false;
  }
  const stacks = context[cxapi.BUNDLING_STACKS];
  return Array.isArray(stacks) && stacks.length === 0;
}

export interface SecgroupApprovalApp {
  app: App;
  hub: HubStack;
  members: MemberStack[];
}

/** cdk.json's "context" (the feature flags). */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, "cdk.json"), "utf8")) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

export function buildApp(config: AppConfig, options: BuildOptions = {}): SecgroupApprovalApp {
  const context: Record<string, unknown> = { ...(options.context ?? cdkJsonContext()) };
  if (options.skipBundling) context["aws:cdk:bundling-stacks"] = [];
  const app = new App({
    context,
    ...(options.outdir ? { outdir: options.outdir } : {}),
    // CloudFormation's template checks take seconds to start; a listing reads no template.
    ...(options.listing ? { builtinCloudFormationValidation: false } : {}),
  });

  const targets = memberTargets(config);
  const local = config.singleAccount
    ? targets.find((t) => t.account === config.hub.account && t.region === config.hub.region)
    : undefined;

  const hub = new HubStack(app, HUB_STACK_NAME, {
    env: { account: config.hub.account, region: config.hub.region },
    description: local
      ? "secgroup-approval: hub and member (single-account mode): requests, Slack endpoint, revert and apply"
      : "secgroup-approval hub: requests, the Slack endpoint, the hub's event bus",
    config,
    ...(local ? { localMember: local } : {}),
  });

  const members = targets
    .filter((t) => t !== local)
    .map((target) => {
      const stack = new MemberStack(app, memberStackName(target.account, target.region), {
        env: { account: target.account, region: target.region },
        description: `secgroup-approval member ${target.alias} (${target.account}) in ${target.region}: reverts security-group changes and drift, re-applies approved ones`,
        config,
        target,
      });
      // No dependency on the hub stack: the stacks share names, not references, so each deploys
      // on its own with its own account's credentials, in any order.
      return stack;
    });

  Tags.of(app).add("application", PREFIX);
  if ((options.nag ?? true) && !options.listing) addNagChecks(app);
  return { app, hub, members };
}
