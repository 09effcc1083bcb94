/**
 * `protocol`: the rule's protocol is one of these: "tcp", "udp", "icmp", "icmpv6", "all" (-1), or
 * an IANA number ("50"). Numbers and names are the same protocol ("6" is "tcp"). "all" matches
 * only a rule of protocol all, not a tcp rule.
 */
import * as z from "zod";
import { normaliseProtocol } from "../../rule.js";
import { joined, list, type OneOrMany, oneOrMany, type RuleMatcher } from "./matcher.js";

const valid = (p: string) => {
  try {
    normaliseProtocol(p);
    return true;
  } catch {
    return false;
  }
};

const PROTOCOL = z.string().refine(valid, "not a protocol: tcp, udp, icmp, icmpv6, all or 0-255");

export const protocol: RuleMatcher<OneOrMany<string>> = {
  key: "protocol",
  level: "rule",
  schema: oneOrMany(PROTOCOL, "a protocol"),
  test: (wanted, view) => list(wanted).some((p) => normaliseProtocol(p) === view.rule.protocol),
  describe: (wanted) => `protocol ${joined(wanted)}`,
};
