/**
 * Hub account, the hub bus's "Security Group Change Result" rule: record a member's result (an
 * apply's, or a follow-up revert's) and report it.
 */
import { type HubDeps, recordResult } from "../app/hub/index.js";
import { parseResultMessage } from "../domain/messages.js";
import { forBusEvent } from "./bus.js";
import { hubDeps } from "./hub-runtime.js";

export const createResultHandler = (getDeps: () => HubDeps | Promise<HubDeps>) =>
  forBusEvent(getDeps, parseResultMessage, recordResult);

export const handler = createResultHandler(() => hubDeps());
