/**
 * `portsOverlap`: the rule opens at least one port of these ranges (protocol "all" opens them
 * all). For restrictive rules ("SSH from the internet" catches 0-65535 too); refused in
 * permissive ones, where it would let through rules wider than the ranges it names.
 */
import type { OneOrMany, RuleMatcher } from "./matcher.js";
import { describeSpecs, type PortSpec, portsSchema, rulePortSpan, spans } from "./port-range.js";

export const portsOverlap: RuleMatcher<OneOrMany<PortSpec>> = {
  key: "portsOverlap",
  level: "rule",
  schema: portsSchema,
  test: (specs, view) => {
    const span = rulePortSpan(view.rule);
    return span !== undefined && spans(specs).some((s) => s.from <= span.to && span.from <= s.to);
  },
  describe: (specs) => `ports overlapping ${describeSpecs(specs)}`,
  widening: () => "portsOverlap matches rules wider than its ranges (use ports)",
};
