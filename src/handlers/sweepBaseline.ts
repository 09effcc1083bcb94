/**
 * Member account, on a schedule and once at deploy: sweep every group's rules into the
 * baseline, and publish any change the hub has not received yet.
 */
import { type MemberDeps, type SweepResult, sweepBaselines } from "../app/member.js";
import { memberDeps } from "./member-runtime.js";

export function createSweepHandler(getDeps: () => MemberDeps | Promise<MemberDeps>) {
  return async (event?: { groupIds?: string[] }): Promise<SweepResult> => {
    const deps = await getDeps();
    const result = await sweepBaselines(deps, event?.groupIds);
    deps.log.info("baseline swept", { ...result });
    return result;
  };
}

export const handler = createSweepHandler(memberDeps);
