/** `kind`: the change is an add, a remove, a modify (in place), or a drift (no event). */
import { z } from "zod";
import { type ChangeMatcher, joined, list, type OneOrMany, oneOrMany } from "./matcher.js";

type Kind = "add" | "remove" | "modify" | "drift";

export const kind: ChangeMatcher<OneOrMany<Kind>> = {
  key: "kind",
  level: "change",
  schema: oneOrMany(
    z.enum(["add", "remove", "modify", "drift"], {
      error: 'expected "add", "remove", "modify" or "drift"',
    }),
    "a change kind",
  ),
  test: (kinds, { change }) => list(kinds).includes(change.kind),
  describe: (kinds) => `kind ${joined(kinds)}`,
};
