/**
 * `ports`: the rule's port range lies within one of these ranges. Protocol "all" opens every
 * port (0-65535); ICMP and protocols without ports never match.
 */
import type { OneOrMany, RuleMatcher } from "./matcher.js";
import { describeSpecs, type PortSpec, portsSchema, rulePortSpan, spans } from "./port-range.js";

export const ports: RuleMatcher<OneOrMany<PortSpec>> = {
  key: "ports",
  level: "rule",
  schema: portsSchema,
  test: (specs, view) => {
    const span = rulePortSpan(view.rule);
    return span !== undefined && spans(specs).some((s) => s.from <= span.from && span.to <= s.to);
  },
  describe: (specs) => `ports within ${describeSpecs(specs)}`,
};
