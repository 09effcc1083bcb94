/** Member account, SNS from the hub: apply an approved change and report the result. */
import { applyChange, type MemberDeps } from "../app/member.js";
import { parseApplyMessage } from "../domain/messages.js";
import { memberDeps } from "./member-runtime.js";
import { forEachMessage } from "./sns.js";

export const createApplyHandler = (getDeps: () => MemberDeps | Promise<MemberDeps>) =>
  forEachMessage(getDeps, parseApplyMessage, applyChange);

export const handler = createApplyHandler(memberDeps);
