/** Counters the alarms watch (Powertools Metrics in AWS: CloudWatch embedded metric format). */
export interface Metrics {
  count(name: MetricName, value?: number): void;
}

export type MetricName =
  /** A message the hub refused: its body disagreed with where AWS says it came from. */
  | "RefusedMessage"
  /** A hub message a member refused: it names a change this member never recorded. */
  | "RefusedInvocation"
  /** The job gave up on a request after its attempts: a final state was recorded. */
  | "JobGaveUp"
  /** The drift check reverted and filed a difference. */
  | "DriftFiled"
  /** A Slack click refused for its context (team, app, channel or message). */
  | "RefusedClick"
  /** The hub's policy decided a member's change otherwise than the member did. */
  | "PolicyMismatch";

export const noMetrics: Metrics = { count() {} };

/** Keeps counts in memory (the sandbox and tests). */
export class CountingMetrics implements Metrics {
  readonly counts = new Map<MetricName, number>();
  count(name: MetricName, value = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + value);
  }
  get(name: MetricName): number {
    return this.counts.get(name) ?? 0;
  }
}
