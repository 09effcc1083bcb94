/** The member's outbox: a change message is kept in the ledger until the hub has taken it. */
import type { EventRef } from "../../ports/baselines.js";
import type { MemberDeps } from "./deps.js";

export async function publishOutbox(
  deps: MemberDeps,
  ref: EventRef,
  message: string,
): Promise<void> {
  await deps.hub.send("change", message);
  await deps.ledger.markPublished(ref);
}

/** Sends every message still in the outbox; one failure does not stop the others. */
export async function flushOutbox(deps: MemberDeps): Promise<{ sent: number; failed: number }> {
  let sent = 0;
  let failed = 0;
  for await (const entry of deps.ledger.unpublished()) {
    if (!entry.pending) continue;
    try {
      await publishOutbox(deps, entry, entry.pending);
      sent += 1;
    } catch (err) {
      failed += 1;
      deps.log.error("could not send an outbox message", {
        eventId: entry.eventId,
        error: String(err),
      });
    }
  }
  return { sent, failed };
}
