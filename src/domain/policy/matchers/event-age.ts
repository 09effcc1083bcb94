/**
 * `eventAgeOverSeconds`: the event was first received more than this many seconds after the
 * call (a late event, maybe a replay). Unknown receipt time (no `facts.receivedAt`): no match.
 */
import * as z from "zod";
import type { ChangeMatcher } from "./matcher.js";

/** Seconds between the call and the event's first receipt; NaN when either is unknown. */
export function eventAgeSeconds(eventTime: string, receivedAt: Date | undefined): number {
  if (!receivedAt) return Number.NaN;
  return (receivedAt.getTime() - Date.parse(eventTime)) / 1000;
}

export const eventAgeOverSeconds: ChangeMatcher<number> = {
  key: "eventAgeOverSeconds",
  level: "change",
  schema: z.number({ error: "expected a number of seconds" }).min(0),
  // NaN (an unknown time) is never over.
  test: (limit, { change, facts }) => eventAgeSeconds(change.eventTime, facts.receivedAt) > limit,
  describe: (limit) => `event over ${limit} s late`,
  fact: { label: "when the event was received", known: (facts) => facts.receivedAt !== undefined },
};
