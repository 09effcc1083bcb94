/**
 * `peer`: what the rule lets in (or out to). Every key given must hold:
 * - `cidrWithin`: the peer is a CIDR lying wholly within one of these ranges;
 * - `cidrContains`: the peer is a CIDR containing this address or range (restrictive rules
 *   only: 0.0.0.0/0 contains everything);
 * - `public`: true, the peer is a CIDR not wholly within a private range (cidr.ts's list:
 *   RFC 1918, CGNAT, link-local, loopback, RFC 4193); false, a private CIDR or a security group.
 *   A prefix list's contents are not known here: it matches neither;
 * - `prefixList`: true any prefix list, false anything else, or the prefix list ids allowed;
 * - `groupReference`: true a security group reference, false anything else;
 * - `sameVpc`: true, a security group of the same account without a VPC peering connection
 *   (CloudTrail does not tell a reference through a Transit Gateway apart from it).
 */
import * as z from "zod";
import type { Peer } from "../../rule.js";
import { type Cidr, cidrWithin, isPublicCidr, parseCidr } from "../cidr.js";
import { joined, list, type OneOrMany, oneOrMany, type RuleMatcher } from "./matcher.js";

export interface PeerConfig {
  cidrWithin?: OneOrMany<string>;
  cidrContains?: string;
  public?: boolean;
  prefixList?: boolean | OneOrMany<string>;
  groupReference?: boolean;
  sameVpc?: true;
}

const CIDR = z
  .string()
  .refine((s) => parseCidr(s) !== undefined, "not an IPv4 or IPv6 address or CIDR");

const PREFIX_LIST = z.string().regex(/^pl-[0-9a-f]+$/, "a prefix list id is pl-…");

const cidrOf = (peer: Peer): Cidr | undefined =>
  peer.kind === "cidrIpv4" || peer.kind === "cidrIpv6" ? parseCidr(peer.cidr) : undefined;

export const peer: RuleMatcher<PeerConfig> = {
  key: "peer",
  level: "rule",
  schema: z
    .strictObject({
      cidrWithin: oneOrMany(CIDR, "a CIDR").optional(),
      cidrContains: CIDR.optional(),
      public: z.boolean({ error: "expected true or false" }).optional(),
      prefixList: z
        .union([z.boolean(), oneOrMany(PREFIX_LIST, "a prefix list id")], {
          error: "expected true, false, or prefix list ids",
        })
        .optional(),
      groupReference: z.boolean({ error: "expected true or false" }).optional(),
      sameVpc: z.literal(true, { error: "sameVpc takes only true" }).optional(),
    })
    .refine((p) => Object.keys(p).length > 0, "name at least one peer matcher"),
  test: (config, view, { change }) => {
    const p = view.rule.peer;
    const cidr = cidrOf(p);
    if (config.cidrWithin !== undefined) {
      if (!cidr) return false;
      const outer = list(config.cidrWithin).map((c) => parseCidr(c) as Cidr);
      if (!outer.some((o) => cidrWithin(cidr, o))) return false;
    }
    if (config.cidrContains !== undefined) {
      const inner = parseCidr(config.cidrContains) as Cidr;
      if (!cidr || !cidrWithin(inner, cidr)) return false;
    }
    if (config.public !== undefined) {
      if (p.kind === "prefixList") return false;
      const isPublic = p.kind === "group" ? false : isPublicCidr(p.cidr);
      if (isPublic !== config.public) return false;
    }
    if (config.prefixList !== undefined) {
      const isList = p.kind === "prefixList";
      if (typeof config.prefixList === "boolean") {
        if (isList !== config.prefixList) return false;
      } else if (!isList || !list(config.prefixList).includes(p.prefixListId)) return false;
    }
    if (config.groupReference !== undefined && (p.kind === "group") !== config.groupReference) {
      return false;
    }
    if (config.sameVpc) {
      if (p.kind !== "group" || p.vpcPeeringConnectionId) return false;
      if (p.userId !== undefined && p.userId !== change.account) return false;
    }
    return true;
  },
  describe: (c) => {
    const parts: string[] = [];
    if (c.cidrWithin !== undefined) parts.push(`within ${joined(c.cidrWithin)}`);
    if (c.cidrContains !== undefined) parts.push(`containing ${c.cidrContains}`);
    if (c.public !== undefined) parts.push(c.public ? "public" : "private");
    if (c.prefixList === true) parts.push("a prefix list");
    else if (c.prefixList === false) parts.push("not a prefix list");
    else if (c.prefixList !== undefined) parts.push(`prefix list ${joined(c.prefixList)}`);
    if (c.groupReference !== undefined)
      parts.push(c.groupReference ? "a security group" : "not a security group");
    if (c.sameVpc) parts.push("a group of the same VPC");
    return `peer ${parts.join(" and ")}`;
  },
  widening: (c) =>
    c.cidrContains !== undefined
      ? "peer.cidrContains matches ranges wider than the address it names (use peer.cidrWithin)"
      : undefined,
};
