/**
 * `groupTags`: {key: value glob}, every key present on the group with a matching value.
 * Unknown tags (no `facts.group.tags`): no match.
 */
import * as z from "zod";
import { anyGlob, type ChangeMatcher, glob } from "./matcher.js";

export const groupTags: ChangeMatcher<Record<string, string>> = {
  key: "groupTags",
  level: "change",
  schema: z
    .record(z.string().min(1, "a tag key must not be empty"), glob)
    .refine((tags) => Object.keys(tags).length > 0, "name at least one tag"),
  test: (wanted, { facts }) => {
    const tags = facts.group?.tags;
    if (!tags) return false;
    return Object.entries(wanted).every(
      ([key, pattern]) => Object.hasOwn(tags, key) && anyGlob(pattern, tags[key] as string),
    );
  },
  describe: (wanted) =>
    `tags ${Object.entries(wanted)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ")}`,
  fact: { label: "the group's tags", known: (facts) => facts.group?.tags !== undefined },
};
