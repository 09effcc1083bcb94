import { describe, expect, it } from "vitest";
import { ports } from "../../../../src/domain/policy/matchers/ports.js";
import type { Rule } from "../../../../src/domain/rule.js";
import { refused, rule, run, view } from "../support.js";

const r = (protocol: string, fromPort: number | null, toPort: number | null): Rule =>
  rule({ protocol, fromPort, toPort });

describe("ports: the rule's range lies within", () => {
  it.each<[unknown, Rule, boolean]>([
    [443, r("tcp", 443, 443), true],
    ["443", r("tcp", 443, 443), true],
    [443, r("tcp", 80, 443), false],
    ["80-443", r("tcp", 80, 443), true],
    ["80-443", r("tcp", 100, 200), true],
    ["80-443", r("tcp", 79, 80), false],
    ["80-443", r("udp", 443, 444), false],
    [[22, "8000-8999"], r("tcp", 8080, 8090), true],
    [[22, "8000-8999"], r("tcp", 22, 8080), false],
    // protocol all opens every port.
    ["0-65535", r("all", null, null), true],
    ["1-65535", r("all", null, null), false],
    // ICMP and protocols without ports never match.
    ["0-65535", r("icmp", 8, -1), false],
    ["0-65535", r("50", null, null), false],
  ])("%j on %j -> %s", (config, subject, expected) => {
    expect(run(ports, config, view(subject))).toBe(expected);
  });

  it.each([[-1], [65536], ["443-80"], ["22,80"], [[]], ["abc"], [22.5], ["70000"]])(
    "refuses %j",
    (config) => {
      expect(refused(ports, config)).toBe(true);
    },
  );
});
