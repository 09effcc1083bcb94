/** Powertools Logger, and our Log port over it: JSON lines with the Lambda request id. */
import { Logger } from "@aws-lambda-powertools/logger";
import type { Context } from "aws-lambda";
import type { Log } from "../ports/log.js";

export const logger = new Logger({ serviceName: "secgroup-approval" });

export const log: Log = {
  debug: (message, attributes) =>
    attributes ? logger.debug(message, attributes) : logger.debug(message),
  info: (message, attributes) =>
    attributes ? logger.info(message, attributes) : logger.info(message),
  warn: (message, attributes) =>
    attributes ? logger.warn(message, attributes) : logger.warn(message),
  error: (message, attributes) =>
    attributes ? logger.error(message, attributes) : logger.error(message),
};

/** `fn` as a Lambda handler whose log lines all carry this invocation's context (its request id). */
export function withLambdaContext<E, R>(
  fn: (event: E) => Promise<R>,
): (event: E, context?: Context) => Promise<R> {
  return async (event, context) => {
    if (context) logger.addContext(context);
    return fn(event);
  };
}

/** A value made on first use and kept for the life of the Lambda container. */
export const once = <T>(make: () => T): (() => T) => {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
};

export const systemClock = () => new Date();
