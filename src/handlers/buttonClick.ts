/**
 * Hub account, API Gateway POST /slack/actions: Slack's interactivity requests. The body's size
 * is checked first (413 above 1 MB, before anything parses it), then the signature on the raw
 * body; a request that fails it gets an opaque 401 (the reason goes to the logs only). Then one
 * conditional write records the decision, and Slack gets its answer well inside its 3 s.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import {
  readSlackHeaders,
  SlackVerificationError,
  verifySlackRequest,
} from "../adapters/slack/verify.js";
import { type HttpResponse, type HubDeps, handleInteraction } from "../app/hub/index.js";
import { hubDeps, signingSecret } from "./hub-runtime.js";
import { logger } from "./logging.js";

export interface ButtonClickDeps {
  hub: () => HubDeps | Promise<HubDeps>;
  signingSecret: () => Promise<string>;
}

/** Slack's interaction payloads are a few kilobytes; anything this large is not one. */
export const MAX_BODY_BYTES = 1024 * 1024;

const reply = (statusCode: number, body: unknown): HttpResponse => ({
  statusCode,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

/** Slack's Events API handshake (sent when a Request URL is saved); harmless to answer here. */
function urlVerification(rawBody: string): HttpResponse | undefined {
  if (!rawBody.trimStart().startsWith("{")) return undefined;
  try {
    const body = JSON.parse(rawBody) as { type?: unknown; challenge?: unknown };
    if (body.type === "url_verification" && typeof body.challenge === "string") {
      return { statusCode: 200, headers: { "content-type": "text/plain" }, body: body.challenge };
    }
  } catch {
    // Not JSON: the interaction parser below gives the clear error.
  }
  return undefined;
}

function header(
  headers: APIGatewayProxyEvent["headers"] | null | undefined,
  name: string,
): string | undefined {
  for (const [k, v] of Object.entries(headers ?? {})) if (k.toLowerCase() === name) return v;
  return undefined;
}

/** The body's size in bytes, without decoding it (base64: three bytes per four characters). */
function bodyBytes(event: Pick<APIGatewayProxyEvent, "body" | "isBase64Encoded">): number {
  const body = event.body ?? "";
  return event.isBase64Encoded ? Math.floor((body.length * 3) / 4) : Buffer.byteLength(body);
}

export function createButtonClickHandler(deps: ButtonClickDeps) {
  return async (
    event: Pick<APIGatewayProxyEvent, "body" | "headers" | "isBase64Encoded">,
    context?: Context,
  ): Promise<APIGatewayProxyResult> => {
    if (context) logger.addContext(context);
    if (bodyBytes(event) > MAX_BODY_BYTES) return reply(413, { error: "request too large" });
    const rawBody = event.isBase64Encoded
      ? Buffer.from(event.body ?? "", "base64").toString("utf8")
      : (event.body ?? "");
    const { signature, timestamp } = readSlackHeaders(event.headers);
    const [hub, secret] = await Promise.all([deps.hub(), deps.signingSecret()]);
    try {
      verifySlackRequest({
        signingSecret: secret,
        rawBody,
        signature,
        timestamp,
        nowMs: hub.clock().getTime(),
      });
    } catch (err) {
      if (!(err instanceof SlackVerificationError)) throw err;
      hub.log.warn("rejected an unverified Slack request", {
        reason: err.reason,
        detail: err.message,
      });
      return reply(401, { error: "unauthorized" });
    }
    const challenge = urlVerification(rawBody);
    if (challenge) return challenge;
    const retry = header(event.headers, "x-slack-retry-num");
    const result = await handleInteraction(hub, rawBody, {
      ...(retry !== undefined && /^\d+$/.test(retry) ? { retryNum: Number(retry) } : {}),
    });
    hub.log.info("interaction", {
      outcome: result.outcome,
      requestId: result.requestId,
      status: result.response.statusCode,
      ...(retry !== undefined ? { slackRetry: retry } : {}),
    });
    return result.response;
  };
}

export const handler = createButtonClickHandler({
  hub: () => hubDeps("interactive"),
  signingSecret,
});
