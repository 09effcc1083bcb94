import { describe, expect, it } from "vitest";
import type { Change } from "../../../../src/domain/change.js";
import { kind } from "../../../../src/domain/policy/matchers/kind.js";
import { add, drift, modify, refused, remove, rule, run } from "../support.js";

describe("kind", () => {
  it.each<[unknown, Change, boolean]>([
    ["add", add(), true],
    ["add", remove(), false],
    ["remove", remove(), true],
    ["modify", modify(rule()), true],
    ["drift", drift(), true],
    [["add", "modify"], modify(rule()), true],
    [["add", "modify"], drift(), false],
    // A group's creation (its default egress, an add) is `create`, never `add`.
    ["create", { ...add(), eventName: "CreateSecurityGroup" }, true],
    ["add", { ...add(), eventName: "CreateSecurityGroup" }, false],
    ["create", add(), false],
    ["prefixList", add(), false],
  ])("%j on a %o -> %s", (config, change, expected) => {
    expect(run(kind, config, change)).toBe(expected);
  });

  it.each([["added"], [[]], ["Add"], ["created"]])("refuses %j", (config) => {
    expect(refused(kind, config)).toBe(true);
  });
});
