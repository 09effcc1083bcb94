import { describe, expect, it } from "vitest";
import { direction } from "../../../../src/domain/policy/matchers/direction.js";
import type { RuleView } from "../../../../src/domain/policy/types.js";
import { refused, rule, run, view } from "../support.js";

describe("direction", () => {
  it.each<[unknown, RuleView, boolean]>([
    ["ingress", view(rule()), true],
    ["egress", view(rule()), false],
    ["egress", view(rule({ direction: "egress" })), true],
    // A modify whose old rule is not known: the direction is unknown, nothing matches.
    ["ingress", { rule: rule(), removed: false }, false],
    ["egress", { rule: rule(), removed: false }, false],
  ])("%j on %j -> %s", (config, subject, expected) => {
    expect(run(direction, config, subject)).toBe(expected);
  });

  it.each([["in"], [["ingress"]], [null]])("refuses %j", (config) => {
    expect(refused(direction, config)).toBe(true);
  });
});
