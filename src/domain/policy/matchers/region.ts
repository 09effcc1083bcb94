/** `region`: the change's region matches a glob ("eu-*"). */
import { anyGlob, type ChangeMatcher, glob, joined, type OneOrMany, oneOrMany } from "./matcher.js";

export const region: ChangeMatcher<OneOrMany<string>> = {
  key: "region",
  level: "change",
  schema: oneOrMany(glob, "a region or region glob"),
  test: (patterns, { change }) => anyGlob(patterns, change.region),
  describe: (patterns) => `region ${joined(patterns)}`,
};
