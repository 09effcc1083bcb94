/** `vpc`: the group's VPC id matches a glob. Unknown VPC (no `facts.group.vpcId`): no match. */
import { anyGlob, type ChangeMatcher, glob, joined, type OneOrMany, oneOrMany } from "./matcher.js";

export const vpc: ChangeMatcher<OneOrMany<string>> = {
  key: "vpc",
  level: "change",
  schema: oneOrMany(glob, "a VPC id (glob)"),
  test: (patterns, { facts }) => {
    const id = facts.group?.vpcId;
    return id !== undefined && anyGlob(patterns, id);
  },
  describe: (patterns) => `VPC ${joined(patterns)}`,
  fact: { label: "the group's VPC", known: (facts) => facts.group?.vpcId !== undefined },
};
