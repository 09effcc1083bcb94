/**
 * How a member account talks to the hub: events on an EventBridge bus, which stamps each one with
 * the sending account and region itself, so the hub never has to believe a body.
 */
export type HubEventKind = "change" | "result";

export interface HubLink {
  /** Sends one message (JSON text) to the hub; throws when the bus did not take it. */
  send(kind: HubEventKind, message: string): Promise<void>;
}
