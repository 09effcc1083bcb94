import { describe, expect, it } from "vitest";
import { region } from "../../../../src/domain/policy/matchers/region.js";
import { add, refused, run } from "../support.js";

describe("region", () => {
  it.each<[unknown, string, boolean]>([
    ["us-east-1", "us-east-1", true],
    ["us-east-1", "us-east-2", false],
    ["eu-*", "eu-west-1", true],
    ["eu-*", "us-east-1", false],
    [["ap-*", "us-*"], "us-west-2", true],
  ])("%j for %s -> %s", (config, changeRegion, expected) => {
    expect(run(region, config, add(undefined, { region: changeRegion }))).toBe(expected);
  });

  it.each([[""], [[]], [1]])("refuses %j", (config) => {
    expect(refused(region, config)).toBe(true);
  });
});
