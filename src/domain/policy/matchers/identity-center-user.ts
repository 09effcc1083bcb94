/**
 * `identityCenterUser`: a verified IAM Identity Center session whose user name (usually an email)
 * matches a glob, case-insensitively. A session name the caller chose never matches: only what
 * identity.ts proved (`via: "identity-center"`).
 */
import { anyGlob, type ChangeMatcher, glob, joined, type OneOrMany, oneOrMany } from "./matcher.js";

export const identityCenterUser: ChangeMatcher<OneOrMany<string>> = {
  key: "identityCenterUser",
  level: "change",
  schema: oneOrMany(glob, "an Identity Center user name glob"),
  test: (patterns, { facts }) => {
    const v = facts.verification;
    return v.verified && v.via === "identity-center" && anyGlob(patterns, v.identity, true);
  },
  describe: (patterns) => `Identity Center user ${joined(patterns)}`,
};
