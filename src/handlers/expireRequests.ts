/**
 * Hub account, every 15 minutes: the work requests are owed — post what is missing, expire what
 * is past its time (reverting a live change), send again what got no result, give up after the
 * attempts (read from the sparse `byDue` index).
 */
import type { Context } from "aws-lambda";
import { type HubDeps, type JobResult, runJobs } from "../app/hub/index.js";
import { hubDeps } from "./hub-runtime.js";
import { logger } from "./logging.js";

export function createExpireHandler(getDeps: () => HubDeps | Promise<HubDeps>) {
  return async (_event?: unknown, context?: Context): Promise<JobResult> => {
    if (context) logger.addContext(context);
    return runJobs(await getDeps());
  };
}

export const handler = createExpireHandler(() => hubDeps());
