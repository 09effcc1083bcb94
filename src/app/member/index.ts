/** The member account's use cases, one file each. */
export { applyChange, handleHubMessage, RefusedMessageError, revertLater } from "./apply.js";
export { GROUP_LEASE_MS, type MemberDeps } from "./deps.js";
export { flushOutbox } from "./outbox.js";
export { BASELINE_UNAVAILABLE, type RevertOutcome, revertChange } from "./revert.js";
export { fileFailedRevert, type InvocationRecord, REVERT_FAILED_CODE } from "./revert-failed.js";
export { type SweepResult, sweepBaselines } from "./sweep.js";
