/**
 * The member's link to the hub: one PutEvents per message on the member's own bus, whose rule
 * forwards our source to the hub's bus. EventBridge sets the event's `account` and `region`
 * itself (PutEventsRequestEntry has no field for them), and forwarding keeps them, so the hub
 * learns where each message came from from AWS, not from the body.
 */
import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import type { HubEventKind, HubLink } from "../../ports/hub-link.js";

/** The `source` of every event a member sends; the member bus's rule forwards exactly this. */
export const MEMBER_EVENT_SOURCE = "secgroup-approval.member";

/** The `detail-type` of each kind, which the hub's rules route on. */
export const HUB_DETAIL_TYPES: Record<HubEventKind, string> = {
  change: "Security Group Change",
  result: "Security Group Change Result",
};

export class HubLinkError extends Error {
  override readonly name = "HubLinkError";
}

export class EventBridgeHubLink implements HubLink {
  constructor(
    private readonly client: EventBridgeClient,
    /** The member's own bus (name or ARN). */
    private readonly busName: string,
  ) {}

  async send(kind: HubEventKind, message: string): Promise<void> {
    const out = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.busName,
            Source: MEMBER_EVENT_SOURCE,
            DetailType: HUB_DETAIL_TYPES[kind],
            Detail: message,
          },
        ],
      }),
    );
    const failed = out.Entries?.find((e) => e.ErrorCode);
    if ((out.FailedEntryCount ?? 0) > 0 || failed) {
      throw new HubLinkError(
        `EventBridge did not take the ${kind} message: ${failed?.ErrorCode ?? "unknown"}: ${failed?.ErrorMessage ?? ""}`.trim(),
      );
    }
  }
}
