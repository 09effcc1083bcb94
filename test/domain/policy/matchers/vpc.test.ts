import { describe, expect, it } from "vitest";
import { vpc } from "../../../../src/domain/policy/matchers/vpc.js";
import type { GroupFacts } from "../../../../src/domain/policy/types.js";
import { add, facts, refused, run } from "../support.js";

describe("vpc", () => {
  it.each<[unknown, GroupFacts | undefined, boolean]>([
    ["vpc-0abc", { vpcId: "vpc-0abc" }, true],
    ["vpc-0abc", { vpcId: "vpc-0def" }, false],
    ["vpc-0a*", { vpcId: "vpc-0abc" }, true],
    [["vpc-1", "vpc-0abc"], { vpcId: "vpc-0abc" }, true],
    // Unknown VPC: no match, even for "*".
    ["*", { name: "web" }, false],
    ["*", undefined, false],
  ])("%j with group %j -> %s", (config, group, expected) => {
    expect(run(vpc, config, add(), facts(group ? { group } : {}))).toBe(expected);
  });

  it.each([[""], [[]]])("refuses %j", (config) => {
    expect(refused(vpc, config)).toBe(true);
  });
});
