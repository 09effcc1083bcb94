/** `groupName`: the group's name matches a glob. Unknown name (no `facts.group.name`): no match. */
import { anyGlob, type ChangeMatcher, glob, joined, type OneOrMany, oneOrMany } from "./matcher.js";

export const groupName: ChangeMatcher<OneOrMany<string>> = {
  key: "groupName",
  level: "change",
  schema: oneOrMany(glob, "a group name glob"),
  test: (patterns, { facts }) => {
    const name = facts.group?.name;
    return name !== undefined && anyGlob(patterns, name);
  },
  describe: (patterns) => `group name ${joined(patterns)}`,
  fact: { label: "the group's name", known: (facts) => facts.group?.name !== undefined },
};
