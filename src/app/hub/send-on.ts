/** Sending a decided request on: an approval to its member, a denial to the deny topic, a revert. */
import type { ApplyMessage, DenyMessage, RevertMessage } from "../../domain/messages.js";
import type { ApprovalRequest } from "../../domain/request.js";
import type { HubDeps } from "./deps.js";

export async function sendApply(deps: HubDeps, request: ApprovalRequest): Promise<void> {
  const { requestId, change } = request;
  const apply: ApplyMessage = {
    type: "apply",
    requestId,
    change,
    ...(request.revertError ? { revertError: request.revertError } : {}),
  };
  await deps.publisher.publish(
    deps.config.memberApplyTopicArn(change.account, change.region),
    JSON.stringify(apply),
    { type: "apply" },
  );
}

/** Has the member revert a live change that was denied or expired. */
export async function sendRevert(
  deps: HubDeps,
  { requestId, change }: ApprovalRequest,
): Promise<void> {
  const revert: RevertMessage = { type: "revert", requestId, change };
  await deps.publisher.publish(
    deps.config.memberApplyTopicArn(change.account, change.region),
    JSON.stringify(revert),
    { type: "revert" },
  );
}

/** What a decision sends on: the apply for an approval; for a denial the deny report (and the revert of a live change). */
export async function sendDecision(deps: HubDeps, request: ApprovalRequest): Promise<void> {
  if (request.status === "approved") return sendApply(deps, request);
  const deny: DenyMessage = { type: "deny", requestId: request.requestId };
  await deps.publisher.publish(deps.config.denyTopicArn, JSON.stringify(deny), { type: "deny" });
  if (request.revertError) await sendRevert(deps, request);
}
