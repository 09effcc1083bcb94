/**
 * Who may decide a request: a configured approver who is not the person who made the change.
 */
import type { Requester } from "./requester.js";

export interface ApproverPolicy {
  userIds: readonly string[];
  /** Members of the configured Slack user group, when one is configured. */
  groupMembers?: readonly string[];
}

export function isApprover(userId: string, policy: ApproverPolicy): boolean {
  return policy.userIds.includes(userId) || (policy.groupMembers ?? []).includes(userId);
}

const norm = (s: string) => s.trim().toLowerCase();
/** "bob@example.com" answers to itself and to "bob". */
const aliases = (s: string) => (s.includes("@") ? [s, s.slice(0, s.indexOf("@"))] : [s]);

/**
 * True when the Slack user is the AWS requester: the IAM user name or the role session name
 * (SSO sessions are named by the person's email) equals the Slack email, its local part, or the
 * Slack user name. Errs towards "self": a false match only asks another approver.
 */
export function isSelf(requester: Requester, slack: { email?: string; name?: string }): boolean {
  const aws = new Set(aliases(norm(requester.name)).filter(Boolean));
  const theirs = [
    ...(slack.email ? aliases(norm(slack.email)) : []),
    ...(slack.name ? [norm(slack.name)] : []),
  ];
  return theirs.some((n) => n !== "" && aws.has(n));
}
