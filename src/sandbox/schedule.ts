/**
 * EventBridge Scheduler's stand-in: runs jobs on fixed intervals, as the CDK app's schedules run
 * the hub's expireRequests (every 15 minutes) and the member's baseline sweep (every hour).
 * A run that is still going when its next tick comes skips that tick; timers never keep the
 * process alive; stop() clears them and waits for runs in progress.
 */

export interface ScheduledJob<R = unknown> {
  name: string;
  everyMs: number;
  run: () => Promise<R>;
  /** Receives each run's result. */
  onResult?: (result: R) => void;
}

export interface Schedules {
  stop(): Promise<void>;
}

export function startSchedules(
  // biome-ignore lint/suspicious/noExplicitAny: each job has its own result type
  jobs: readonly ScheduledJob<any>[],
  onError: (job: string, error: unknown) => void,
): Schedules {
  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<void>>();
  let stopped = false;
  for (const job of jobs) {
    if (!(job.everyMs > 0)) continue;
    let busy = false;
    const timer = setInterval(() => {
      if (busy || stopped) return;
      busy = true;
      const run = (async () => {
        try {
          const result = await job.run();
          job.onResult?.(result);
        } catch (error) {
          onError(job.name, error);
        } finally {
          busy = false;
        }
      })();
      running.add(run);
      void run.finally(() => running.delete(run));
    }, job.everyMs);
    timer.unref();
    timers.push(timer);
  }
  return {
    async stop() {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      timers.length = 0;
      await Promise.all([...running]);
    },
  };
}
