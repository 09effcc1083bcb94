/**
 * Who made a change, from CloudTrail's userIdentity. People mostly arrive as AssumedRole (IAM
 * Identity Center / SSO sessions), so every identity type is kept and governed.
 */

export const IDENTITY_TYPES = [
  "IAMUser",
  "AssumedRole",
  "FederatedUser",
  "Root",
  "AWSService",
  "AWSAccount",
  "IdentityCenterUser",
  "Unknown",
] as const;
export type IdentityType = (typeof IDENTITY_TYPES)[number];

export interface Requester {
  arn: string;
  type: IdentityType;
  /** A human name: the IAM user name, the role session name (often an email for SSO), or "root". */
  name: string;
  accountId?: string;
  principalId?: string;
  /** For AssumedRole: the role the session was issued from (what exemptions and self-checks use). */
  roleArn?: string;
  /** For AssumedRole: the role's name, e.g. AWSReservedSSO_AdministratorAccess_abc123. */
  roleName?: string;
  /** True for IAM Identity Center (SSO) permission-set sessions. */
  sso?: boolean;
  sourceIp?: string;
  userAgent?: string;
  /** The AWS service that made the call on the person's behalf, e.g. cloudformation.amazonaws.com. */
  invokedBy?: string;
  /** For AssumedRole: sts:SourceIdentity, set by the first role assumption and kept along a chain. */
  sourceIdentity?: string;
}

const KNOWN_TYPES = new Set<string>(IDENTITY_TYPES.filter((t) => t !== "Unknown"));

type Json = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

function lastSegment(arn: string): string {
  const parts = arn.split("/");
  return parts[parts.length - 1] ?? arn;
}

/**
 * Builds the requester from a CloudTrail record's userIdentity, sourceIPAddress and userAgent.
 * Never throws: an identity CloudTrail did not describe becomes type "Unknown".
 */
export function requesterFromCloudTrail(detail: Json): Requester {
  const id = (detail.userIdentity ?? {}) as Json;
  const rawType = str(id.type) ?? "Unknown";
  const type = (KNOWN_TYPES.has(rawType) ? rawType : "Unknown") as IdentityType;
  const invokedBy = str(id.invokedBy);
  const arn = str(id.arn) ?? (type === "AWSService" && invokedBy ? invokedBy : "unknown");
  const context = (id.sessionContext ?? {}) as Json;
  const session = context.sessionIssuer as Json | undefined;

  let name: string;
  let roleArn: string | undefined;
  let roleName: string | undefined;
  switch (type) {
    case "IAMUser":
      name = str(id.userName) ?? lastSegment(arn);
      break;
    case "AssumedRole":
      // arn:aws:sts::123456789012:assumed-role/RoleName/session-name
      name = arn.includes(":assumed-role/")
        ? lastSegment(arn)
        : (str(id.principalId)?.split(":")[1] ?? arn);
      roleArn = str(session?.arn);
      roleName = str(session?.userName) ?? arn.split("/")[1];
      break;
    case "FederatedUser":
      // arn:aws:sts::123456789012:federated-user/name
      name = lastSegment(arn);
      break;
    case "Root":
      name = "root";
      break;
    case "AWSService":
      name = invokedBy ?? "AWS service";
      break;
    default:
      name = str(id.userName) ?? (arn === "unknown" ? "unknown" : lastSegment(arn));
  }

  const requester: Requester = { arn, type, name };
  const extra: Partial<Requester> = {
    accountId: str(id.accountId),
    principalId: str(id.principalId),
    roleArn,
    roleName,
    sso: roleName?.startsWith("AWSReservedSSO_") || undefined,
    sourceIp: str(detail.sourceIPAddress),
    userAgent: str(detail.userAgent),
    invokedBy,
    sourceIdentity: type === "AssumedRole" ? str(context.sourceIdentity) : undefined,
  };
  for (const [k, v] of Object.entries(extra)) {
    if (v !== undefined) (requester as unknown as Json)[k] = v;
  }
  return requester;
}

/** The ARNs an exemption pattern or a "system role" check is matched against. */
export function requesterArns(r: Requester): string[] {
  return r.roleArn ? [r.arn, r.roleArn] : [r.arn];
}

/**
 * An ARN glob: `*` matches any run of characters (including `/` and `:`), `?` one character;
 * everything else is literal. The whole ARN must match.
 */
export function arnGlobMatches(pattern: string, arn: string): boolean {
  let re = compiledGlobs.get(pattern);
  if (!re) {
    re = new RegExp(
      `^${pattern
        .split("")
        .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
        .join("")}$`,
    );
    // The patterns come from the configuration and the policy: few, and asked for every change.
    if (compiledGlobs.size >= MAX_COMPILED_GLOBS) compiledGlobs.clear();
    compiledGlobs.set(pattern, re);
  }
  return re.test(arn);
}

const MAX_COMPILED_GLOBS = 1000;
const compiledGlobs = new Map<string, RegExp>();

/** The first pattern that any of the requester's ARNs matches, or undefined. */
export function matchingArnPattern(r: Requester, patterns: readonly string[]): string | undefined {
  for (const p of patterns) if (requesterArns(r).some((a) => arnGlobMatches(p, a))) return p;
  return undefined;
}
