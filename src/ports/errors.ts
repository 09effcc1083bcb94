/**
 * Errors adapters raise at the edge, so handlers and the domain never see an SDK's error types.
 */

/** An EC2 API error that is an outcome, not a crash (InvalidPermission.Duplicate, ...). */
export class SecurityGroupApiError extends Error {
  override readonly name = "SecurityGroupApiError";
  constructor(
    readonly code: string,
    message: string,
    readonly retryable = false,
  ) {
    super(`${code}: ${message}`);
  }
  /** The message without the code prefix, as EC2 gave it. */
  get detail(): string {
    return this.message.slice(this.code.length + 2);
  }
}

/** EC2 error codes that are recorded as a request's outcome rather than retried. */
export const OUTCOME_ERROR_CODES = new Set([
  "InvalidPermission.Duplicate",
  "InvalidPermission.NotFound",
  "InvalidGroup.NotFound",
  "InvalidSecurityGroupRuleId.NotFound",
  "InvalidSecurityGroupRuleId.Malformed",
  "RulesPerSecurityGroupLimitExceeded",
  "InvalidParameterValue",
  "UnauthorizedOperation",
]);

/** A conditional write lost: the item was not in the expected state. */
export class ConflictError extends Error {
  override readonly name = "ConflictError";
}

export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
}

/** Slack's Web API failed (HTTP error, time-out, or ok:false). */
export class NotifierError extends Error {
  override readonly name = "NotifierError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
