/** The hub account's use cases, one file each. */
export {
  CLICK_ANSWER_BUDGET_MS,
  type ClickContext,
  type ClickOutcome,
  type ClickResult,
  EPHEMERAL_BUDGET_MS,
  type HttpResponse,
  handleInteraction,
  SLACK_LOOKUP_BUDGET_MS,
  SLACK_UPDATE_BUDGET_MS,
} from "./click.js";
export { type HubDeps, withTimeout } from "./deps.js";
export { GAVE_UP_CODE, JOB_BATCH, type JobResult, runJobs } from "./jobs.js";
export { ensureMessages, POST_CLAIM_LEASE_MS } from "./post.js";
export { recordResult, reportDenied } from "./reports.js";
export { sendApply, sendDecision, sendRevert } from "./send-on.js";
export { type StoreResult, storeRequest } from "./store.js";
