/**
 * Hub account, API Gateway POST /slack/actions: Slack's interactivity requests. The signature
 * is checked on the raw body before anything else; then one conditional write records the
 * decision, and Slack gets its answer well inside its 3 s.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import {
  readSlackHeaders,
  SlackVerificationError,
  verifySlackRequest,
} from "../adapters/slack/verify.js";
import { type HttpResponse, type HubDeps, handleInteraction } from "../app/hub.js";
import { hubDeps, slackSecrets } from "./hub-runtime.js";
import { logger } from "./logging.js";

export interface ButtonClickDeps {
  hub: () => HubDeps | Promise<HubDeps>;
  signingSecret: () => Promise<string>;
}

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

export function createButtonClickHandler(deps: ButtonClickDeps) {
  return async (
    event: Pick<APIGatewayProxyEvent, "body" | "headers" | "isBase64Encoded">,
    context?: Context,
  ): Promise<APIGatewayProxyResult> => {
    if (context) logger.addContext(context);
    const rawBody = event.isBase64Encoded
      ? Buffer.from(event.body ?? "", "base64").toString("utf8")
      : (event.body ?? "");
    const { signature, timestamp } = readSlackHeaders(event.headers);
    const hub = await deps.hub();
    try {
      verifySlackRequest({
        signingSecret: await deps.signingSecret(),
        rawBody,
        signature,
        timestamp,
        nowMs: hub.clock().getTime(),
      });
    } catch (err) {
      if (!(err instanceof SlackVerificationError)) throw err;
      hub.log.warn("rejected an unverified Slack request", { reason: err.reason });
      return reply(401, { error: err.message, reason: err.reason });
    }
    const challenge = urlVerification(rawBody);
    if (challenge) return challenge;
    const result = await handleInteraction(hub, rawBody);
    hub.log.info("interaction", {
      outcome: result.outcome,
      requestId: result.requestId,
      status: result.response.statusCode,
    });
    return result.response;
  };
}

export const handler = createButtonClickHandler({
  hub: hubDeps,
  signingSecret: async () => (await slackSecrets()).signingSecret,
});
