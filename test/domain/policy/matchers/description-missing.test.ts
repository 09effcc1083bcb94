import { describe, expect, it } from "vitest";
import { descriptionMissing } from "../../../../src/domain/policy/matchers/description-missing.js";
import type { RuleView } from "../../../../src/domain/policy/types.js";
import { refused, rule, run, view } from "../support.js";

const bare = rule({ description: undefined });

describe("descriptionMissing", () => {
  it.each<[boolean, RuleView, boolean]>([
    [true, view(bare), true],
    [true, view(rule({ description: "" })), true],
    [true, view(rule({ description: " \t " })), true],
    [true, view(rule()), false],
    [false, view(rule()), true],
    [false, view(bare), false],
    // A rule taken away is not being described: true never matches it, false always does.
    [true, view(bare, { removed: true }), false],
    [false, view(bare, { removed: true }), true],
  ])("%s on %j -> %s", (config, subject, expected) => {
    expect(run(descriptionMissing, config, subject)).toBe(expected);
  });

  it.each([["yes"], [1]])("refuses %j", (config) => {
    expect(refused(descriptionMissing, config)).toBe(true);
  });
});
