import type { SlackMessageRef } from "../domain/request.js";
import type { SlackMessage } from "../domain/slack/index.js";

export interface SlackUser {
  id: string;
  name?: string;
  email?: string;
}

/** Slack's Web API as the system uses it. Failures throw NotifierError. */
export interface Notifier {
  post(channel: string, message: SlackMessage): Promise<SlackMessageRef>;
  update(ref: SlackMessageRef, message: SlackMessage): Promise<void>;
  postEphemeral(channel: string, user: string, text: string): Promise<void>;
  userInfo(userId: string): Promise<SlackUser>;
  /** Members of a user group (usergroups.users.list). */
  userGroupMembers(groupId: string): Promise<string[]>;
}
