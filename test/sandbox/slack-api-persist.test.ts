/**
 * The Slack fake keeps its messages in a file: a fake restarted on the same file shows the old
 * messages (latest state and history) and ephemerals, and its new ts values come after theirs.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebClient } from "@slack/web-api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type SlackApi, startSlackApi } from "../../src/sandbox/slack-api.js";

let dir: string;
const running: SlackApi[] = [];
const start = async (file = join(dir, "slack.json")) => {
  const api = await startSlackApi({ persistFile: file });
  running.push(api);
  return api;
};
const client = (api: SlackApi) =>
  new WebClient("xoxb-test", { slackApiUrl: api.url, retryConfig: { retries: 0 } });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "slack-persist-"));
});
afterEach(async () => {
  for (const api of running.splice(0)) await api.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("the Slack fake's persisted state", () => {
  it("a fake restarted on the same file shows the old messages, updated, and the ephemerals", async () => {
    const first = await start();
    const web = client(first);
    const posted = await web.chat.postMessage({
      channel: "C0APPROVAL",
      text: "request r-1",
      blocks: [{ type: "section", text: { type: "mrkdwn", text: "*pending*" } }],
    });
    await web.chat.postMessage({ channel: "C0MONITORING", text: "monitoring r-1" });
    await web.chat.update({
      channel: "C0APPROVAL",
      ts: posted.ts as string,
      text: "request r-1 approved",
      blocks: [{ type: "section", text: { type: "mrkdwn", text: "*approved*" } }],
    });
    await web.chat.postEphemeral({ channel: "C0APPROVAL", user: "U0BOB", text: "only bob" });
    const before = first.state.messages();
    await first.stop();

    const second = await start();
    expect(second.state.messages()).toEqual(before);
    expect(second.state.message("C0APPROVAL", posted.ts as string)).toMatchObject({
      text: "request r-1 approved",
      blocks: [{ type: "section", text: { type: "mrkdwn", text: "*approved*" } }],
    });
    expect(second.state.message("C0APPROVAL", posted.ts as string)?.versions).toHaveLength(2);
    expect(second.state.ephemerals()).toMatchObject([{ user: "U0BOB", text: "only bob" }]);

    // The old message can still be updated (a pending request's buttons keep working), and new
    // messages get later ts values than any restored one.
    const web2 = client(second);
    await web2.chat.update({ channel: "C0APPROVAL", ts: posted.ts as string, text: "denied" });
    const next = await web2.chat.postMessage({ channel: "C0APPROVAL", text: "request r-2" });
    const ts = second.state.messages().map((m) => Number(m.ts));
    expect(Number(next.ts)).toBe(Math.max(...ts));
    expect(new Set(ts).size).toBe(ts.length);
    await second.stop();

    const third = await start();
    expect(third.state.messages().map((m) => m.text)).toEqual([
      "denied",
      "monitoring r-1",
      "request r-2",
    ]);
  });

  it("writes the file atomically shortly after a change, without waiting for stop", async () => {
    const api = await start();
    await client(api).chat.postMessage({ channel: "C0APPROVAL", text: "hello" });
    const file = join(dir, "slack.json");
    for (let i = 0; i < 200; i++) {
      const text = await readFile(file, "utf8").catch(() => "");
      if (text.includes("hello")) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(JSON.parse(await readFile(file, "utf8"))).toMatchObject({
      version: 1,
      messages: [{ channel: "C0APPROVAL", text: "hello" }],
      ephemerals: [],
    });
    await api.stop();
    expect(await readdir(dir)).toEqual(["slack.json"]);
  });

  it("starts empty without a file, and refuses a file that is not its state", async () => {
    const api = await start(join(dir, "nested", "slack.json"));
    expect(api.state.messages()).toEqual([]);
    await api.stop();

    const bad = join(dir, "bad.json");
    await writeFile(bad, '{"version": 1, "messages": "no"}');
    await expect(startSlackApi({ persistFile: bad })).rejects.toThrow(/remove it to start empty/);
    await writeFile(bad, "{not json");
    await expect(startSlackApi({ persistFile: bad })).rejects.toThrow(/is not JSON/);
  });

  it("a fake without persistFile writes nothing", async () => {
    const api = await startSlackApi();
    running.push(api);
    await client(api).chat.postMessage({ channel: "C0APPROVAL", text: "hello" });
    await api.stop();
    expect(await readdir(dir)).toEqual([]);
  });
});
