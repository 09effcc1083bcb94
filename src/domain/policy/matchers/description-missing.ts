/**
 * `descriptionMissing`: true matches a rule the change puts in place without a description
 * (blank counts as none); false, one with a description. A rule the change removes is judged by
 * neither: true never matches it, false always does (its description is not being set).
 */
import * as z from "zod";
import type { RuleMatcher } from "./matcher.js";

export const descriptionMissing: RuleMatcher<boolean> = {
  key: "descriptionMissing",
  level: "rule",
  schema: z.boolean({ error: "expected true or false" }),
  test: (missing, view) => (view.removed ? !missing : !view.rule.description?.trim() === missing),
  describe: (missing) => (missing ? "no description" : "with a description"),
};
