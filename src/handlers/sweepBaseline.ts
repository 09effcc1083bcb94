/**
 * Member account, on a schedule and once at deploy: sweep every group's rules into the
 * baseline, and publish any change the hub has not received yet.
 */
import type { Context } from "aws-lambda";
import { type MemberDeps, type SweepResult, sweepBaselines } from "../app/member.js";
import { logger } from "./logging.js";
import { memberDeps } from "./member-runtime.js";

export function createSweepHandler(getDeps: () => MemberDeps | Promise<MemberDeps>) {
  return async (event?: { groupIds?: string[] }, context?: Context): Promise<SweepResult> => {
    if (context) logger.addContext(context);
    const deps = await getDeps();
    const result = await sweepBaselines(deps, event?.groupIds);
    deps.log.info("baseline swept", { ...result });
    return result;
  };
}

export const handler = createSweepHandler(memberDeps);
