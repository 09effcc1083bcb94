import { describe, expect, it } from "vitest";
import { groupName } from "../../../../src/domain/policy/matchers/group-name.js";
import type { GroupFacts } from "../../../../src/domain/policy/types.js";
import { add, facts, refused, run } from "../support.js";

describe("groupName", () => {
  it.each<[unknown, GroupFacts | undefined, boolean]>([
    ["web", { name: "web" }, true],
    ["web", { name: "web-2" }, false],
    ["prod-*", { name: "prod-db" }, true],
    [["db-*", "prod-*"], { name: "prod-db" }, true],
    ["*", { vpcId: "vpc-1" }, false],
    ["*", undefined, false],
  ])("%j with group %j -> %s", (config, group, expected) => {
    expect(run(groupName, config, add(), facts(group ? { group } : {}))).toBe(expected);
  });

  it.each([[""], [[]]])("refuses %j", (config) => {
    expect(refused(groupName, config)).toBe(true);
  });
});
