/**
 * Member account, SNS from the hub: apply an approved change, or revert a denied one that was
 * still live, and report the result.
 */
import { handleHubMessage, type MemberDeps } from "../app/member.js";
import { parseMemberMessage } from "../domain/messages.js";
import { memberDeps } from "./member-runtime.js";
import { forEachMessage } from "./sns.js";

export const createApplyHandler = (getDeps: () => MemberDeps | Promise<MemberDeps>) =>
  forEachMessage(getDeps, parseMemberMessage, handleHubMessage);

export const handler = createApplyHandler(memberDeps);
