/**
 * EventBridge -> Lambda (the hub's bus rules): the event's detail is parsed and handed to the use
 * case with the event's `account` and `region`, which EventBridge set from the sender. A detail
 * that does not parse throws, so EventBridge's retries end in the dead-letter queue (alarmed).
 */
import type { Context, EventBridgeEvent } from "aws-lambda";
import type { Origin } from "../domain/binding.js";
import type { Log } from "../ports/log.js";
import { withLambdaContext } from "./logging.js";

export function forBusEvent<T, D extends { log: Log }>(
  getDeps: () => D | Promise<D>,
  parse: (detail: unknown) => T,
  work: (deps: D, message: T, origin: Origin) => Promise<unknown>,
): (event: EventBridgeEvent<string, unknown>, context?: Context) => Promise<void> {
  return withLambdaContext(async (event: EventBridgeEvent<string, unknown>) => {
    const deps = await getDeps();
    let message: T;
    try {
      message = parse(event.detail);
    } catch (err) {
      deps.log.error("rejected a malformed message", {
        eventId: event.id,
        account: event.account,
        region: event.region,
        detailType: event["detail-type"],
        error: String(err),
      });
      throw err;
    }
    await work(deps, message, { account: event.account, region: event.region });
  });
}
