/** Hub account, the hub bus's "Security Group Change" rule: store the request and post it to Slack. */
import { type HubDeps, storeRequest } from "../app/hub/index.js";
import { parseChangeMessage } from "../domain/messages.js";
import { forBusEvent } from "./bus.js";
import { hubDeps } from "./hub-runtime.js";

export const createStoreHandler = (getDeps: () => HubDeps | Promise<HubDeps>) =>
  forBusEvent(getDeps, parseChangeMessage, storeRequest);

export const handler = createStoreHandler(() => hubDeps());
