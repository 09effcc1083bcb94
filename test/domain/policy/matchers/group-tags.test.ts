import { describe, expect, it } from "vitest";
import { groupTags } from "../../../../src/domain/policy/matchers/group-tags.js";
import type { GroupFacts } from "../../../../src/domain/policy/types.js";
import { add, facts, refused, run } from "../support.js";

describe("groupTags", () => {
  it.each<[unknown, GroupFacts | undefined, boolean]>([
    [{ env: "production" }, { tags: { env: "production", team: "a" } }, true],
    [{ env: "production" }, { tags: { env: "staging" } }, false],
    [{ env: "prod*" }, { tags: { env: "production" } }, true],
    [{ env: "production", team: "pay*" }, { tags: { env: "production", team: "payments" } }, true],
    [{ env: "production", team: "pay*" }, { tags: { env: "production" } }, false],
    [{ env: "*" }, { tags: {} }, false],
    // Unknown tags: no match.
    [{ env: "*" }, { name: "web" }, false],
    [{ env: "*" }, undefined, false],
    // An own property only.
    [{ constructor: "*" }, { tags: {} }, false],
  ])("%j with group %j -> %s", (config, group, expected) => {
    expect(run(groupTags, config, add(), facts(group ? { group } : {}))).toBe(expected);
  });

  it.each([[{}], [{ env: "" }], [{ "": "x" }], [["env"]], ["env=production"]])(
    "refuses %j",
    (config) => {
      expect(refused(groupTags, config)).toBe(true);
    },
  );
});
