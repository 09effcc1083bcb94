import { describe, expect, it } from "vitest";
import type { Verification } from "../../../../src/domain/identity.js";
import { verified } from "../../../../src/domain/policy/matchers/verified.js";
import { add, facts, refused, run, UNVERIFIED, VERIFIED } from "../support.js";

describe("verified", () => {
  it.each<[boolean, Verification, boolean]>([
    [true, VERIFIED, true],
    [true, UNVERIFIED, false],
    [false, UNVERIFIED, true],
    [false, VERIFIED, false],
  ])("verified: %s for %j -> %s", (config, verification, expected) => {
    expect(run(verified, config, add(), facts({ verification }))).toBe(expected);
  });

  it.each([["true"], [1], [null]])("refuses %j", (config) => {
    expect(refused(verified, config)).toBe(true);
  });
});
