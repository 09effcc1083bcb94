/**
 * SNS -> Lambda: each record's Message is parsed and handed to the use case. A message that does
 * not parse throws, so Lambda's retries end in the dead-letter queue: kept, and alarmed on. With
 * `topicArn`, a record from any other topic (a hand-made invocation) is refused and counted.
 */
import type { Context, SNSEvent } from "aws-lambda";
import type { Log } from "../ports/log.js";
import type { Metrics } from "../ports/metrics.js";
import { withLambdaContext } from "./logging.js";

export function forEachMessage<T, D extends { log: Log; metrics: Metrics }>(
  getDeps: () => D | Promise<D>,
  parse: (raw: string) => T,
  work: (deps: D, message: T) => Promise<unknown>,
  topicArn?: () => string | undefined,
): (event: SNSEvent, context?: Context) => Promise<void> {
  return withLambdaContext(async (event: SNSEvent) => {
    const deps = await getDeps();
    const expected = topicArn?.();
    for (const record of event.Records) {
      if (expected && record.Sns.TopicArn !== expected) {
        deps.metrics.count("RefusedInvocation");
        deps.log.error("refused a message from another topic", {
          messageId: record.Sns.MessageId,
          topicArn: record.Sns.TopicArn,
          expected,
        });
        continue;
      }
      const raw = record.Sns.Message;
      let message: T;
      try {
        message = parse(raw);
      } catch (err) {
        deps.log.error("rejected a malformed message", {
          messageId: record.Sns.MessageId,
          error: String(err),
          raw: raw.slice(0, 2000),
        });
        throw err;
      }
      await work(deps, message);
    }
  });
}
