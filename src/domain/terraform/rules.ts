/**
 * The security-group rules a Terraform resource's values describe, in the rule model (one
 * direction, protocol, port range and peer per rule), for the AWS provider's four ways of writing
 * them:
 * - `aws_security_group`: inline `ingress` / `egress` blocks, each with any of cidr_blocks,
 *   ipv6_cidr_blocks, prefix_list_ids, security_groups and self: one rule per peer, as EC2 unpacks
 *   an IpPermission;
 * - `aws_security_group_rule`: `type` ingress/egress, the same list peers,
 *   source_security_group_id, self;
 * - `aws_vpc_security_group_ingress_rule` / `aws_vpc_security_group_egress_rule`: one peer each
 *   (cidr_ipv4, cidr_ipv6, prefix_list_id, referenced_security_group_id), `ip_protocol`.
 * Protocols go through the model's normaliseProtocol ("tcp", "6" → tcp; "-1", "all" → all).
 *
 * Values known only after apply (`after_unknown`): a group id (the group's or a peer's) is named by
 * a stand-in, the Terraform address of the group when the plan tells it, else the resource's own
 * address, and a note says so; anything else the rule is made of (a CIDR, a prefix list, the
 * protocol, the ports, the direction) makes the rule "unknown": it is listed in `unknowns` and
 * cannot be judged before apply.
 */
import * as z from "zod";
import { formatJsonPath, type JsonPath } from "../policy/json-position.js";
import {
  type Direction,
  normalisePorts,
  normaliseProtocol,
  type Peer,
  type Rule,
  RuleModelError,
  withOptional,
} from "../rule.js";
import { isUnknownAt, PlanError } from "./plan.js";

export const SECURITY_GROUP = "aws_security_group";
export const SECURITY_GROUP_RULE = "aws_security_group_rule";
export const VPC_INGRESS_RULE = "aws_vpc_security_group_ingress_rule";
export const VPC_EGRESS_RULE = "aws_vpc_security_group_egress_rule";

export const RULE_RESOURCE_TYPES: readonly string[] = [
  SECURITY_GROUP,
  SECURITY_GROUP_RULE,
  VPC_INGRESS_RULE,
  VPC_EGRESS_RULE,
];

/** Shown where a value is known only after apply. */
export const KNOWN_AFTER_APPLY = "(known after apply)";

/** One rule a resource puts in place, with the group it belongs to. */
export interface PlannedRule {
  groupId: string;
  rule: Rule;
  /** Paths (in the resource's values) of the rule's values known only after apply. */
  unknowns: string[];
  /** What the reader should know: a stand-in for a group id not known yet. */
  notes: string[];
}

/** What a resource's values are read with: the unknown mask and the stand-ins for group ids. */
export interface ReadContext {
  /** The resource's address, e.g. module.net.aws_security_group.web. */
  address: string;
  type: string;
  /** `after_unknown` for the planned values, undefined for `before` (all known). */
  afterUnknown?: unknown;
  /** The address of the group `security_group_id` refers to, when the configuration says. */
  groupAddress?: string;
  /**
   * The attributes the configuration sets for the resource (its `expressions`), when the plan has
   * a configuration: an inline direction left unset is computed, not a rule set to judge.
   */
  configured?: ReadonlySet<string>;
  /** Where in the plan the values are, for errors. */
  where: JsonPath;
  source: string;
}

// ---- the values' shapes (the provider's attributes; every one may be null or unknown) ----

const str = z.string({ error: "expected a string" }).nullish();
const port = z.number({ error: "expected a number" }).int("expected a whole number").nullish();
const protocol = z.union([z.string(), z.number()], { error: "expected a string" }).nullish();
const strings = z.array(z.string().nullable(), { error: "expected a list of strings" }).nullish();
const bool = z.boolean({ error: "expected true or false" }).nullish();
const tags = z.record(z.string(), z.string().nullable()).nullish();

const inlineBlock = z.looseObject({
  cidr_blocks: strings,
  ipv6_cidr_blocks: strings,
  prefix_list_ids: strings,
  security_groups: strings,
  self: bool,
  from_port: port,
  to_port: port,
  protocol,
  description: str,
});

const securityGroupValues = z.looseObject({
  id: str,
  name: str,
  vpc_id: str,
  tags,
  tags_all: tags,
  ingress: z.array(inlineBlock.nullable(), { error: "expected a list of blocks" }).nullish(),
  egress: z.array(inlineBlock.nullable(), { error: "expected a list of blocks" }).nullish(),
});

const securityGroupRuleValues = z.looseObject({
  type: z.enum(["ingress", "egress"], { error: 'expected "ingress" or "egress"' }).nullish(),
  security_group_id: str,
  protocol,
  from_port: port,
  to_port: port,
  cidr_blocks: strings,
  ipv6_cidr_blocks: strings,
  prefix_list_ids: strings,
  source_security_group_id: str,
  self: bool,
  description: str,
});

const vpcRuleValues = z.looseObject({
  security_group_id: str,
  ip_protocol: protocol,
  from_port: port,
  to_port: port,
  cidr_ipv4: str,
  cidr_ipv6: str,
  prefix_list_id: str,
  referenced_security_group_id: str,
  description: str,
});

type InlineBlock = z.infer<typeof inlineBlock>;
export type SecurityGroupValues = z.infer<typeof securityGroupValues>;

function validated<T>(schema: z.ZodType<T>, values: unknown, ctx: ReadContext): T {
  const parsed = schema.safeParse(values);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0] as z.core.$ZodIssue;
  throw new PlanError(ctx.source, [...ctx.where, ...(issue.path as JsonPath)], issue.message);
}

export function securityGroupValuesOf(values: unknown, ctx: ReadContext): SecurityGroupValues {
  return validated(securityGroupValues, values, ctx);
}

// ---- one rule ----

/** A rule being read: the parts shared by its peers, and what is unknown about them. */
interface Base {
  direction: Direction;
  protocol: string;
  fromPort: number | null;
  toPort: number | null;
  description?: string;
  unknowns: string[];
}

function base(
  ctx: ReadContext,
  path: JsonPath,
  fields: {
    direction: Direction | undefined;
    directionKey?: string;
    protocol: unknown;
    protocolKey: string;
    from: unknown;
    to: unknown;
    description: unknown;
  },
): Base {
  const unknownKey = (key: string) => isUnknownAt(ctx.afterUnknown, [...path, key]);
  const unknowns: string[] = [];
  const mark = (key: string) => unknowns.push(formatJsonPath([...path, key]));
  if (fields.directionKey && unknownKey(fields.directionKey)) mark(fields.directionKey);
  const direction = fields.direction ?? "ingress";
  let proto = "unknown";
  if (unknownKey(fields.protocolKey)) mark(fields.protocolKey);
  else if (fields.protocol === null || fields.protocol === undefined) {
    throw new PlanError(ctx.source, [...ctx.where, ...path, fields.protocolKey], "no protocol");
  } else
    proto = modelCall(ctx, path, fields.protocolKey, () =>
      normaliseProtocol(fields.protocol as string),
    );
  const portsUnknown = ["from_port", "to_port"].filter(unknownKey);
  for (const key of portsUnknown) mark(key);
  const ports =
    proto === "unknown" || portsUnknown.length > 0
      ? { fromPort: null, toPort: null }
      : modelCall(ctx, path, "from_port", () => normalisePorts(proto, fields.from, fields.to));
  const description =
    typeof fields.description === "string" && fields.description !== ""
      ? fields.description
      : undefined;
  return withOptional({ direction, protocol: proto, ...ports, unknowns }, { description });
}

/** A rule-model error (a protocol out of range, ports reversed) as a PlanError at its path. */
function modelCall<T>(ctx: ReadContext, path: JsonPath, key: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (!(err instanceof RuleModelError)) throw err;
    throw new PlanError(ctx.source, [...ctx.where, ...path, key], err.message);
  }
}

/** A group id as a peer: "123456789012/sg-…" (another account's group) names its owner. */
function groupPeer(value: string): Peer {
  const slash = value.indexOf("/");
  if (slash > 0 && /^\d{12}$/.test(value.slice(0, slash))) {
    return { kind: "group", groupId: value.slice(slash + 1), userId: value.slice(0, slash) };
  }
  return { kind: "group", groupId: value };
}

type PeerKind = "cidrIpv4" | "cidrIpv6" | "prefixList" | "group";

/**
 * The peers of one rule: each list attribute's elements, each single attribute's value, `self`.
 * An element known only after apply is a peer too: a stand-in group, or an unknown CIDR or
 * prefix list (listed in `unknowns`).
 */
function peersOf(
  ctx: ReadContext,
  path: JsonPath,
  values: Record<string, unknown>,
  attributes: [key: string, kind: PeerKind, list: boolean][],
  selfGroupId: string,
  selfGroupNote: string | undefined,
): { peer: Peer; unknowns: string[]; notes: string[] }[] {
  const out: { peer: Peer; unknowns: string[]; notes: string[] }[] = [];
  const add = (kind: PeerKind, value: string | undefined, at: JsonPath) => {
    if (value !== undefined) {
      const peer: Peer =
        kind === "group"
          ? groupPeer(value)
          : kind === "prefixList"
            ? { kind, prefixListId: value }
            : { kind, cidr: value };
      out.push({ peer, unknowns: [], notes: [] });
      return;
    }
    const where = formatJsonPath(at);
    if (kind === "group") {
      out.push({
        peer: { kind: "group", groupId: KNOWN_AFTER_APPLY },
        unknowns: [],
        notes: [`${where}: the peer group's id is known only after apply`],
      });
    } else {
      const peer: Peer =
        kind === "prefixList"
          ? { kind, prefixListId: KNOWN_AFTER_APPLY }
          : { kind, cidr: KNOWN_AFTER_APPLY };
      out.push({ peer, unknowns: [where], notes: [] });
    }
  };
  for (const [key, kind, isList] of attributes) {
    const at = [...path, key];
    const value = values[key];
    if (isUnknownAt(ctx.afterUnknown, at)) {
      if (!isList || !Array.isArray(value)) {
        add(kind, undefined, at);
        continue;
      }
    }
    if (!isList) {
      if (typeof value === "string" && value !== "") add(kind, value, at);
      continue;
    }
    if (!Array.isArray(value)) continue;
    value.forEach((item, i) => {
      if (typeof item === "string" && item !== "") add(kind, item, [...at, i]);
      else if (isUnknownAt(ctx.afterUnknown, [...at, i])) add(kind, undefined, [...at, i]);
    });
  }
  if (values.self === true) {
    out.push({
      peer: { kind: "group", groupId: selfGroupId },
      unknowns: [],
      notes: selfGroupNote ? [selfGroupNote] : [],
    });
  } else if (isUnknownAt(ctx.afterUnknown, [...path, "self"])) {
    out.push({
      peer: { kind: "group", groupId: selfGroupId },
      unknowns: [formatJsonPath([...path, "self"])],
      notes: [],
    });
  }
  return out;
}

function planned(
  groupId: string,
  groupNote: string | undefined,
  b: Base,
  peers: { peer: Peer; unknowns: string[]; notes: string[] }[],
): PlannedRule[] {
  // A block without a peer puts nothing in place (EC2 adds no rule for it).
  const { unknowns, description, ...rest } = b;
  return peers.map((p) => {
    const rule: Rule = withOptional({ ...rest, peer: p.peer }, { description });
    const all = [...unknowns, ...p.unknowns];
    const notes = [...(groupNote ? [groupNote] : []), ...p.notes];
    return { groupId, rule, unknowns: all, notes: [...new Set(notes)] };
  });
}

/** The id of the group the resource's rules belong to, or its stand-in and a note saying so. */
function groupOf(
  ctx: ReadContext,
  id: string | null | undefined,
  key: string,
  own: boolean,
): { groupId: string; note?: string } {
  if (typeof id === "string" && id !== "" && !isUnknownAt(ctx.afterUnknown, [key])) {
    return { groupId: id };
  }
  const standIn = own ? ctx.address : (ctx.groupAddress ?? ctx.address);
  return {
    groupId: standIn,
    note: `${key} is known only after apply: the group is named by its Terraform address ${standIn}`,
  };
}

// ---- per resource type ----

const LIST_PEERS: [string, PeerKind, boolean][] = [
  ["cidr_blocks", "cidrIpv4", true],
  ["ipv6_cidr_blocks", "cidrIpv6", true],
  ["prefix_list_ids", "prefixList", true],
];

function inlineRules(values: SecurityGroupValues, ctx: ReadContext): PlannedRule[] {
  const group = groupOf(ctx, values.id, "id", true);
  const out: PlannedRule[] = [];
  for (const direction of ["ingress", "egress"] as const) {
    if (isUnknownAt(ctx.afterUnknown, [direction])) {
      // Not in the configuration: the provider computes it ("known after apply"), no rule is asked.
      if (ctx.configured && !ctx.configured.has(direction)) continue;
      const where = formatJsonPath([direction]);
      out.push({
        groupId: group.groupId,
        rule: {
          direction,
          protocol: "unknown",
          fromPort: null,
          toPort: null,
          peer: { kind: "cidrIpv4", cidr: KNOWN_AFTER_APPLY },
        },
        unknowns: [where],
        notes: group.note ? [group.note] : [],
      });
      continue;
    }
    (values[direction] ?? []).forEach((block: InlineBlock | null, i) => {
      if (!block) return;
      const path: JsonPath = [direction, i];
      const b = base(ctx, path, {
        direction,
        protocol: block.protocol,
        protocolKey: "protocol",
        from: block.from_port,
        to: block.to_port,
        description: block.description,
      });
      const peers = peersOf(
        ctx,
        path,
        block,
        [...LIST_PEERS, ["security_groups", "group", true]],
        group.groupId,
        group.note,
      );
      out.push(...planned(group.groupId, group.note, b, peers));
    });
  }
  return out;
}

function securityGroupRuleRules(values: unknown, ctx: ReadContext): PlannedRule[] {
  const v = validated(securityGroupRuleValues, values, ctx);
  const group = groupOf(ctx, v.security_group_id, "security_group_id", false);
  const direction = v.type ?? undefined;
  if (!direction && !isUnknownAt(ctx.afterUnknown, ["type"])) {
    throw new PlanError(ctx.source, [...ctx.where, "type"], 'no type ("ingress" or "egress")');
  }
  const b = base(ctx, [], {
    direction,
    directionKey: "type",
    protocol: v.protocol,
    protocolKey: "protocol",
    from: v.from_port,
    to: v.to_port,
    description: v.description,
  });
  // source_security_group_id is computed: unknown on create even beside cidr_blocks. It is a peer
  // only when given, or unknown with no other peer.
  const others = peersOf(ctx, [], v, LIST_PEERS, group.groupId, group.note);
  const given = typeof v.source_security_group_id === "string" && v.source_security_group_id !== "";
  const source =
    given || others.length === 0
      ? peersOf(
          ctx,
          [],
          { ...v, self: false },
          [["source_security_group_id", "group", false]],
          "",
          undefined,
        )
      : [];
  const peers = [...others, ...source];
  return planned(group.groupId, group.note, b, peers);
}

function vpcRuleRules(values: unknown, ctx: ReadContext, direction: Direction): PlannedRule[] {
  const v = validated(vpcRuleValues, values, ctx);
  const group = groupOf(ctx, v.security_group_id, "security_group_id", false);
  const b = base(ctx, [], {
    direction,
    protocol: v.ip_protocol,
    protocolKey: "ip_protocol",
    from: v.from_port,
    to: v.to_port,
    description: v.description,
  });
  const peers = peersOf(
    ctx,
    [],
    v,
    [
      ["cidr_ipv4", "cidrIpv4", false],
      ["cidr_ipv6", "cidrIpv6", false],
      ["prefix_list_id", "prefixList", false],
      ["referenced_security_group_id", "group", false],
    ],
    group.groupId,
    group.note,
  );
  return planned(group.groupId, group.note, b, peers);
}

/**
 * The rules a resource's values (`before`, or `after` with `after_unknown`) put in place. Throws
 * PlanError, at the value's path, for values the provider would not accept.
 */
export function rulesOfResource(values: unknown, ctx: ReadContext): PlannedRule[] {
  switch (ctx.type) {
    case SECURITY_GROUP:
      return inlineRules(securityGroupValuesOf(values, ctx), ctx);
    case SECURITY_GROUP_RULE:
      return securityGroupRuleRules(values, ctx);
    case VPC_INGRESS_RULE:
      return vpcRuleRules(values, ctx, "ingress");
    case VPC_EGRESS_RULE:
      return vpcRuleRules(values, ctx, "egress");
    default:
      return [];
  }
}
