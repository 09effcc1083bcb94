/** Hub account, SNS denySecurityGroupChange: report a denial in both Slack channels. */
import { type HubDeps, reportDenied } from "../app/hub/index.js";
import { parseDenyMessage } from "../domain/messages.js";
import { hubDeps } from "./hub-runtime.js";
import { forEachMessage } from "./sns.js";

export const createDenyHandler = (getDeps: () => HubDeps | Promise<HubDeps>) =>
  forEachMessage(getDeps, parseDenyMessage, reportDenied);

export const handler = createDenyHandler(() => hubDeps());
