/** `groupId`: the changed group's id matches a glob. A group not known yet (empty id): no match. */
import { anyGlob, type ChangeMatcher, glob, joined, type OneOrMany, oneOrMany } from "./matcher.js";

export const groupId: ChangeMatcher<OneOrMany<string>> = {
  key: "groupId",
  level: "change",
  schema: oneOrMany(glob, "a security group id (glob)"),
  test: (patterns, { change }) => change.groupId !== "" && anyGlob(patterns, change.groupId),
  describe: (patterns) => `group ${joined(patterns)}`,
};
