/** `direction`: the rule is ingress, or egress. A rule whose direction is not known: no match. */
import * as z from "zod";
import type { Direction } from "../../rule.js";
import type { RuleMatcher } from "./matcher.js";

export const direction: RuleMatcher<Direction> = {
  key: "direction",
  level: "rule",
  schema: z.enum(["ingress", "egress"], { error: 'expected "ingress" or "egress"' }),
  test: (wanted, view) => view.direction === wanted,
  describe: (wanted) => wanted,
};
