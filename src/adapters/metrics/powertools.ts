/** The Metrics port over Powertools Metrics: CloudWatch metrics written as embedded log lines. */
import { MetricUnit, Metrics as PowertoolsMetrics } from "@aws-lambda-powertools/metrics";
import type { MetricName, Metrics } from "../../ports/metrics.js";

export const METRICS_NAMESPACE = "SecgroupApproval";

export class PowertoolsCounters implements Metrics {
  constructor(readonly metrics: PowertoolsMetrics) {}

  count(name: MetricName, value = 1): void {
    this.metrics.addMetric(name, MetricUnit.Count, value);
    // Written at once: a count must not wait for the end of an invocation that may not come.
    this.metrics.publishStoredMetrics();
  }
}

export function powertoolsCounters(serviceName: string): PowertoolsCounters {
  return new PowertoolsCounters(
    new PowertoolsMetrics({ namespace: METRICS_NAMESPACE, serviceName }),
  );
}
