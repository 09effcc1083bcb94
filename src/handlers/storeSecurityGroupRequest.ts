/** Hub account, SNS securityGroupChange: store the request and post it to Slack. */
import { type HubDeps, storeRequest } from "../app/hub.js";
import { parseChangeMessage } from "../domain/messages.js";
import { hubDeps } from "./hub-runtime.js";
import { forEachMessage } from "./sns.js";

export const createStoreHandler = (getDeps: () => HubDeps | Promise<HubDeps>) =>
  forEachMessage(getDeps, parseChangeMessage, storeRequest);

export const handler = createStoreHandler(hubDeps);
