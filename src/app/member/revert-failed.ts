/**
 * revertFailed: the revert function's on-failure destination. When an invocation has failed
 * past Lambda's retries, Lambda hands its event here, and the change becomes a request marked
 * not reverted (it may still be live), so a person decides and Deny reverts it. If even this
 * fails, the record goes to this function's dead-letter queue (alarmed), and the drift check
 * reverts the change at its next run (a record redriven after that joins the drift's request). A
 * change filed here is reverted by the next drift check too, once it can be (fail closed).
 */
import { type Change, resolveChange } from "../../domain/change.js";
import { parseCloudTrailEvent } from "../../domain/cloudtrail.js";
import { explainsDrift } from "../../domain/drift.js";
import type { ChangeMessage } from "../../domain/messages.js";
import { eventRef, type MemberDeps } from "./deps.js";
import { file } from "./revert.js";

/** What Lambda sends an on-failure destination (an asynchronous invocation record). */
export interface InvocationRecord {
  requestContext?: { condition?: string; approximateInvokeCount?: number };
  requestPayload?: unknown;
  responsePayload?: { errorType?: string; errorMessage?: string } | null;
}

export const REVERT_FAILED_CODE = "RevertFailed";

export async function fileFailedRevert(
  deps: MemberDeps,
  record: InvocationRecord,
): Promise<{ filed: boolean; reason: string; eventId?: string }> {
  const parsed = parseCloudTrailEvent(record.requestPayload);
  if (parsed.ignored) return { filed: false, reason: parsed.reason };
  let change: Change = parsed.change;
  if (change.account !== deps.config.account || change.region !== deps.config.region) {
    deps.metrics.count("RefusedInvocation");
    return { filed: false, reason: "the event is for another account or region" };
  }
  // When no attempt could note the event's receipt (DynamoDB down), it is noted as received at
  // its own time: it failed, it was not late, so the drift check reverts it once it can. An
  // earlier receipt stands (a late event that also failed stays for a person).
  const known = await deps.ledger
    .receive(eventRef(change), change.eventTime)
    .catch(() => undefined);
  if (known?.handledAt) {
    // The revert got as far as recording it; its outbox (kept or sent) is the request.
    return { filed: false, reason: "the event was handled", eventId: change.eventId };
  }
  const group = await deps.baselines.read(change.groupId).catch(() => undefined);
  // The drift check reverted and filed it meanwhile: its request learns who, as the revert does.
  const drift = group?.drifts.find((d) => explainsDrift(change, d.change, d.at));
  if (drift) {
    await file(deps, change, {
      type: "change",
      change,
      joinsDrift: drift.requestId,
      revertedAt: deps.clock().toISOString(),
      revertMs: 0,
    });
    return {
      filed: true,
      reason: `joined drift request ${drift.requestId}`,
      eventId: change.eventId,
    };
  }
  if (group?.rules) {
    try {
      change = resolveChange(change, group.rules);
    } catch {
      // Filed as it is: the message says why it could not be reverted.
    }
  }
  const error = record.responsePayload?.errorMessage ?? "the revert failed past its retries";
  const message: ChangeMessage = {
    type: "change",
    change,
    ...(group?.name ? { groupName: group.name } : {}),
    revertedAt: deps.clock().toISOString(),
    revertMs: 0,
    revertError: {
      code: REVERT_FAILED_CODE,
      message: `${record.responsePayload?.errorType ?? "Error"}: ${error}`.slice(0, 1000),
    },
  };
  await deps.baselines
    .openChange(change.groupId, { eventId: change.eventId, change }, message.revertedAt)
    .catch((err: unknown) =>
      deps.log.error("could not record the change as open", { error: String(err) }),
    );
  await file(deps, change, message);
  return { filed: true, reason: error, eventId: change.eventId };
}
