/**
 * Member account, SNS applySecurityGroupChange from the hub: apply an approved change, or revert
 * a denied or expired one that was still live, and report the result. Only messages from the
 * member's own apply topic are taken, and only for changes this member recorded itself.
 */
import { handleHubMessage, type MemberDeps } from "../app/member/index.js";
import { parseMemberMessage } from "../domain/messages.js";
import { memberConfig, memberDeps } from "./member-runtime.js";
import { forEachMessage } from "./sns.js";

export const createApplyHandler = (
  getDeps: () => MemberDeps | Promise<MemberDeps>,
  topicArn?: () => string | undefined,
) => forEachMessage(getDeps, parseMemberMessage, handleHubMessage, topicArn);

export const handler = createApplyHandler(memberDeps, () => memberConfig().APPLY_TOPIC_ARN);
