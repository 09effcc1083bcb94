/**
 * `risk`: the change's risk level, as Slack flags it (slack/risk.ts: the worst of the rules it
 * puts in place; a removal is "none"). `{atLeast: "high"}`, `{exactly: "medium"}` or
 * `{atMost: "medium"}`; levels none < medium < high < critical.
 */
import * as z from "zod";
import { RISK_ORDER, type RiskLevel } from "../../slack/risk.js";
import type { ChangeMatcher } from "./matcher.js";

const LEVEL = z.enum(["none", "medium", "high", "critical"], {
  error: 'expected "none", "medium", "high" or "critical"',
});

export interface RiskConfig {
  atLeast?: RiskLevel;
  exactly?: RiskLevel;
  atMost?: RiskLevel;
}

export const risk: ChangeMatcher<RiskConfig> = {
  key: "risk",
  level: "change",
  schema: z
    .strictObject({
      atLeast: LEVEL.optional(),
      exactly: LEVEL.optional(),
      atMost: LEVEL.optional(),
    })
    .refine((r) => Object.keys(r).length === 1, "give exactly one of atLeast, exactly, atMost"),
  test: (config, ctx) => {
    const level = RISK_ORDER[ctx.risk()];
    if (config.atLeast !== undefined && level < RISK_ORDER[config.atLeast]) return false;
    if (config.atMost !== undefined && level > RISK_ORDER[config.atMost]) return false;
    if (config.exactly !== undefined && level !== RISK_ORDER[config.exactly]) return false;
    return true;
  },
  describe: (c) =>
    c.atLeast
      ? `risk ${c.atLeast} or worse`
      : c.atMost
        ? `risk ${c.atMost} or lower`
        : `risk ${c.exactly}`,
};
