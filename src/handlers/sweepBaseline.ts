/**
 * Member account, every 15 minutes and once at deploy: the drift check (see
 * src/app/member/sweep.ts), and any change the hub has not received yet.
 */
import type { Context } from "aws-lambda";
import { type MemberDeps, type SweepResult, sweepBaselines } from "../app/member/index.js";
import { logger } from "./logging.js";
import { memberDeps } from "./member-runtime.js";

export function createSweepHandler(getDeps: () => MemberDeps | Promise<MemberDeps>) {
  return async (_event?: unknown, context?: Context): Promise<SweepResult> => {
    if (context) logger.addContext(context);
    const deps = await getDeps();
    const result = await sweepBaselines(deps);
    deps.log.info("baseline swept", { ...result });
    return result;
  };
}

export const handler = createSweepHandler(memberDeps);
