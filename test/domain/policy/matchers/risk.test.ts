import { describe, expect, it } from "vitest";
import type { Change } from "../../../../src/domain/change.js";
import { risk } from "../../../../src/domain/policy/matchers/risk.js";
import { add, refused, remove, run, tcp, v4, v6 } from "../support.js";

// critical: SSH from the world; high: HTTPS from the world; medium: SSH from a range; none.
const critical = add([tcp(22, 22, v4("0.0.0.0/0"))]);
const high = add([tcp(443, 443, v6("::/0"))]);
const medium = add([tcp(22, 22, v4("10.0.0.0/8"))]);
const none = add([tcp(443, 443, v4("10.0.0.0/8"))]);
const mixed = add([tcp(443, 443, v4("10.0.0.0/8")), tcp(3306, 3306, v4("0.0.0.0/0"))]);

describe("risk: the change's worst level", () => {
  it.each<[unknown, Change, boolean]>([
    [{ atLeast: "critical" }, critical, true],
    [{ atLeast: "critical" }, high, false],
    [{ atLeast: "high" }, high, true],
    [{ atLeast: "high" }, medium, false],
    [{ atLeast: "none" }, none, true],
    [{ exactly: "medium" }, medium, true],
    [{ exactly: "medium" }, critical, false],
    [{ atMost: "high" }, high, true],
    [{ atMost: "high" }, critical, false],
    [{ atMost: "none" }, none, true],
    // The worst rule counts.
    [{ atLeast: "critical" }, mixed, true],
    [{ atMost: "medium" }, mixed, false],
    // A removal opens nothing: risk none.
    [{ exactly: "none" }, remove([tcp(22, 22, v4("0.0.0.0/0"))]), true],
  ])("%j -> %s", (config, change, expected) => {
    expect(run(risk, config, change)).toBe(expected);
  });

  it.each([
    [{}],
    [{ atLeast: "severe" }],
    [{ atLeast: "high", atMost: "critical" }],
    ["high"],
    [{ min: "high" }],
  ])("refuses %j", (config) => {
    expect(refused(risk, config)).toBe(true);
  });
});
