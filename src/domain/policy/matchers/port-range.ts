/**
 * Port ranges as `ports` and `portsOverlap` take them: 22, "22", "8000-8999", or a list of these;
 * and the span of ports a rule opens.
 */
import * as z from "zod";
import { hasPorts, type RuleBody } from "../../rule.js";
import { list, type OneOrMany } from "./matcher.js";

export type PortSpec = number | string;

export interface PortSpan {
  from: number;
  to: number;
}

export function parsePortSpec(spec: PortSpec): PortSpan | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(String(spec).trim());
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  return from <= to && to <= 65535 ? { from, to } : undefined;
}

const one = z.union([z.number(), z.string()]).refine((s) => parsePortSpec(s) !== undefined, {
  error: 'expected a port 0-65535 or a range "from-to" (from <= to)',
});

export const portsSchema = z.union([one, z.array(one).min(1)], {
  error: 'expected a port, a range "from-to", or a non-empty list of them',
});

export const spans = (specs: OneOrMany<PortSpec>): PortSpan[] =>
  list(specs).map((s) => parsePortSpec(s) as PortSpan);

/**
 * The ports a rule opens: tcp/udp its range, protocol "all" every port; undefined for ICMP and
 * other protocols, which have no ports.
 */
export function rulePortSpan(rule: Pick<RuleBody, "protocol" | "fromPort" | "toPort">) {
  if (rule.protocol === "all") return { from: 0, to: 65535 };
  if (hasPorts(rule.protocol) && rule.fromPort !== null && rule.toPort !== null) {
    return { from: rule.fromPort, to: rule.toPort };
  }
  return undefined;
}

export const describeSpecs = (specs: OneOrMany<PortSpec>) =>
  spans(specs)
    .map((s) => (s.from === s.to ? String(s.from) : `${s.from}-${s.to}`))
    .join(", ");
