/** `verified`: whether the requester is a verified person (identity.ts's Verification). */
import * as z from "zod";
import type { ChangeMatcher } from "./matcher.js";

export const verified: ChangeMatcher<boolean> = {
  key: "verified",
  level: "change",
  schema: z.boolean({ error: "expected true or false" }),
  test: (wanted, { facts }) => facts.verification.verified === wanted,
  describe: (wanted) => (wanted ? "verified requester" : "unverified requester"),
};
