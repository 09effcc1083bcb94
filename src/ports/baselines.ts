import type { Rule } from "../domain/rule.js";

/**
 * The approved baseline of each governed group: its rules with their ids, as this system last
 * knew them. Revoke-by-rule-id and modify events are reverted from it.
 */
export interface Baselines {
  /** The group's rules, or undefined when the group was never swept. */
  get(groupId: string): Promise<Rule[] | undefined>;
  /** Adds rules (each must have a ruleId) and removes rules by id, in one logical step. */
  update(
    groupId: string,
    changes: { put?: readonly Rule[]; removeIds?: readonly string[] },
  ): Promise<void>;
  /** Replaces a group's whole baseline (the sweep). */
  replace(groupId: string, rules: readonly Rule[], sweptAt: string): Promise<void>;
}

/** What a member remembers of each event it handled, so a redelivered event is not reverted twice. */
export interface ProcessedEvent {
  eventId: string;
  /** The message still to publish to the hub (the outbox), or undefined once published. */
  pending?: string;
  handledAt: string;
}

export interface EventLedger {
  /** Records an event as handled with its outbox message; false when it was handled before. */
  record(entry: ProcessedEvent): Promise<boolean>;
  get(eventId: string): Promise<ProcessedEvent | undefined>;
  /** Marks the outbox message as published. */
  markPublished(eventId: string): Promise<void>;
  /** Outbox messages not yet published (for the retry sweep). */
  unpublished(): AsyncIterable<ProcessedEvent>;
}
