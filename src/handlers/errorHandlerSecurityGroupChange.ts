/** Hub account, SNS errorHandlerSecurityGroupChange: record an apply's result and report it. */
import { type HubDeps, recordResult } from "../app/hub.js";
import { parseResultMessage } from "../domain/messages.js";
import { hubDeps } from "./hub-runtime.js";
import { forEachMessage } from "./sns.js";

export const createResultHandler = (getDeps: () => HubDeps | Promise<HubDeps>) =>
  forEachMessage(getDeps, parseResultMessage, recordResult);

export const handler = createResultHandler(hubDeps);
