import { describe, expect, it } from "vitest";
import { protocol } from "../../../../src/domain/policy/matchers/protocol.js";
import { refused, rule, run, view } from "../support.js";

describe("protocol", () => {
  it.each<[unknown, string, boolean]>([
    ["tcp", "tcp", true],
    ["TCP", "tcp", true],
    ["6", "tcp", true],
    ["udp", "tcp", false],
    ["-1", "all", true],
    ["all", "all", true],
    // "all" is only protocol all, and a tcp matcher does not match "all".
    ["all", "tcp", false],
    ["tcp", "all", false],
    [["icmp", "icmpv6"], "icmpv6", true],
    ["50", "50", true],
  ])("%j on a %s rule -> %s", (config, ruleProtocol, expected) => {
    expect(run(protocol, config, view(rule({ protocol: ruleProtocol })))).toBe(expected);
  });

  it.each([[""], ["300"], [[]], [6]])("refuses %j", (config) => {
    expect(refused(protocol, config)).toBe(true);
  });
});
