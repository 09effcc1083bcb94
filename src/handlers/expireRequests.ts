/**
 * Hub account, every 15 minutes: expire pending requests past their time, and send again the
 * approvals whose apply never reported back.
 */
import type { Context } from "aws-lambda";
import { expireRequests, type HubDeps, resendStuckApprovals } from "../app/hub.js";
import { hubDeps } from "./hub-runtime.js";
import { logger } from "./logging.js";

export function createExpireHandler(getDeps: () => HubDeps | Promise<HubDeps>) {
  return async (
    _event?: unknown,
    context?: Context,
  ): Promise<{ expired: string[]; resent: string[] }> => {
    if (context) logger.addContext(context);
    const deps = await getDeps();
    return { expired: await expireRequests(deps), resent: await resendStuckApprovals(deps) };
  };
}

export const handler = createExpireHandler(hubDeps);
