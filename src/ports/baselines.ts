import type { Change, DriftChange } from "../domain/change.js";
import type { Rule } from "../domain/rule.js";

/**
 * Why a group's approved baseline moved: "install" (adopted by the first sweep), "creation" (a
 * new group's defaults), "request:<id>" (an applied approval, an approved drift), "exempt:<arn>"
 * (an exempt principal's change), "revert:<eventId>" (a revert gave an approved rule a new id:
 * the content did not move), "retired" (the group is gone).
 */
export interface BaselineWhy {
  at: string;
  by: string;
}

/** A change left live while a person decides (a late event, a failed revert, notify mode). */
export interface OpenChange {
  eventId: string;
  change: Change;
  /**
   * Why it was left live: the revertError code (EventTooLate, PolicyNotify, NotEnforced: left by
   * policy for a person; anything else: a failure the drift check retries). Absent on older items.
   */
  code?: string;
}

/** Drift the sweep reverted and filed, kept so that a late event for it can join its request. */
export interface FiledDrift {
  eventId: string;
  requestId: string;
  change: DriftChange;
  at: string;
}

/** What the member keeps about one group, read with one strongly consistent query. */
export interface GroupRecord {
  groupId: string;
  /** The approved rules; undefined when the group was never adopted (new since the last sweep). */
  rules?: Rule[];
  name?: string;
  vpcId?: string;
  /** The group's tags as the sweep last read them (the policy's groupTags matcher). */
  tags?: Record<string, string>;
  /** The last move of the approved baseline, and why. */
  lastChange?: BaselineWhy;
  /**
   * Set while a revert (its event's receipt), an apply or the sweep works on the group: the sweep
   * leaves it alone. The latest of them when several do.
   */
  busyUntil?: string;
  open: OpenChange[];
  drifts: FiledDrift[];
  /** A difference the sweep saw and has not yet filed (the grace window). */
  suspect?: { fingerprint: string; firstSeenAt: string };
}

/** What the member keeps of a group besides its rules. */
export interface GroupMeta {
  name?: string;
  vpcId?: string;
  tags?: Record<string, string>;
}

export interface Installation {
  at: string;
  /** Which deployment adopted the groups (the stack's deployment id). */
  deployment: string;
}

/**
 * The approved baseline of each governed group and what goes with it. The baseline moves only
 * through adoption at install, a new group's creation defaults, an applied approval, an exempt
 * change, or the retirement of a deleted group; a revert may only give an approved rule its new id.
 */
export interface Baselines {
  /** Everything kept for the group, or undefined when nothing is. */
  read(groupId: string): Promise<GroupRecord | undefined>;
  /**
   * Marks the group busy until `until`. `exclusive` (the sweep): only when nobody holds it, the
   * receipts of events being reverted included; false when someone does. Not exclusive (an
   * apply): always, as it must not wait. A revert holds its group with its event's receipt.
   */
  lease(
    groupId: string,
    until: string,
    options: { exclusive: boolean; now: string },
  ): Promise<boolean>;
  release(groupId: string): Promise<void>;
  /** Adds rules (each with a ruleId) and removes rules by id, recording why. */
  update(
    groupId: string,
    changes: { put?: readonly Rule[]; removeIds?: readonly string[] },
    why: BaselineWhy,
  ): Promise<void>;
  /** The group's first baseline: these rules are approved from now on. */
  adopt(groupId: string, rules: readonly Rule[], why: BaselineWhy, info: GroupMeta): Promise<void>;
  /** Refreshes what the sweep learns of the group besides its rules (its name, VPC, tags). */
  describe(groupId: string, info: GroupMeta): Promise<void>;
  /** Forgets a group that no longer exists. */
  retire(groupId: string): Promise<void>;
  /** Every group's record, read in one paginated, strongly consistent scan (the sweep). */
  snapshot(): Promise<Map<string, GroupRecord>>;
  openChange(groupId: string, open: OpenChange, at: string): Promise<void>;
  closeChange(groupId: string, eventId: string): Promise<void>;
  recordDrift(groupId: string, drift: FiledDrift): Promise<void>;
  setSuspect(
    groupId: string,
    suspect: { fingerprint: string; firstSeenAt: string } | undefined,
  ): Promise<void>;
  installation(): Promise<Installation | undefined>;
  /** Records the install; false when one was recorded before (a concurrent first sweep). */
  recordInstallation(installation: Installation): Promise<boolean>;
}

/**
 * Which event, and where its entry is kept: a change to one group with the group (`groupId`), so
 * that its receipt, while the revert works on it, holds the group as a lease does; a change no one
 * group holds (a prefix list's) on its own, as every entry was before groups kept theirs.
 */
export interface EventRef {
  eventId: string;
  groupId?: string;
}

/** What a member remembers of each event, so a redelivered event is not reverted twice. */
export interface ProcessedEvent {
  eventId: string;
  /** The group that keeps the entry, when one does (see EventRef). */
  groupId?: string;
  /** When this member first received the event: the age rule measures to this, retries included. */
  receivedAt: string;
  /** When the revert was done; undefined while the first attempt has not finished. */
  handledAt?: string;
  /** The message still to publish to the hub (the outbox), or undefined once published. */
  pending?: string;
  /** The change as this member recorded and filed it: an apply or a revert acts only on this. */
  change?: Change;
  /** The hub's request id for it. */
  requestId?: string;
}

export interface EventLedger {
  /**
   * Notes that the event arrived at `at`, in one write. Returns what was known of it before:
   * undefined on its first receipt, the earlier entry on a retry. `busyUntil` (a revert's): the
   * drift check leaves the event's group alone until then, or until the event is recorded or
   * released, as a lease of the group would; an event handled before is not held again.
   */
  receive(
    ref: EventRef,
    at: string,
    options?: { busyUntil?: string },
  ): Promise<ProcessedEvent | undefined>;
  /**
   * Records the event as handled, with the change and its outbox message, and lets its group go;
   * false when it was recorded before.
   */
  record(entry: {
    ref: EventRef;
    pending?: string;
    handledAt: string;
    change: Change;
    requestId: string;
  }): Promise<boolean>;
  /** Lets the group go without recording the event (a revert that ended with nothing to file). */
  release(ref: EventRef): Promise<void>;
  get(ref: EventRef): Promise<ProcessedEvent | undefined>;
  /** Marks the outbox message as published. */
  markPublished(ref: EventRef): Promise<void>;
  /** Outbox messages not yet published (for the sweep), from a sparse index. */
  unpublished(): AsyncIterable<ProcessedEvent>;
  /** Keeps the result of applying a request; false (nothing written) when one was kept before. */
  recordApplyResult(requestId: string, result: string, at: string): Promise<boolean>;
  /** The result kept for a request's apply, if it was applied here before. */
  applyResult(requestId: string): Promise<string | undefined>;
}
