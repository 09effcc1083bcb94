/**
 * SlackNotifier against the loopback fake of Slack's Web API, over real HTTP: no mocked SDK.
 */
import { type Logger, LogLevel } from "@slack/web-api";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SlackNotifier, type SlackNotifierOptions } from "../../src/adapters/slack/notifier.js";
import { NotifierError } from "../../src/ports/errors.js";
import { type SlackApi, type SlackApiEvent, startSlackApi } from "../../src/sandbox/slack-api.js";

const APPROVALS = "C0APPROVALS";
const MONITORING = "C0MONITOR";

const message = {
  text: "alice wants to open tcp/22 to 0.0.0.0/0 on sg-0123",
  blocks: [
    { type: "header", text: { type: "plain_text", text: "Security group change" } },
    {
      type: "section",
      text: {
        type: "mrkdwn",
        text: '*alice* wants to open `tcp/22` — ünïcödé & <symbols> "quoted"',
      },
    },
    {
      type: "actions",
      elements: [
        {
          type: "button",
          action_id: "approve",
          text: { type: "plain_text", text: "Approve" },
          value: "r-01JD0000000000000000000000",
          style: "primary",
        },
        {
          type: "button",
          action_id: "deny",
          text: { type: "plain_text", text: "Deny" },
          value: "r-01JD0000000000000000000000",
          style: "danger",
        },
      ],
    },
  ],
};

let api: SlackApi;

beforeAll(async () => {
  api = await startSlackApi({ channels: [APPROVALS, MONITORING] });
});
afterAll(async () => {
  await api.stop();
});
afterEach(() => {
  api.clearFaults();
});

function notifier(options: Partial<SlackNotifierOptions> = {}): SlackNotifier {
  return new SlackNotifier({
    token: "xoxb-test",
    slackApiUrl: api.url,
    retries: 0,
    timeoutMs: 1_000,
    logger: silentLogger,
    ...options,
  });
}

async function notifierError(promise: Promise<unknown>): Promise<NotifierError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NotifierError);
  return error as NotifierError;
}

const TAG = { requestId: "r-01JDQ5V7ZK3M8X2N4P6R9T1W3Y", kind: "approval" } as const;

describe("SlackNotifier", () => {
  it("posts a message and returns its channel and ts; the fake stored the exact blocks", async () => {
    const ref = await notifier().post(APPROVALS, message, TAG);
    expect(ref.channel).toBe(APPROVALS);
    expect(ref.ts).toMatch(/^\d{10}\.\d{6}$/);
    const stored = api.state.message(ref.channel, ref.ts);
    expect(stored?.text).toBe(message.text);
    expect(stored?.blocks).toEqual(message.blocks);
    const call = api.state.calls("chat.postMessage").at(-1);
    expect(call?.params.unfurl_links).toBe("false");
  });

  it("tags each post with the request id in its metadata, and findPosted finds it again", async () => {
    const n = notifier();
    const since = Math.floor(Date.now() / 1000) - 5;
    const other = await n.post(APPROVALS, message, {
      ...TAG,
      requestId: "r-01JDQ5V7ZK3M8X2N4P6R9T1W3Z",
    });
    const ref = await n.post(APPROVALS, message, TAG);
    await n.post(APPROVALS, message, { ...TAG, kind: "monitoring" });
    expect(api.state.message(ref.channel, ref.ts)?.metadata).toEqual({
      event_type: "secgroup_approval_request",
      event_payload: { requestId: TAG.requestId, kind: "approval" },
    });
    expect(await n.findPosted(APPROVALS, TAG, since)).toEqual(ref);
    expect(
      await n.findPosted(APPROVALS, { ...TAG, requestId: "r-01JDQ5V7ZK3M8X2N4P6R9T1W40" }, since),
    ).toBeUndefined();
    expect(await n.findPosted(MONITORING, TAG, since)).toBeUndefined();
    expect(other.ts).not.toBe(ref.ts);
    const call = api.state.calls("conversations.history").at(-1);
    expect(call?.params.include_all_metadata).toBe("true");
  });

  it("findPosted pages through the channel's history", async () => {
    const n = notifier();
    const since = Math.floor(Date.now() / 1000) - 5;
    const ref = await n.post(MONITORING, message, TAG);
    for (let i = 0; i < 210; i++) api.state.postMessage(MONITORING, `filler ${i}`, []);
    expect(await n.findPosted(MONITORING, TAG, since)).toEqual(ref);
    expect(api.state.calls("conversations.history").length).toBeGreaterThanOrEqual(2);
  });

  it("gives increasing ts values", async () => {
    const n = notifier();
    const a = await n.post(APPROVALS, message, TAG);
    const b = await n.post(MONITORING, message, TAG);
    expect(Number(b.ts)).toBeGreaterThan(Number(a.ts));
  });

  it("updates a message: the latest version changes, the history keeps the first", async () => {
    const n = notifier();
    const ref = await n.post(APPROVALS, message, TAG);
    const decided = {
      text: "Approved by bob",
      blocks: [{ type: "section", text: { type: "mrkdwn", text: "Approved by <@U0BOB>" } }],
    };
    await n.update(ref, decided);
    const stored = api.state.message(ref.channel, ref.ts);
    expect(stored?.text).toBe("Approved by bob");
    expect(stored?.blocks).toEqual(decided.blocks);
    expect(stored?.versions.map((v) => v.text)).toEqual([message.text, "Approved by bob"]);
  });

  it("reports a listener every change", async () => {
    const events: SlackApiEvent["type"][] = [];
    const unsubscribe = api.state.subscribe((e) => {
      if (e.type !== "api_call") events.push(e.type);
    });
    try {
      const n = notifier();
      const ref = await n.post(APPROVALS, message, TAG);
      await n.update(ref, message);
      await n.postEphemeral(APPROVALS, "U0MALLORY", "no");
    } finally {
      unsubscribe();
    }
    expect(events).toEqual(["message_posted", "message_updated", "ephemeral_posted"]);
  });

  it("updating an unknown ts fails with message_not_found", async () => {
    const error = await notifierError(
      notifier().update({ channel: APPROVALS, ts: "1.000100" }, message),
    );
    expect(error.code).toBe("message_not_found");
  });

  it("posts an ephemeral message", async () => {
    await notifier().postEphemeral(APPROVALS, "U0MALLORY", "You may not approve your own change.");
    expect(api.state.ephemerals(APPROVALS).at(-1)).toMatchObject({
      channel: APPROVALS,
      user: "U0MALLORY",
      text: "You may not approve your own change.",
    });
  });

  it("reads a user's name and email", async () => {
    expect(await notifier().userInfo("U0ALICE")).toEqual({
      id: "U0ALICE",
      name: "alice",
      email: "alice@example.com",
    });
    const error = await notifierError(notifier().userInfo("U0NOBODY"));
    expect(error.code).toBe("user_not_found");
  });

  it("lists a user group's members", async () => {
    expect(await notifier().userGroupMembers("S0APPROVERS")).toEqual(["U0BOB", "U0CAROL"]);
    const error = await notifierError(notifier().userGroupMembers("S0NOPE"));
    expect(error.code).toBe("no_such_subteam");
  });

  it("reuses a user group's members for a minute, and does not keep a failure", async () => {
    const n = notifier();
    const before = api.state.calls("usergroups.users.list").length;
    await n.userGroupMembers("S0APPROVERS");
    await n.userGroupMembers("S0APPROVERS");
    expect(api.state.calls("usergroups.users.list").length - before).toBe(1);

    const fresh = notifier({ groupCacheMs: 0 });
    await fresh.userGroupMembers("S0APPROVERS");
    await fresh.userGroupMembers("S0APPROVERS");
    expect(api.state.calls("usergroups.users.list").length - before).toBe(3);

    const flaky = notifier({ retries: 0 });
    api.failNext("usergroups.users.list", { status: 500, times: 1 });
    await expect(flaky.userGroupMembers("S0APPROVERS")).rejects.toThrow();
    expect(await flaky.userGroupMembers("S0APPROVERS")).toEqual(["U0BOB", "U0CAROL"]);
  });

  it("retries an HTTP 500 and then succeeds", async () => {
    const ref = await notifier().post(APPROVALS, message, TAG);
    api.failNext("chat.update", { status: 500, times: 1 });
    const before = api.state.calls("chat.update").length;
    await notifier({ retries: 1 }).update(ref, { ...message, text: "updated" });
    expect(api.state.message(ref.channel, ref.ts)?.text).toBe("updated");
    const calls = api.state.calls("chat.update").slice(before);
    expect(calls.map((c) => c.error ?? "ok")).toEqual(["http_500", "ok"]);
  });

  it("never sends a post twice itself: one that timed out (and landed) or answered 500 fails once", async () => {
    const before = api.state.calls("chat.postMessage").length;
    const count = () => api.state.messages(APPROVALS).length;
    const posted = count();
    api.failNext("chat.postMessage", { delayMs: 400 });
    const timedOut = await notifierError(
      notifier({ retries: 2, timeoutMs: 100 }).post(APPROVALS, message, TAG),
    );
    expect(timedOut.code).toBe("timeout");
    await new Promise((r) => setTimeout(r, 500));
    // Slack took it after the client gave up: there is exactly one, for the caller to find.
    expect(count()).toBe(posted + 1);
    api.failNext("chat.postMessage", { status: 500, times: 1 });
    expect((await notifierError(notifier({ retries: 2 }).post(APPROVALS, message, TAG))).code).toBe(
      "http_500",
    );
    expect(api.state.calls("chat.postMessage").length - before).toBe(2);
  });

  it("gives up on repeated HTTP 500s with NotifierError http_500", async () => {
    api.failNext("chat.postMessage", { status: 500, times: 5 });
    const error = await notifierError(notifier({ retries: 1 }).post(APPROVALS, message, TAG));
    expect(error.code).toBe("http_500");
  });

  it("a reply slower than timeoutMs fails with NotifierError timeout", async () => {
    api.failNext("users.info", { delayMs: 600 });
    const started = Date.now();
    const error = await notifierError(notifier({ timeoutMs: 150 }).userInfo("U0BOB"));
    expect(error.code).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(550);
  });

  it("translates a Slack error into its code: channel_not_found", async () => {
    const error = await notifierError(notifier().post("C0NOPE", message, TAG));
    expect(error.code).toBe("channel_not_found");
    expect(error.message).toContain("channel_not_found");
  });

  it("translates an injected Slack error the same way", async () => {
    api.failNext("chat.update", { error: "cant_update_message" });
    const ref = await notifier().post(APPROVALS, message, TAG);
    const error = await notifierError(notifier().update(ref, message));
    expect(error.code).toBe("cant_update_message");
  });

  it("a 429 fails at once with NotifierError ratelimited", async () => {
    api.failNext("chat.postMessage", { status: 429, retryAfterSeconds: 30 });
    const started = Date.now();
    const error = await notifierError(notifier({ retries: 2 }).post(APPROVALS, message, TAG));
    expect(error.code).toBe("ratelimited");
    expect(error.message).toContain("30");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("without a token Slack answers invalid_auth", async () => {
    const error = await notifierError(notifier({ token: "" }).post(APPROVALS, message, TAG));
    expect(error.code).toBe("invalid_auth");
  });

  it("an unreachable Slack fails with network_error", async () => {
    const gone = await startSlackApi();
    await gone.stop();
    const error = await notifierError(notifier({ slackApiUrl: gone.url }).userInfo("U0BOB"));
    expect(error.code).toBe("network_error");
  });
});

describe("the fake Slack API", () => {
  const post = (body: string, headers: Record<string, string>, method = "chat.postMessage") =>
    fetch(`${api.url}${method}`, { method: "POST", body, headers }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as Record<string, unknown>,
    }));

  it("accepts JSON bodies with a bearer token, in Slack's response shape", async () => {
    const res = await post(JSON.stringify({ channel: APPROVALS, ...message }), {
      "content-type": "application/json; charset=utf-8",
      authorization: "Bearer xoxb-json",
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      ok: true,
      channel: APPROVALS,
      message: { type: "message", text: message.text, blocks: message.blocks },
    });
    expect(res.body.ts).toEqual((res.body.message as { ts: string }).ts);
  });

  it("accepts a form body with the token as a parameter", async () => {
    const form = new URLSearchParams({ token: "xoxb-form", user: "U0CAROL" });
    const res = await post(
      form.toString(),
      { "content-type": "application/x-www-form-urlencoded" },
      "users.info",
    );
    expect(res.body).toMatchObject({
      ok: true,
      user: { id: "U0CAROL", profile: { email: "carol@example.com" } },
    });
    expect(api.state.calls("users.info").at(-1)?.params.token).toBe("[redacted]");
  });

  it("answers Slack's errors: invalid_auth, no_text, invalid_blocks_format, unknown_method", async () => {
    const json = { "content-type": "application/json" };
    const auth = { ...json, authorization: "Bearer x" };
    expect((await post(JSON.stringify({ channel: APPROVALS, text: "hi" }), json)).body.error).toBe(
      "invalid_auth",
    );
    expect((await post(JSON.stringify({ channel: APPROVALS }), auth)).body.error).toBe("no_text");
    const badBlocks = new URLSearchParams({ channel: APPROVALS, text: "x", blocks: "{not json" });
    expect(
      (
        await post(badBlocks.toString(), {
          "content-type": "application/x-www-form-urlencoded",
          authorization: "Bearer x",
        })
      ).body.error,
    ).toBe("invalid_blocks_format");
    expect((await post("{}", auth, "chat.nope")).body).toMatchObject({
      ok: false,
      error: "unknown_method",
    });
  });

  it("auth.test names the bot", async () => {
    const res = await post(
      "{}",
      { "content-type": "application/json", authorization: "Bearer x" },
      "auth.test",
    );
    expect(res.body).toMatchObject({ ok: true, user_id: "U0SGBOT", team_id: "T0SANDBOX" });
  });

  it("keeps at most maxMessages messages", async () => {
    const small = await startSlackApi({ maxMessages: 3 });
    try {
      const n = notifier({ slackApiUrl: small.url });
      const refs = [];
      for (let i = 0; i < 5; i++) refs.push(await n.post("C1", { text: `m${i}`, blocks: [] }, TAG));
      expect(small.state.messages().map((m) => m.text)).toEqual(["m2", "m3", "m4"]);
    } finally {
      await small.stop();
    }
  });

  it("stop() is idempotent and ends a stalled request", async () => {
    const other = await startSlackApi();
    other.failNext("*", { delayMs: 60_000 });
    const pending = fetch(`${other.url}auth.test`, {
      method: "POST",
      headers: { authorization: "Bearer x" },
    }).then(
      () => "answered",
      () => "closed",
    );
    await new Promise((r) => setTimeout(r, 50));
    await other.stop();
    await other.stop();
    expect(await pending).toBe("closed");
  });
});

const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  setLevel() {},
  getLevel() {
    return LogLevel.ERROR;
  },
  setName() {},
};
