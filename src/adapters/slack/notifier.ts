/**
 * The Notifier port over Slack's Web API (@slack/web-api's WebClient). Every failure leaves as a
 * NotifierError whose `code` is Slack's own error string (channel_not_found, message_not_found,
 * invalid_auth, …) or one of ours: "http_<status>", "timeout", "ratelimited", "network_error".
 */
import {
  type ChatPostMessageArguments,
  type Logger,
  LogLevel,
  type RetryOptions,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
} from "@slack/web-api";
import type { SlackMessageRef } from "../../domain/request.js";
import { NotifierError } from "../../ports/errors.js";
import type { Notifier, PostTag, SlackUser } from "../../ports/notifier.js";

/** The metadata event type on every message this app posts for a request. */
export const REQUEST_EVENT_TYPE = "secgroup_approval_request";

/** Structurally the domain's SlackMessage ({ text, blocks }). */
export interface SlackMessageLike {
  text: string;
  blocks: readonly unknown[];
}

export interface SlackNotifierOptions {
  /** The bot token (xoxb-…). */
  token: string;
  /** Default https://slack.com/api/; the sandbox's fake gives its own ("http://127.0.0.1:PORT/api/"). */
  slackApiUrl?: string;
  /** Per attempt, in milliseconds. Default 2 500. */
  timeoutMs?: number;
  /**
   * Retries after an HTTP error, a time-out or a network error (never after ok:false from Slack,
   * never after a 429). A number keeps the default back-off; default 2. Never for
   * chat.postMessage: a post that timed out may have landed, and posting it again would post it
   * twice; the caller's claim makes its retry look for the post first.
   */
  retries?: number | RetryOptions;
  /** How long a user group's member list is reused, in milliseconds. Default 60 000; 0 = never. */
  groupCacheMs?: number;
  /** Defaults to the SDK's console logger at WARN. */
  logger?: Logger;
  logLevel?: LogLevel;
}

/** The SDK's Block Kit type; our blocks are structurally these (the domain keeps its own types). */
type SdkBlocks = Extract<ChatPostMessageArguments, { blocks: unknown }>["blocks"];

export const DEFAULT_TIMEOUT_MS = 2_500;
export const DEFAULT_RETRIES = 2;
const SLACK_API_URL = "https://slack.com/api/";

/** A few fast retries: 200 ms, 400 ms, … capped at 1 s, jittered. */
function retryConfig(retries: number): RetryOptions {
  return { retries, factor: 2, minTimeout: 200, maxTimeout: 1_000, randomize: true };
}

export class SlackNotifier implements Notifier {
  private readonly client: WebClient;
  /** chat.postMessage's own client: no retries (see `retries`). */
  private readonly poster: WebClient;
  private readonly groupCacheMs: number;
  /** Member lists by user group: a click checks the approver group without a Slack round trip. */
  private readonly groups = new Map<string, { until: number; members: Promise<string[]> }>();

  constructor(options: SlackNotifierOptions) {
    const retries = options.retries ?? DEFAULT_RETRIES;
    this.groupCacheMs = options.groupCacheMs ?? 60_000;
    let slackApiUrl = options.slackApiUrl ?? SLACK_API_URL;
    if (!slackApiUrl.endsWith("/")) slackApiUrl += "/";
    const client = (retry: RetryOptions) =>
      new WebClient(options.token, {
        slackApiUrl,
        timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        retryConfig: retry,
        // A 429 is reported as "ratelimited" at once: waiting out Retry-After would pause every
        // call of this client and could outlast the Lambda; the caller's retry decides.
        rejectRateLimitedCalls: true,
        // Method names are ours, never URLs: no request leaves for another host.
        allowAbsoluteUrls: false,
        ...(options.logger
          ? { logger: options.logger }
          : { logLevel: options.logLevel ?? LogLevel.WARN }),
      });
    this.client = client(typeof retries === "number" ? retryConfig(retries) : retries);
    this.poster = client({ retries: 0 });
  }

  async post(channel: string, message: SlackMessageLike, tag: PostTag): Promise<SlackMessageRef> {
    const result = await this.call("chat.postMessage", () =>
      this.poster.chat.postMessage({
        channel,
        text: message.text,
        blocks: message.blocks as SdkBlocks,
        unfurl_links: false,
        unfurl_media: false,
        metadata: {
          event_type: REQUEST_EVENT_TYPE,
          event_payload: { requestId: tag.requestId, kind: tag.kind },
        },
      }),
    );
    if (typeof result.channel !== "string" || typeof result.ts !== "string") {
      throw new NotifierError(
        "invalid_response",
        "Slack chat.postMessage answered without channel and ts",
      );
    }
    return { channel: result.channel, ts: result.ts };
  }

  /** conversations.history since `oldest`, newest first, looking for our metadata (at most 5 pages). */
  async findPosted(
    channel: string,
    tag: PostTag,
    oldest: number,
  ): Promise<SlackMessageRef | undefined> {
    let cursor: string | undefined;
    for (let page = 0; page < 5; page++) {
      const result = await this.call("conversations.history", () =>
        this.client.conversations.history({
          channel,
          oldest: String(oldest),
          include_all_metadata: true,
          limit: 200,
          ...(cursor ? { cursor } : {}),
        }),
      );
      for (const m of result.messages ?? []) {
        const meta = m.metadata;
        const payload = meta?.event_payload as Record<string, unknown> | undefined;
        if (
          m.ts &&
          meta?.event_type === REQUEST_EVENT_TYPE &&
          payload?.requestId === tag.requestId &&
          payload?.kind === tag.kind
        ) {
          return { channel, ts: m.ts };
        }
      }
      cursor = result.response_metadata?.next_cursor || undefined;
      if (!cursor) return undefined;
    }
    return undefined;
  }

  async update(ref: SlackMessageRef, message: SlackMessageLike): Promise<void> {
    await this.call("chat.update", () =>
      this.client.chat.update({
        channel: ref.channel,
        ts: ref.ts,
        text: message.text,
        blocks: message.blocks as SdkBlocks,
      }),
    );
  }

  async postEphemeral(channel: string, user: string, text: string): Promise<void> {
    await this.call("chat.postEphemeral", () =>
      this.client.chat.postEphemeral({ channel, user, text }),
    );
  }

  async userInfo(userId: string): Promise<SlackUser> {
    const result = await this.call("users.info", () => this.client.users.info({ user: userId }));
    const user = result.user;
    if (!user?.id) {
      throw new NotifierError(
        "invalid_response",
        `Slack users.info answered without a user for ${userId}`,
      );
    }
    const name = user.name ?? user.real_name;
    const email = user.profile?.email;
    return { id: user.id, ...(name ? { name } : {}), ...(email ? { email } : {}) };
  }

  /** Cached for `groupCacheMs`; a failed call is not cached. */
  userGroupMembers(groupId: string): Promise<string[]> {
    const now = Date.now();
    const cached = this.groups.get(groupId);
    if (cached && cached.until > now) return cached.members;
    const members = this.call("usergroups.users.list", () =>
      this.client.usergroups.users.list({ usergroup: groupId }),
    ).then((result) => result.users ?? []);
    if (this.groupCacheMs > 0) {
      this.groups.set(groupId, { until: now + this.groupCacheMs, members });
      members.catch(() => this.groups.delete(groupId));
    }
    return members;
  }

  private async call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toNotifierError(method, error);
    }
  }
}

/** Translates an error thrown by WebClient into a NotifierError. */
export function toNotifierError(method: string, error: unknown): NotifierError {
  if (error instanceof NotifierError) return error;
  if (error instanceof WebAPIPlatformError) {
    const code =
      typeof error.data.error === "string" && error.data.error ? error.data.error : "unknown_error";
    const details = error.data.response_metadata?.messages?.join("; ");
    return new NotifierError(
      code,
      `Slack ${method} failed: ${code}${details ? ` (${details})` : ""}`,
    );
  }
  if (error instanceof WebAPIRateLimitedError) {
    return new NotifierError(
      "ratelimited",
      `Slack ${method} was rate limited: retry after ${error.retryAfter} s`,
    );
  }
  if (error instanceof WebAPIHTTPError) {
    return new NotifierError(
      `http_${error.statusCode}`,
      `Slack ${method} failed: HTTP ${error.statusCode} ${error.statusMessage}`.trim(),
    );
  }
  if (error instanceof WebAPIRequestError) {
    const original = error.original;
    if (original.name === "TimeoutError" || original.name === "AbortError") {
      return new NotifierError("timeout", `Slack ${method} timed out`);
    }
    const cause = original.cause instanceof Error ? original.cause : undefined;
    const causeCode =
      cause && "code" in cause && typeof cause.code === "string" ? cause.code : undefined;
    return new NotifierError(
      "network_error",
      `Slack ${method} could not be reached: ${original.message}${causeCode ? ` (${causeCode})` : ""}`,
    );
  }
  // The SDK also rejects a 429 without a usable Retry-After with a plain Error.
  const message = error instanceof Error ? error.message : String(error);
  if (/rate limit|retry-after/i.test(message)) {
    return new NotifierError("ratelimited", `Slack ${method} was rate limited: ${message}`);
  }
  return new NotifierError("unknown_error", `Slack ${method} failed: ${message}`);
}
