import { describe, expect, it } from "vitest";
import { eventAgeOverSeconds } from "../../../../src/domain/policy/matchers/event-age.js";
import { add, EVENT_TIME, facts, refused, run } from "../support.js";

const at = (seconds: number) => new Date(Date.parse(EVENT_TIME) + seconds * 1000);

describe("eventAgeOverSeconds", () => {
  it.each<[number, Date | undefined, boolean]>([
    [300, at(301), true],
    [300, at(300), false],
    [300, at(-5), false],
    [0, at(1), true],
    [0, at(0), false],
    // Unknown receipt time: no match.
    [0, undefined, false],
  ])("over %s s, received at %s -> %s", (limit, receivedAt, expected) => {
    expect(run(eventAgeOverSeconds, limit, add(), facts(receivedAt ? { receivedAt } : {}))).toBe(
      expected,
    );
  });

  it("an event time that does not parse is never late", () => {
    const change = add(undefined, { eventTime: "yesterday" });
    expect(run(eventAgeOverSeconds, 0, change, facts({ receivedAt: at(1e6) }))).toBe(false);
  });

  it.each([[-1], ["300"], [null]])("refuses %j", (config) => {
    expect(refused(eventAgeOverSeconds, config)).toBe(true);
  });
});
