/** `account`: the change's account is one of these (12-digit ids). */
import * as z from "zod";
import { type ChangeMatcher, joined, list, type OneOrMany, oneOrMany } from "./matcher.js";

const ACCOUNT = z.string().regex(/^\d{12}$/, "an AWS account id is 12 digits");

export const account: ChangeMatcher<OneOrMany<string>> = {
  key: "account",
  level: "change",
  schema: oneOrMany(ACCOUNT, "a 12-digit account id"),
  test: (ids, { change }) => list(ids).includes(change.account),
  describe: (ids) => `account ${joined(ids)}`,
};
