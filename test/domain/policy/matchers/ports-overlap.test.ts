import { describe, expect, it } from "vitest";
import { portsOverlap } from "../../../../src/domain/policy/matchers/ports-overlap.js";
import type { Rule } from "../../../../src/domain/rule.js";
import { refused, rule, run, view } from "../support.js";

const r = (protocol: string, fromPort: number | null, toPort: number | null): Rule =>
  rule({ protocol, fromPort, toPort });

describe("portsOverlap: the rule opens at least one of the ports", () => {
  it.each<[unknown, Rule, boolean]>([
    [22, r("tcp", 22, 22), true],
    [22, r("tcp", 0, 65535), true],
    [22, r("tcp", 23, 80), false],
    [[22, 3389], r("tcp", 3000, 4000), true],
    ["20-22", r("udp", 22, 22), true],
    ["20-22", r("tcp", 10, 19), false],
    [22, r("all", null, null), true],
    [22, r("icmp", -1, -1), false],
    [22, r("47", null, null), false],
  ])("%j on %j -> %s", (config, subject, expected) => {
    expect(run(portsOverlap, config, view(subject))).toBe(expected);
  });

  it("is widening: refused in permissive rules", () => {
    expect(portsOverlap.widening?.(22)).toMatch(/wider/);
  });

  it.each([[-1], ["9-1"], [[]]])("refuses %j", (config) => {
    expect(refused(portsOverlap, config)).toBe(true);
  });
});
