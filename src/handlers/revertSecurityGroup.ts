/** Member account, EventBridge (CloudTrail): revert a governed change and file it with the hub. */
import type { Context } from "aws-lambda";
import { type MemberDeps, type RevertOutcome, revertChange } from "../app/member/index.js";
import { logger } from "./logging.js";
import { memberDeps } from "./member-runtime.js";

export function createRevertHandler(getDeps: () => MemberDeps | Promise<MemberDeps>) {
  return async (event: unknown, context?: Context): Promise<RevertOutcome["status"]> => {
    if (context) logger.addContext(context);
    const deps = await getDeps();
    const outcome = await revertChange(deps, event);
    const { status } = outcome;
    if (status === "reverted" || status === "revert_failed") {
      const { change, revertMs, revertError } = outcome.message;
      deps.log[revertError ? "error" : "info"](status, {
        eventId: change.eventId,
        groupId: change.groupId,
        revertMs,
        calls: outcome.calls,
        revertError,
      });
    } else {
      deps.log.info(status, { ...outcome });
    }
    return status;
  };
}

export const handler = createRevertHandler(memberDeps);
