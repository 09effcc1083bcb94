import { describe, expect, it } from "vitest";
import { groupId } from "../../../../src/domain/policy/matchers/group-id.js";
import { add, refused, run } from "../support.js";

describe("groupId", () => {
  it.each<[unknown, string, boolean]>([
    ["sg-0123456789abcdef0", "sg-0123456789abcdef0", true],
    ["sg-0123456789abcdef0", "sg-0aaaaaaaaaaaaaaaa", false],
    ["sg-0123*", "sg-0123456789abcdef0", true],
    [["sg-1", "sg-2"], "sg-2", true],
    // A group named only by name, not looked up yet: no match.
    ["*", "", false],
  ])("%j for %j -> %s", (config, id, expected) => {
    expect(run(groupId, config, add(undefined, { groupId: id }))).toBe(expected);
  });

  it.each([[""], [[]], [{}]])("refuses %j", (config) => {
    expect(refused(groupId, config)).toBe(true);
  });
});
