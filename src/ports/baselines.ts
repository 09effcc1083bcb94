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
  /** Replaces a group's whole baseline (the sweep); its name is kept when none is given. */
  replace(
    groupId: string,
    rules: readonly Rule[],
    sweptAt: string,
    groupName?: string,
  ): Promise<void>;
  /** The group's name as the last sweep saw it. */
  groupName(groupId: string): Promise<string | undefined>;
}

/** What a member remembers of each event, so a redelivered event is not reverted twice. */
export interface ProcessedEvent {
  eventId: string;
  /** When this member first received the event: the age rule measures to this, retries included. */
  receivedAt: string;
  /** When the revert was done; undefined while the first attempt has not finished. */
  handledAt?: string;
  /** The message still to publish to the hub (the outbox), or undefined once published. */
  pending?: string;
}

export interface EventLedger {
  /**
   * Notes that the event arrived at `at`. Returns what was known of it before: undefined on its
   * first receipt, the earlier entry on a retry.
   */
  receive(eventId: string, at: string): Promise<ProcessedEvent | undefined>;
  /** Records the event as handled with its outbox message; false when it was handled before. */
  record(entry: { eventId: string; pending?: string; handledAt: string }): Promise<boolean>;
  get(eventId: string): Promise<ProcessedEvent | undefined>;
  /** Marks the outbox message as published. */
  markPublished(eventId: string): Promise<void>;
  /** Outbox messages not yet published (for the retry sweep). */
  unpublished(): AsyncIterable<ProcessedEvent>;
  /** Keeps the result of applying a request; false (nothing written) when one was kept before. */
  recordApplyResult(requestId: string, result: string, at: string): Promise<boolean>;
  /** The result kept for a request's apply, if it was applied here before. */
  applyResult(requestId: string): Promise<string | undefined>;
}
