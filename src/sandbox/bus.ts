/**
 * In-process stand-ins for SNS and EventBridge: a message published to a topic (or an event put
 * on the hub's bus) is delivered to its subscribers asynchronously, as an SNS -> Lambda (or
 * EventBridge -> Lambda) event of the real shape, with Lambda's async retries (two more tries,
 * with a pause) and a dead-letter list after that.
 */
import { randomUUID } from "node:crypto";
import type { EventBridgeEvent, SNSEvent } from "aws-lambda";
import { HUB_DETAIL_TYPES, MEMBER_EVENT_SOURCE } from "../adapters/events/hub-link.js";
import type { HubEventKind, HubLink } from "../ports/hub-link.js";
import type { Publisher } from "../ports/publisher.js";

export type Subscriber<E> = (event: E) => Promise<unknown>;

export interface DeadLetter {
  target: string;
  event: unknown;
  error: string;
}

export interface DeliveryOptions {
  /** Tries in all, as Lambda's async invocation: 1 + 2 retries. */
  attempts?: number;
  /** Pause before retry n (1-based), in ms. */
  backoffMs?: (retry: number) => number;
  onError?: (target: string, error: unknown, attempt: number) => void;
}

/** Runs deliveries in the background, retries them, and lets a caller wait until all are done. */
export class Deliveries {
  private readonly inFlight = new Set<Promise<void>>();
  /** Deliveries started so far. */
  started = 0;
  readonly deadLetters: DeadLetter[] = [];
  private readonly attempts: number;
  private readonly backoffMs: (retry: number) => number;

  constructor(private readonly options: DeliveryOptions = {}) {
    this.attempts = options.attempts ?? 3;
    this.backoffMs = options.backoffMs ?? ((n) => 200 * 2 ** (n - 1));
  }

  deliver<E>(target: string, subscriber: Subscriber<E>, event: E): void {
    this.started += 1;
    const run = async () => {
      await new Promise((resolve) => setImmediate(resolve));
      for (let attempt = 1; ; attempt++) {
        try {
          await subscriber(event);
          return;
        } catch (err) {
          this.options.onError?.(target, err, attempt);
          if (attempt >= this.attempts) {
            this.deadLetters.push({
              target,
              event,
              error: err instanceof Error ? err.message : String(err),
            });
            if (this.deadLetters.length > 1000) this.deadLetters.shift();
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, this.backoffMs(attempt)));
        }
      }
    };
    const p = run().finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Resolves when nothing is in flight, including deliveries started by deliveries. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }
}

/** SNS topics and their Lambda subscriptions, in process. */
export class LocalSns implements Publisher {
  private readonly subscribers = new Map<string, { name: string; fn: Subscriber<SNSEvent> }[]>();
  readonly published: { topicArn: string; message: string }[] = [];

  constructor(private readonly deliveries: Deliveries) {}

  subscribe(topicArn: string, name: string, fn: Subscriber<SNSEvent>): void {
    const list = this.subscribers.get(topicArn) ?? [];
    list.push({ name, fn });
    this.subscribers.set(topicArn, list);
  }

  async publish(
    topicArn: string,
    message: string,
    attributes: Record<string, string> = {},
  ): Promise<void> {
    const subscribers = this.subscribers.get(topicArn);
    if (!subscribers) throw new Error(`NotFound: Topic does not exist: ${topicArn}`);
    this.published.push({ topicArn, message });
    if (this.published.length > 1000) this.published.shift();
    for (const { name, fn } of subscribers)
      this.deliveries.deliver(name, fn, snsEvent(topicArn, message, attributes));
  }
}

/** The SNS -> Lambda event for one message, as Lambda receives it. */
export function snsEvent(
  topicArn: string,
  message: string,
  attributes: Record<string, string> = {},
): SNSEvent {
  const region = topicArn.split(":")[3] || "us-east-1";
  const subscription = `${topicArn}:${randomUUID()}`;
  return {
    Records: [
      {
        EventSource: "aws:sns",
        EventVersion: "1.0",
        EventSubscriptionArn: subscription,
        Sns: {
          Type: "Notification",
          MessageId: randomUUID(),
          TopicArn: topicArn,
          Subject: "",
          Message: message,
          Timestamp: new Date().toISOString(),
          SignatureVersion: "1",
          Signature: "",
          SigningCertUrl: `https://sns.${region}.amazonaws.com/SimpleNotificationService-local.pem`,
          UnsubscribeUrl: `https://sns.${region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${subscription}`,
          MessageAttributes: Object.fromEntries(
            Object.entries(attributes).map(([k, v]) => [k, { Type: "String", Value: v }]),
          ),
        },
      },
    ],
  };
}

/** One rule of an event bus: a pattern (here a predicate) and its Lambda target. */
interface BusRule {
  name: string;
  matches: (event: EventBridgeEvent<string, unknown>) => boolean;
  target: Subscriber<EventBridgeEvent<string, unknown>>;
}

/**
 * The hub's event bus, in process. A member puts an event as itself: like EventBridge, the bus
 * stamps `account` and `region` from the sender (PutEventsRequestEntry has no field for them);
 * nothing in the entry can choose them.
 */
export class LocalEventBus {
  private readonly rules: BusRule[] = [];
  readonly events: EventBridgeEvent<string, unknown>[] = [];

  constructor(private readonly deliveries: Deliveries) {}

  addRule(rule: BusRule): void {
    this.rules.push(rule);
  }

  put(
    sender: { account: string; region: string },
    entry: { source: string; detailType: string; detail: string },
  ): void {
    const event = busEvent(sender, entry);
    this.events.push(event);
    if (this.events.length > 1000) this.events.shift();
    for (const rule of this.rules) {
      if (rule.matches(event)) this.deliveries.deliver(rule.name, rule.target, event);
    }
  }

  /** A member's link to the hub: what it sends carries its own account and region. */
  linkFor(sender: { account: string; region: string }): HubLink {
    return {
      send: async (kind: HubEventKind, message: string) => {
        this.put(sender, {
          source: MEMBER_EVENT_SOURCE,
          detailType: HUB_DETAIL_TYPES[kind],
          detail: message,
        });
      },
    };
  }
}

/**
 * The event EventBridge delivers for a PutEvents entry: `account` and `region` are the sender's,
 * set by EventBridge (the entry has no field for them), `detail` the parsed JSON.
 */
export function busEvent(
  sender: { account: string; region: string },
  entry: { source: string; detailType: string; detail: string },
): EventBridgeEvent<string, unknown> {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": entry.detailType,
    source: entry.source,
    account: sender.account,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    region: sender.region,
    resources: [],
    detail: JSON.parse(entry.detail) as unknown,
  };
}

/** A member's message to the hub, as the hub's bus rule delivers it. */
export function hubEvent(
  sender: { account: string; region: string },
  kind: HubEventKind,
  message: string,
): EventBridgeEvent<string, unknown> {
  return busEvent(sender, {
    source: MEMBER_EVENT_SOURCE,
    detailType: HUB_DETAIL_TYPES[kind],
    detail: message,
  });
}
