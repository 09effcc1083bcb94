import type { SlackMessageRef } from "../domain/request.js";
import type { SlackMessage } from "../domain/slack/index.js";

export interface SlackUser {
  id: string;
  name?: string;
  email?: string;
}

/** What a posted message carries so that a retry can find it again (Slack message metadata). */
export interface PostTag {
  requestId: string;
  kind: "approval" | "monitoring";
}

/** Slack's Web API as the system uses it. Failures throw NotifierError. */
export interface Notifier {
  post(channel: string, message: SlackMessage, tag: PostTag): Promise<SlackMessageRef>;
  /**
   * A message this app posted in `channel` since `oldest` (epoch seconds) with this tag, as a
   * retry looks for the post an earlier attempt made before it could record it.
   */
  findPosted(channel: string, tag: PostTag, oldest: number): Promise<SlackMessageRef | undefined>;
  update(ref: SlackMessageRef, message: SlackMessage): Promise<void>;
  postEphemeral(channel: string, user: string, text: string): Promise<void>;
  userInfo(userId: string): Promise<SlackUser>;
  /** Members of a user group (usergroups.users.list). */
  userGroupMembers(groupId: string): Promise<string[]>;
}
