/**
 * The messages the accounts send each other over SNS, validated with zod where they arrive.
 *
 *   member -> hub  securityGroupChange          ChangeMessage   (a change was reverted)
 *   hub -> member  applySecurityGroupChange     ApplyMessage    (approved: make it again)
 *   member -> hub  errorHandlerSecurityGroupChange  ResultMessage (applied, or failed with the EC2 error)
 *   hub -> hub     denySecurityGroupChange      DenyMessage     (denied: report it)
 */
import { z } from "zod";
import type { Change } from "./change.js";
import { GOVERNED_EVENT_NAMES } from "./cloudtrail.js";
import { IDENTITY_TYPES } from "./requester.js";

const direction = z.enum(["ingress", "egress"]);
const peer = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("cidrIpv4"), cidr: z.string().min(1) }),
  z.object({ kind: z.literal("cidrIpv6"), cidr: z.string().min(1) }),
  z.object({ kind: z.literal("prefixList"), prefixListId: z.string().min(1) }),
  z.object({
    kind: z.literal("group"),
    groupId: z.string().min(1),
    userId: z.string().optional(),
    vpcPeeringConnectionId: z.string().optional(),
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
const rule = ruleBody.extend({ direction, ruleId: z.string().optional() });

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
});

const base = {
  eventName: z.enum(GOVERNED_EVENT_NAMES),
  eventId: z.string().min(1),
  eventTime: z.string().min(1),
  account: z.string().regex(/^\d{12}$/, "an AWS account id is 12 digits"),
  region: z.string().min(1),
  groupId: z.string().min(1),
  requester,
};

export const changeSchema = z.discriminatedUnion("kind", [
  z.object({ ...base, kind: z.literal("add"), direction, rules: z.array(rule).min(1) }),
  z.object({
    ...base,
    kind: z.literal("remove"),
    direction,
    rules: z.array(rule),
    ruleIds: z.array(z.string()),
  }),
  z.object({
    ...base,
    kind: z.literal("modify"),
    modifications: z
      .array(z.object({ ruleId: z.string(), rule: ruleBody, before: rule.optional() }))
      .min(1),
  }),
]);

const applyError = z.object({ code: z.string(), message: z.string() });

export const changeMessageSchema = z.object({
  type: z.literal("change"),
  change: changeSchema,
  groupName: z.string().optional(),
  accountAlias: z.string().optional(),
  /** When the member reverted the change, and how long the revert took. */
  revertedAt: z.string(),
  revertMs: z.number().nonnegative(),
  /** The revert failed: the change is still live. */
  revertError: applyError.optional(),
  /** Policy decided already (auto_deny): the hub records and reports, asks nobody. */
  policy: z
    .object({ status: z.literal("auto_denied"), rule: z.string(), reason: z.string() })
    .optional(),
});

export const applyMessageSchema = z.object({
  type: z.literal("apply"),
  requestId: z.string(),
  change: changeSchema,
  /** The member could not revert the change (wholly or in part): some of it is live already. */
  revertError: applyError.optional(),
});

/** Hub -> member: a live change was denied, revert it now. */
export const revertMessageSchema = z.object({
  type: z.literal("revert"),
  requestId: z.string(),
  change: changeSchema,
});

export const resultMessageSchema = z.object({
  type: z.literal("result"),
  requestId: z.string(),
  /** applied / failed for an apply; reverted / failed for a revert after a deny. */
  outcome: z.enum(["applied", "reverted", "failed"]),
  at: z.string(),
  error: applyError.optional(),
  applyMs: z.number().nonnegative().optional(),
});

export const denyMessageSchema = z.object({ type: z.literal("deny"), requestId: z.string() });

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

function parseWith<T>(schema: z.ZodType, what: string, raw: string): T {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new InvalidMessageError(`${what} is not JSON`);
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

export const parseChangeMessage = (raw: string) =>
  parseWith<ChangeMessage>(changeMessageSchema, "change message", raw);
export const parseApplyMessage = (raw: string) =>
  parseWith<ApplyMessage>(applyMessageSchema, "apply message", raw);
export const parseMemberMessage = (raw: string) =>
  parseWith<MemberMessage>(
    z.discriminatedUnion("type", [applyMessageSchema, revertMessageSchema]),
    "apply message",
    raw,
  );
export const parseResultMessage = (raw: string) =>
  parseWith<ResultMessage>(resultMessageSchema, "result message", raw);
export const parseDenyMessage = (raw: string) =>
  parseWith<DenyMessage>(denyMessageSchema, "deny message", raw);
