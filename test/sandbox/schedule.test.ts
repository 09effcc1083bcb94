/** The sandbox's schedules, on fake timers: deterministic, no waiting. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startSchedules } from "../../src/sandbox/schedule.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("startSchedules", () => {
  it("runs each job on its interval and reports each result", async () => {
    const results: string[] = [];
    let expires = 0;
    let sweeps = 0;
    const schedules = startSchedules(
      [
        {
          name: "expire",
          everyMs: 60_000,
          run: async () => ++expires,
          onResult: (n: number) => results.push(`expire ${n}`),
        },
        {
          name: "sweep",
          everyMs: 3_600_000,
          run: async () => ++sweeps,
          onResult: (n: number) => results.push(`sweep ${n}`),
        },
        { name: "off", everyMs: 0, run: async () => results.push("never") },
      ],
      () => undefined,
    );
    await vi.advanceTimersByTimeAsync(59_999);
    expect(results).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(results).toEqual(["expire 1"]);
    await vi.advanceTimersByTimeAsync(3_540_000);
    expect(expires).toBe(60);
    expect(sweeps).toBe(1);
    expect(results.at(-1)).toBe("sweep 1");
    await schedules.stop();
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(expires).toBe(60);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("skips a tick while the previous run is still going, and stop() waits for it", async () => {
    let release: () => void = () => {};
    let runs = 0;
    const schedules = startSchedules(
      [
        {
          name: "slow",
          everyMs: 1_000,
          run: () => {
            runs += 1;
            return new Promise<void>((resolve) => {
              release = resolve;
            });
          },
        },
      ],
      () => undefined,
    );
    await vi.advanceTimersByTimeAsync(5_000);
    expect(runs).toBe(1);
    let stopped = false;
    const stopping = schedules.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(stopped).toBe(true);
  });

  it("reports a failed run and keeps the schedule", async () => {
    const errors: string[] = [];
    let runs = 0;
    const schedules = startSchedules(
      [
        {
          name: "flaky",
          everyMs: 1_000,
          run: async () => {
            runs += 1;
            if (runs === 1) throw new Error("dynalite down");
            return runs;
          },
        },
      ],
      (job, error) => errors.push(`${job}: ${(error as Error).message}`),
    );
    await vi.advanceTimersByTimeAsync(2_000);
    expect(errors).toEqual(["flaky: dynalite down"]);
    expect(runs).toBe(2);
    await schedules.stop();
  });
});
