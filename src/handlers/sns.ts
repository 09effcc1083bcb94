/**
 * SNS -> Lambda: each record's Message is parsed and handed to the use case. A message that does
 * not parse throws, so Lambda's retries end in the dead-letter queue: kept, and alarmed on.
 */
import type { Context, SNSEvent } from "aws-lambda";
import type { Log } from "../ports/log.js";
import { withLambdaContext } from "./logging.js";

export function forEachMessage<T, D extends { log: Log }>(
  getDeps: () => D | Promise<D>,
  parse: (raw: string) => T,
  work: (deps: D, message: T) => Promise<unknown>,
): (event: SNSEvent, context?: Context) => Promise<void> {
  return withLambdaContext(async (event: SNSEvent) => {
    const deps = await getDeps();
    for (const record of event.Records) {
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
