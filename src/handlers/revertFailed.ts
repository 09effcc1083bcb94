/**
 * Member account, the revert function's on-failure destination: a change whose revert failed past
 * Lambda's retries becomes a request marked not reverted (see src/app/member/revert-failed.ts).
 */
import type { Context } from "aws-lambda";
import { fileFailedRevert, type InvocationRecord, type MemberDeps } from "../app/member/index.js";
import { logger } from "./logging.js";
import { memberDeps } from "./member-runtime.js";

export function createRevertFailedHandler(getDeps: () => MemberDeps | Promise<MemberDeps>) {
  return async (record: InvocationRecord, context?: Context) => {
    if (context) logger.addContext(context);
    const deps = await getDeps();
    const result = await fileFailedRevert(deps, record);
    deps.log[result.filed ? "error" : "warn"]("a revert failed past its retries", { ...result });
    return result;
  };
}

export const handler = createRevertFailedHandler(memberDeps);
