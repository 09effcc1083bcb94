/**
 * Who a requester is, as far as it can be proven: a requester is matched to a Slack user only by
 * verified identity, never by a name the caller could choose.
 *
 * Verified:
 * - `people`: an IAM user or role ARN (globs) the config maps to a Slack user. A role should only
 *   be listed when one person uses it: anyone who can assume it speaks as that person.
 * - `identity-center`: an IAM Identity Center session. Its role lives under the path AWS reserves
 *   for Identity Center (`/aws-reserved/sso.amazonaws.com/`), which no account can create roles
 *   in, and Identity Center itself sets the session name to the user's name, usually an email.
 * - `source-identity`: a role whose trust policy requires `sts:SourceIdentity` (configured as
 *   `sourceIdentityRoles`): the source identity was set by whoever first assumed a role and
 *   cannot be changed along the chain.
 *
 * Everything else (an assumed role whose session name the caller chose, an unmapped IAM user,
 * root, an AWS service, no event at all) is unverified: nobody can tell whether an approver is
 * its author, so it needs two different approvers.
 */
import { arnGlobMatches, type Requester } from "./requester.js";

export interface PersonMapping {
  /** The person's Slack member id (U…/W…). */
  slackUserId: string;
  /** IAM user or role ARNs (globs) that only this person uses. */
  principals?: readonly string[];
  /** Identity Center user names (session names) of this person, when they are not an email. */
  identityCenterUsers?: readonly string[];
}

export interface PeopleConfig {
  people: readonly PersonMapping[];
  /** Role ARN globs whose trust policy requires sts:SourceIdentity. */
  sourceIdentityRoles: readonly string[];
}

export const NO_PEOPLE: PeopleConfig = { people: [], sourceIdentityRoles: [] };

export type Verification =
  | {
      verified: true;
      via: "people" | "identity-center" | "source-identity";
      /** What was proven: the mapped ARN, the Identity Center user name, the source identity. */
      identity: string;
      /** The Slack user this requester is, when the config says so. */
      slackUserId?: string;
      /** The requester's email, when the proven identity is one: compared with Slack's. */
      email?: string;
    }
  | { verified: false; reason: string };

/** The path of every IAM Identity Center role: no customer can create a role under it. */
const IDENTITY_CENTER_ROLE =
  /^arn:aws[a-z-]*:iam::\d{12}:role\/aws-reserved\/sso\.amazonaws\.com\//;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const lower = (s: string) => s.trim().toLowerCase();

/** The ARNs a person mapping may name: an IAM user, or the role (never a session name). */
function mappableArns(r: Requester): string[] {
  if (r.type === "IAMUser") return [r.arn];
  if (r.type === "AssumedRole" && r.roleArn) return [r.roleArn];
  return [];
}

function personFor(
  config: PeopleConfig,
  match: (p: PersonMapping) => boolean,
): PersonMapping | undefined {
  return config.people.find(match);
}

function proven(
  via: "people" | "identity-center" | "source-identity",
  identity: string,
  config: PeopleConfig,
): Verification {
  const person = personFor(
    config,
    (p) => p.identityCenterUsers?.some((u) => lower(u) === lower(identity)) ?? false,
  );
  return {
    verified: true,
    via,
    identity,
    ...(person ? { slackUserId: person.slackUserId } : {}),
    ...(EMAIL.test(identity) ? { email: lower(identity) } : {}),
  };
}

export function verifyRequester(r: Requester, config: PeopleConfig): Verification {
  const arns = mappableArns(r);
  const mapped = personFor(config, (p) =>
    (p.principals ?? []).some((glob) => arns.some((arn) => arnGlobMatches(glob, arn))),
  );
  if (mapped) {
    return {
      verified: true,
      via: "people",
      identity: arns[0] ?? r.arn,
      slackUserId: mapped.slackUserId,
    };
  }
  if (r.type === "AssumedRole" && r.roleArn) {
    if (IDENTITY_CENTER_ROLE.test(r.roleArn) && r.name !== "") {
      return proven("identity-center", r.name, config);
    }
    if (
      r.sourceIdentity &&
      config.sourceIdentityRoles.some((glob) => arnGlobMatches(glob, r.roleArn as string))
    ) {
      return proven("source-identity", r.sourceIdentity, config);
    }
    return {
      verified: false,
      reason: `an assumed role (${r.roleName ?? r.roleArn}) whose session name "${r.name}" the caller chose`,
    };
  }
  switch (r.type) {
    case "IAMUser":
      return { verified: false, reason: `IAM user ${r.name} is not mapped to a Slack user` };
    case "Root":
      return { verified: false, reason: "the account's root user" };
    case "AWSService":
      return { verified: false, reason: `an AWS service (${r.name})` };
    default:
      return { verified: false, reason: `a ${r.type} identity nobody can be matched to` };
  }
}

/** Approvals a requester needs at least: two different approvers when it is unverified. */
export function minimumApprovals(v: Verification): number {
  return v.verified ? 1 : 2;
}

/**
 * Is this Slack user the requester? "self", "other", or "unknown" when only Slack's email for the
 * user can tell (ask users.info, and refuse if it cannot answer). An unverified requester is
 * never matched: its request needs two approvers instead.
 */
export function selfCheck(
  v: Verification,
  clicker: { id: string; email?: string },
): "self" | "other" | "unknown" {
  if (!v.verified) return "other";
  if (v.slackUserId && v.slackUserId === clicker.id) return "self";
  if (!v.email) return "other";
  if (clicker.email === undefined) return "unknown";
  return lower(clicker.email) === v.email ? "self" : "other";
}

/** Whether the self check needs the clicker's email from Slack. */
export function needsEmail(v: Verification, clickerId: string): boolean {
  return v.verified && v.email !== undefined && v.slackUserId !== clickerId;
}
