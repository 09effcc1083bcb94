/**
 * Who a sandbox caller is: the SigV4 access key id picks an identity, which becomes CloudTrail's
 * `userIdentity` as AWS writes it for an IAM user's access key or an assumed-role session.
 */
import { createHash } from "node:crypto";
import type { Json } from "./request.js";

export interface IamUserIdentity {
  type: "IAMUser";
  userName: string;
  /** IAM path, "/" by default. */
  path?: string;
  /** AIDA…; derived from the name when absent. */
  principalId?: string;
  /** The account the user lives in; the proxy's account by default. */
  accountId?: string;
}

export interface AssumedRoleIdentity {
  type: "AssumedRole";
  roleName: string;
  /** IAM path of the role, "/" by default (SSO roles: /aws-reserved/sso.amazonaws.com/). */
  rolePath?: string;
  /** The role session name, e.g. bob@example.com for an IAM Identity Center session. */
  sessionName: string;
  /** AROA…, the role's unique id; derived from the name when absent. */
  roleId?: string;
  accountId?: string;
  /** Defaults to "false". */
  mfaAuthenticated?: boolean;
}

export type Identity = IamUserIdentity | AssumedRoleIdentity;

/** The access key id the sandbox's own member handlers sign with (their role: see below). */
export const SYSTEM_ACCESS_KEY = "secgroup-approval-member";
export const SSO_ROLE_NAME = "AWSReservedSSO_AdministratorAccess_0123456789abcdef";
export const SSO_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/";
export const ADMIN_ROLE_NAME = "BreakGlassAdmin";
export const SYSTEM_ROLE_NAME = "secgroup-approval-member";
export const CI_ROLE_NAME = "ci-deploy";
/** The Terraform pipeline's role of policy.example.json (its rule pipeline-auto-approve). */
export const PIPELINE_ROLE_NAME = "terraform-ci";

/**
 * The sandbox's callers, by access key id:
 * - `alice`: IAM user alice;
 * - `sso-bob`: bob@example.com in an IAM Identity Center (SSO) AdministratorAccess session;
 * - `admin`: a session of the exempt BreakGlassAdmin role;
 * - `ci-deploy`: a session of the ci-deploy role whose caller chose the session name "bob" (an
 *   unverified requester: anyone who can assume the role can call themselves anything);
 * - `terraform-ci`: a session of the terraform-ci role, the pipeline policy.example.json
 *   auto-approves (rule pipeline-auto-approve);
 * - `secgroup-approval-member`: the member handlers' own role session.
 * Any other key acts as an IAM user named after the key.
 */
export function defaultIdentities(account: string): Record<string, Identity> {
  return {
    alice: { type: "IAMUser", userName: "alice", accountId: account },
    "sso-bob": {
      type: "AssumedRole",
      roleName: SSO_ROLE_NAME,
      rolePath: SSO_ROLE_PATH,
      sessionName: "bob@example.com",
      accountId: account,
    },
    admin: {
      type: "AssumedRole",
      roleName: ADMIN_ROLE_NAME,
      sessionName: "admin",
      accountId: account,
    },
    "ci-deploy": {
      type: "AssumedRole",
      roleName: CI_ROLE_NAME,
      sessionName: "bob",
      accountId: account,
    },
    "terraform-ci": {
      type: "AssumedRole",
      roleName: PIPELINE_ROLE_NAME,
      sessionName: "terraform-ci",
      accountId: account,
    },
    [SYSTEM_ACCESS_KEY]: {
      type: "AssumedRole",
      roleName: SYSTEM_ROLE_NAME,
      sessionName: "secgroup-approval-member",
      accountId: account,
    },
  };
}

/** A stable IAM unique id (prefix + 17 base-32 characters), derived from `seed`. */
export function uniqueId(prefix: "AIDA" | "AROA", seed: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bytes = createHash("sha256").update(seed).digest();
  let id = prefix;
  for (let i = 0; i < 17; i++) id += alphabet[(bytes[i] ?? 0) % 32];
  return id;
}

function iamPath(path: string | undefined): string {
  if (!path || path === "/") return "/";
  return `${path.startsWith("/") ? "" : "/"}${path}${path.endsWith("/") ? "" : "/"}`;
}

export interface UserIdentityContext {
  accessKeyId: string;
  /** The account of identities that name none. */
  account: string;
  /** When the role session began (CloudTrail's sessionContext.attributes.creationDate). */
  sessionCreated: string;
}

/** The identity an access key stands for: the given one, or an IAM user named after the key. */
export function identityFor(
  identities: Readonly<Record<string, Identity>>,
  accessKeyId: string,
): Identity {
  return Object.hasOwn(identities, accessKeyId)
    ? (identities[accessKeyId] as Identity)
    : { type: "IAMUser", userName: accessKeyId || "anonymous" };
}

/** CloudTrail's userIdentity for `identity` calling with `accessKeyId`. */
export function userIdentity(identity: Identity, ctx: UserIdentityContext): Json {
  const accountId = identity.accountId ?? ctx.account;
  if (identity.type === "IAMUser") {
    // A call signed with an IAM user's long-term access key carries no sessionContext.
    return {
      type: "IAMUser",
      principalId:
        identity.principalId ?? uniqueId("AIDA", `${accountId}:user:${identity.userName}`),
      arn: `arn:aws:iam::${accountId}:user${iamPath(identity.path)}${identity.userName}`,
      accountId,
      accessKeyId: ctx.accessKeyId,
      userName: identity.userName,
    };
  }
  const roleId = identity.roleId ?? uniqueId("AROA", `${accountId}:role:${identity.roleName}`);
  return {
    type: "AssumedRole",
    principalId: `${roleId}:${identity.sessionName}`,
    arn: `arn:aws:sts::${accountId}:assumed-role/${identity.roleName}/${identity.sessionName}`,
    accountId,
    accessKeyId: ctx.accessKeyId,
    sessionContext: {
      sessionIssuer: {
        type: "Role",
        principalId: roleId,
        arn: `arn:aws:iam::${accountId}:role${iamPath(identity.rolePath)}${identity.roleName}`,
        accountId,
        userName: identity.roleName,
      },
      webIdFederationData: {},
      attributes: {
        creationDate: ctx.sessionCreated,
        mfaAuthenticated: identity.mfaAuthenticated ? "true" : "false",
      },
    },
  };
}
