/**
 * Hub account, every 15 minutes: expire pending requests past their time, and send again the
 * approvals whose apply never reported back.
 */
import { expireRequests, type HubDeps, resendStuckApprovals } from "../app/hub.js";
import { hubDeps } from "./hub-runtime.js";

export function createExpireHandler(getDeps: () => HubDeps | Promise<HubDeps>) {
  return async (): Promise<{ expired: string[]; resent: string[] }> => {
    const deps = await getDeps();
    return { expired: await expireRequests(deps), resent: await resendStuckApprovals(deps) };
  };
}

export const handler = createExpireHandler(hubDeps);
