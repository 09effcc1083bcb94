/**
 * The messages the accounts send each other, validated with zod where they arrive.
 *
 *   member -> hub  bus: "Security Group Change"        ChangeMessage  (a change, reverted or not)
 *   hub -> member  SNS applySecurityGroupChange        ApplyMessage   (approved: make it again)
 *                                                      RevertMessage  (denied or expired live: revert it)
 *   member -> hub  bus: "Security Group Change Result" ResultMessage  (applied / reverted / failed)
 *   hub -> hub     SNS denySecurityGroupChange         DenyMessage    (denied: report it)
 *
 * Members reach the hub through an EventBridge bus, which sets each event's `account` and
 * `region` itself: the hub takes them from there, and refuses a body that names another.
 */
import * as z from "zod";
import { type Change, DRIFT_EVENT_NAME } from "./change.js";
import { GOVERNED_EVENT_NAMES, PREFIX_LIST_EVENT_NAME } from "./cloudtrail.js";
import { POLICY_ACTIONS } from "./policy/types.js";
import { IDENTITY_TYPES } from "./requester.js";
import {
  ACCOUNT_ID,
  GROUP_ID,
  isIpv4Cidr,
  isIpv6Cidr,
  PREFIX_LIST_ID,
  REGION,
  RULE_ID,
  VPC_PEERING_ID,
} from "./validate.js";

const direction = z.enum(["ingress", "egress"]);
const groupId = z.string().regex(GROUP_ID, "a security group id is sg- and 8 or 17 hex digits");
const ruleId = z.string().regex(RULE_ID, "a rule id is sgr- and 8 or 17 hex digits");
const accountId = z.string().regex(ACCOUNT_ID, "an AWS account id is 12 digits");
const peer = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("cidrIpv4"),
    cidr: z.string().refine(isIpv4Cidr, "not an IPv4 CIDR"),
  }),
  z.object({
    kind: z.literal("cidrIpv6"),
    cidr: z.string().refine(isIpv6Cidr, "not an IPv6 CIDR"),
  }),
  z.object({
    kind: z.literal("prefixList"),
    prefixListId: z.string().regex(PREFIX_LIST_ID, "not a prefix list id"),
  }),
  z.object({
    kind: z.literal("group"),
    groupId,
    userId: accountId.optional(),
    vpcPeeringConnectionId: z.string().regex(VPC_PEERING_ID).optional(),
  }),
]);
const port = z.number().int().min(-1).max(65535).nullable();
const ruleBody = z.object({
  protocol: z.string().min(1),
  fromPort: port,
  toPort: port,
  peer,
  description: z.string().optional(),
});
const rule = ruleBody.extend({ direction, ruleId: ruleId.optional() });

const requester = z.object({
  arn: z.string(),
  type: z.enum(IDENTITY_TYPES),
  name: z.string(),
  accountId: z.string().optional(),
  principalId: z.string().optional(),
  roleArn: z.string().optional(),
  roleName: z.string().optional(),
  sso: z.boolean().optional(),
  sourceIp: z.string().optional(),
  userAgent: z.string().optional(),
  invokedBy: z.string().optional(),
  sourceIdentity: z.string().optional(),
});

const base = {
  eventId: z.string().regex(/^[0-9A-Za-z][0-9A-Za-z-]{0,127}$/, "not an event id"),
  eventTime: z.iso.datetime({ offset: true }),
  account: accountId,
  region: z.string().regex(REGION, "not an AWS region name"),
  groupId,
  requester,
};
const eventName = z.enum(GOVERNED_EVENT_NAMES);
const modification = z.object({ ruleId, rule: ruleBody, before: rule.optional() });
/** A description update's edit before the baseline resolved it (change.ts DescriptionEdit). */
const descriptionEdit = z.union([
  z.object({ direction, ruleId, description: z.string().optional() }),
  z.object({ rule }),
]);
const cidr = z.string().refine((c) => isIpv4Cidr(c) || isIpv6Cidr(c), "not a CIDR");
const prefixListEntry = z.object({ cidr, description: z.string().max(255).optional() });

export const changeSchema = z.discriminatedUnion("kind", [
  z.object({ ...base, eventName, kind: z.literal("add"), direction, rules: z.array(rule).min(1) }),
  z.object({
    ...base,
    eventName,
    kind: z.literal("remove"),
    direction,
    rules: z.array(rule),
    ruleIds: z.array(ruleId),
  }),
  z
    .object({
      ...base,
      eventName,
      kind: z.literal("modify"),
      modifications: z.array(modification),
      descriptions: z.array(descriptionEdit).min(1).optional(),
    })
    .refine((c) => c.modifications.length > 0 || c.descriptions !== undefined, {
      message: "a modify edits at least one rule",
      path: ["modifications"],
    }),
  z.object({
    ...base,
    eventName: z.literal(DRIFT_EVENT_NAME),
    kind: z.literal("drift"),
    added: z.array(rule),
    removed: z.array(rule),
    modifications: z.array(modification.required({ before: true })),
  }),
  z.object({
    ...base,
    eventName: z.literal(PREFIX_LIST_EVENT_NAME),
    kind: z.literal("prefixList"),
    prefixListId: z.string().regex(PREFIX_LIST_ID, "not a prefix list id"),
    prefixListName: z.string().max(255).optional(),
    fromVersion: z.number().int().nonnegative().optional(),
    added: z.array(prefixListEntry),
    removed: z.array(prefixListEntry),
    references: z
      .array(z.object({ groupId, groupName: z.string().max(255).optional(), rules: z.array(rule) }))
      .min(1),
  }),
]);

const applyError = z.object({ code: z.string(), message: z.string() });

export const changeMessageSchema = z.object({
  type: z.literal("change"),
  change: changeSchema,
  groupName: z.string().max(255).optional(),
  /**
   * This event's change is one the drift check already reverted and filed (its event came after):
   * the hub gives that request its requester instead of filing a second one.
   */
  joinsDrift: z.string().optional(),
  /** When the member reverted the change, and how long the revert took. */
  revertedAt: z.string(),
  revertMs: z.number().nonnegative(),
  /** The revert failed: the change is still live. */
  revertError: applyError.optional(),
  /**
   * What the member's policy decided and did. `status`: a decision that needs nobody (auto_denied:
   * reverted; auto_approved: it stands and the member's baseline took it in; exempt: it stands,
   * recorded): the hub records it and posts to the monitoring channel only. Without `status` the
   * change goes to a person, and the hub routes it (approvals, approvers, channel, expiry) from
   * ITS OWN copy of the policy, never from this body: a member speaks only for its own account.
   * Unknown keys (an "approvals" a member made up) are dropped by the schema.
   */
  policy: z
    .object({
      status: z.enum(["auto_denied", "auto_approved", "exempt"]).optional(),
      action: z.enum(POLICY_ACTIONS).optional(),
      rule: z.string().max(128),
      reason: z.string().max(2000),
      mode: z.enum(["enforce", "notify"]).optional(),
    })
    .optional(),
  /**
   * Facts about the group the policy's matchers use, as the member read them (its own account's):
   * the hub evaluates the policy on them. Absent: unknown (a matcher needing them does not match).
   */
  group: z
    .object({
      vpcId: z.string().max(64).optional(),
      tags: z.record(z.string().max(128), z.string().max(256)).optional(),
    })
    .optional(),
  /** When the member first received the event (the age rule measures to it); absent for drift. */
  receivedAt: z.iso.datetime({ offset: true }).optional(),
});

const requestId = z.string().regex(/^r-[0-9A-HJKMNP-TV-Z]{26}$/, "not a request id");

export const applyMessageSchema = z.object({
  type: z.literal("apply"),
  requestId,
  change: changeSchema,
  /** The member could not revert the change (wholly or in part): some of it is live already. */
  revertError: applyError.optional(),
});

/** Hub -> member: a live change was denied (or expired), revert it now. */
export const revertMessageSchema = z.object({
  type: z.literal("revert"),
  requestId,
  change: changeSchema,
});

export const resultMessageSchema = z.object({
  type: z.literal("result"),
  requestId,
  /** applied / failed for an apply; reverted / failed for a revert after a deny. */
  outcome: z.enum(["applied", "reverted", "failed"]),
  at: z.string(),
  error: applyError.optional(),
  applyMs: z.number().nonnegative().optional(),
});

export const denyMessageSchema = z.object({ type: z.literal("deny"), requestId });

export type ChangeMessage = Omit<z.infer<typeof changeMessageSchema>, "change"> & {
  change: Change;
};
export type ApplyMessage = Omit<z.infer<typeof applyMessageSchema>, "change"> & { change: Change };
export type RevertMessage = Omit<z.infer<typeof revertMessageSchema>, "change"> & {
  change: Change;
};
/** What the hub sends a member on its applySecurityGroupChange topic. */
export type MemberMessage = ApplyMessage | RevertMessage;
export type ResultMessage = z.infer<typeof resultMessageSchema>;
export type DenyMessage = z.infer<typeof denyMessageSchema>;

export class InvalidMessageError extends Error {
  override readonly name = "InvalidMessageError";
}

/** `raw` is the JSON text (an SNS message) or the parsed value (an EventBridge detail). */
function parseWith<T>(schema: z.ZodType, what: string, raw: unknown): T {
  let json: unknown = raw;
  if (typeof raw === "string") {
    try {
      json = JSON.parse(raw);
    } catch {
      throw new InvalidMessageError(`${what} is not JSON`);
    }
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new InvalidMessageError(
      `${what} is invalid at ${issue?.path.join(".") || "(root)"}: ${issue?.message}`,
    );
  }
  return result.data as T;
}

export const parseChangeMessage = (raw: unknown) =>
  parseWith<ChangeMessage>(changeMessageSchema, "change message", raw);
export const parseApplyMessage = (raw: string) =>
  parseWith<ApplyMessage>(applyMessageSchema, "apply message", raw);
export const parseMemberMessage = (raw: string) =>
  parseWith<MemberMessage>(
    z.discriminatedUnion("type", [applyMessageSchema, revertMessageSchema]),
    "apply message",
    raw,
  );
export const parseResultMessage = (raw: unknown) =>
  parseWith<ResultMessage>(resultMessageSchema, "result message", raw);
export const parseDenyMessage = (raw: string) =>
  parseWith<DenyMessage>(denyMessageSchema, "deny message", raw);
