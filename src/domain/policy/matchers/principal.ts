/** `principal`: the requester's ARN, or for a role session its role's ARN, matches a glob. */
import { matchingArnPattern } from "../../requester.js";
import { type ChangeMatcher, glob, joined, list, type OneOrMany, oneOrMany } from "./matcher.js";

export const principal: ChangeMatcher<OneOrMany<string>> = {
  key: "principal",
  level: "change",
  schema: oneOrMany(glob, "an ARN glob"),
  test: (patterns, { change }) =>
    matchingArnPattern(change.requester, list(patterns)) !== undefined,
  describe: (patterns) => `principal ${joined(patterns)}`,
};
