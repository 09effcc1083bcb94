/**
 * A loopback fake of Slack's Web API, for the tests and the `npm start` sandbox. It answers the
 * methods the system calls in Slack's own shapes, over real HTTP, so @slack/web-api's WebClient
 * talks to it unchanged (give it `slackApiUrl: api.url`).
 *
 *   chat.postMessage (with metadata), chat.update, chat.postEphemeral, users.info, auth.test,
 *   usergroups.users.list, conversations.history (newest first, with metadata on request)
 *
 * Bodies may be JSON (`Authorization: Bearer …`) or form-encoded, as WebClient sends them (objects
 * such as `blocks` JSON-stringified inside the form). Any non-empty bearer token is accepted, or a
 * `token` parameter; none gives `invalid_auth`. `failNext` injects HTTP errors, delays and Slack
 * errors. State keeps the latest version of each message with its earlier versions, and the
 * ephemerals; `state.subscribe` reports every change (the sandbox page pushes them live). With
 * `persistFile`, messages and ephemerals outlive the process: loaded at start, and the file is
 * rewritten atomically (a temporary file renamed over it) shortly after each change and on stop.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname } from "node:path";
import * as z from "zod";

export interface SlackUserSeed {
  id: string;
  name: string;
  email?: string;
  realName?: string;
  isBot?: boolean;
}

export const DEFAULT_USERS: readonly SlackUserSeed[] = [
  { id: "U0ALICE", name: "alice", email: "alice@example.com", realName: "Alice" },
  { id: "U0BOB", name: "bob", email: "bob@example.com", realName: "Bob" },
  { id: "U0CAROL", name: "carol", email: "carol@example.com", realName: "Carol" },
  { id: "U0MALLORY", name: "mallory", email: "mallory@example.com", realName: "Mallory" },
];

export const DEFAULT_USER_GROUPS: Readonly<Record<string, readonly string[]>> = {
  S0APPROVERS: ["U0BOB", "U0CAROL"],
  /** policy.example.json's @security group: the approvers of its two-approver rules. */
  S0SECURITY1: ["U0BOB", "U0CAROL"],
};

/** Who the fake says the token belongs to (auth.test) and who posts the messages. */
export const SANDBOX_BOT = {
  userId: "U0SGBOT",
  botId: "B0SGBOT",
  appId: "A0SGAPP",
  teamId: "T0SANDBOX",
  team: "Sandbox",
  name: "secgroup-approval",
} as const;

export interface MessageVersion {
  text: string;
  blocks: unknown[];
  /** ISO time of this version. */
  at: string;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  /** The latest text and blocks. */
  text: string;
  blocks: unknown[];
  /** Every version, oldest first, the latest included (the oldest dropped past a cap). */
  versions: MessageVersion[];
  postedAt: string;
  updatedAt?: string;
  /** Message metadata, as chat.postMessage took it. */
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
}

export interface StoredEphemeral {
  channel: string;
  user: string;
  text: string;
  blocks?: unknown[];
  messageTs: string;
  at: string;
}

export interface ApiCall {
  method: string;
  params: Record<string, unknown>;
  ok: boolean;
  /** Slack's error string, or "http_<status>" for an injected HTTP failure. */
  error?: string;
  at: string;
}

export type SlackApiEvent =
  | { type: "message_posted"; message: StoredMessage }
  | { type: "message_updated"; message: StoredMessage }
  | { type: "ephemeral_posted"; ephemeral: StoredEphemeral }
  | { type: "api_call"; call: ApiCall }
  | { type: "cleared" };

export type SlackApiListener = (event: SlackApiEvent) => void;

export interface SlackApiFault {
  /** Answer with this HTTP status instead (429 carries Retry-After). */
  status?: number;
  /** Wait this long before answering (a time-out for a client with a shorter one). */
  delayMs?: number;
  /** Answer HTTP 200 {ok:false, error}. */
  error?: string;
  /** Seconds in Retry-After for status 429. Default 1. */
  retryAfterSeconds?: number;
  /** How many calls this applies to. Default 1. */
  times?: number;
}

export interface StartSlackApiOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default DEFAULT_USERS. */
  users?: readonly SlackUserSeed[];
  /** Default DEFAULT_USER_GROUPS. */
  userGroups?: Readonly<Record<string, readonly string[]>>;
  /** When given, only these channel ids exist (others: channel_not_found); otherwise any does. */
  channels?: readonly string[];
  /** Messages kept; the oldest are dropped past it. Default 10 000. Ephemerals likewise. */
  maxMessages?: number;
  /** For ts values and times. Default Date.now. */
  now?: () => number;
  /**
   * Keep messages and ephemerals in this JSON file: read at start (absent = empty), rewritten
   * atomically PERSIST_DELAY_MS after a change and on stop. API calls are not kept.
   */
  persistFile?: string;
  /** A failed write of persistFile. Default: one line on stderr. */
  onPersistError?: (error: unknown) => void;
}

/** What persistFile holds. */
export interface SlackApiSnapshot {
  version: 1;
  messages: StoredMessage[];
  ephemerals: StoredEphemeral[];
}

const versionSchema = z.object({ text: z.string(), blocks: z.array(z.unknown()), at: z.string() });
const snapshotSchema = z.object({
  version: z.literal(1),
  messages: z.array(
    z.object({
      channel: z.string(),
      ts: z.string().regex(/^\d+\.\d{6}$/),
      text: z.string(),
      blocks: z.array(z.unknown()),
      versions: z.array(versionSchema),
      postedAt: z.string(),
      updatedAt: z.string().optional(),
      metadata: z
        .object({ event_type: z.string(), event_payload: z.record(z.string(), z.unknown()) })
        .optional(),
    }),
  ),
  ephemerals: z.array(
    z.object({
      channel: z.string(),
      user: z.string(),
      text: z.string(),
      blocks: z.array(z.unknown()).optional(),
      messageTs: z.string().regex(/^\d+\.\d{6}$/),
      at: z.string(),
    }),
  ),
});

/** Writes to persistFile wait this long, so a burst of changes is one write. */
export const PERSIST_DELAY_MS = 50;

export interface SlackApi {
  /** Base URL ending with "/api/", for WebClient's slackApiUrl. */
  url: string;
  port: number;
  state: SlackApiState;
  /** Makes the next call(s) of `method` ("*" for any) fail or stall. Faults queue in order. */
  failNext(method: string, fault: SlackApiFault): void;
  /** Drops injected faults not yet used. */
  clearFaults(): void;
  /** Closes the server and every connection. Safe to call more than once. */
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_VERSIONS = 50;
const MAX_CALLS = 1_000;
const MAX_BLOCKS = 50;
const MAX_TEXT = 40_000;

/** Thrown inside a method handler: answered as HTTP 200 {ok:false, error}. */
class SlackApiMethodError extends Error {
  constructor(readonly error: string) {
    super(error);
  }
}

/** The fake's memory. Getters return copies: mutate it only through the API. */
export class SlackApiState {
  private readonly messageMap = new Map<string, StoredMessage>();
  private readonly ephemeralList: StoredEphemeral[] = [];
  private readonly callList: ApiCall[] = [];
  private readonly userMap = new Map<string, SlackUserSeed>();
  private readonly groupMap = new Map<string, string[]>();
  private readonly channelSet: ReadonlySet<string> | undefined;
  private readonly listeners = new Set<SlackApiListener>();
  private readonly maxMessages: number;
  private readonly now: () => number;
  private lastSec = 0;
  private lastMicro = 0;

  constructor(options: StartSlackApiOptions = {}) {
    for (const user of options.users ?? DEFAULT_USERS) this.addUser(user);
    for (const [id, members] of Object.entries(options.userGroups ?? DEFAULT_USER_GROUPS)) {
      this.setUserGroup(id, members);
    }
    this.channelSet = options.channels ? new Set(options.channels) : undefined;
    this.maxMessages = Math.max(1, options.maxMessages ?? 10_000);
    this.now = options.now ?? Date.now;
  }

  /** The latest version of a message, with its history. */
  message(channel: string, ts: string): StoredMessage | undefined {
    const found = this.messageMap.get(key(channel, ts));
    return found && structuredClone(found);
  }

  /** Messages in the order posted, optionally of one channel. */
  messages(channel?: string): StoredMessage[] {
    const all = [...this.messageMap.values()];
    return structuredClone(channel === undefined ? all : all.filter((m) => m.channel === channel));
  }

  ephemerals(channel?: string): StoredEphemeral[] {
    const all = this.ephemeralList;
    return structuredClone(channel === undefined ? all : all.filter((e) => e.channel === channel));
  }

  /** The last 1 000 API calls, oldest first, optionally of one method. */
  calls(method?: string): ApiCall[] {
    const all = this.callList;
    return structuredClone(method === undefined ? all : all.filter((c) => c.method === method));
  }

  user(id: string): SlackUserSeed | undefined {
    const found = this.userMap.get(id);
    return found && { ...found };
  }

  users(): SlackUserSeed[] {
    return [...this.userMap.values()].map((u) => ({ ...u }));
  }

  userGroupMembers(groupId: string): string[] | undefined {
    const members = this.groupMap.get(groupId);
    return members && [...members];
  }

  addUser(user: SlackUserSeed): void {
    this.userMap.set(user.id, { ...user });
  }

  setUserGroup(groupId: string, members: readonly string[]): void {
    this.groupMap.set(groupId, [...members]);
  }

  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: SlackApiListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Forgets messages, ephemerals and calls (users and groups stay). */
  clear(): void {
    this.messageMap.clear();
    this.ephemeralList.length = 0;
    this.callList.length = 0;
    this.emit({ type: "cleared" });
  }

  /** Messages and ephemerals, as persistFile keeps them. */
  snapshot(): SlackApiSnapshot {
    return {
      version: 1,
      messages: structuredClone([...this.messageMap.values()]),
      ephemerals: structuredClone(this.ephemeralList),
    };
  }

  /** Replaces messages and ephemerals with a snapshot's; new ts values follow the restored ones. */
  restore(snapshot: SlackApiSnapshot): void {
    this.messageMap.clear();
    this.ephemeralList.length = 0;
    for (const message of snapshot.messages)
      this.messageMap.set(key(message.channel, message.ts), structuredClone(message));
    this.ephemeralList.push(...structuredClone(snapshot.ephemerals));
    for (const oldest of this.messageMap.keys()) {
      if (this.messageMap.size <= this.maxMessages) break;
      this.messageMap.delete(oldest);
    }
    this.ephemeralList.splice(0, Math.max(0, this.ephemeralList.length - this.maxMessages));
    for (const ts of [
      ...snapshot.messages.map((m) => m.ts),
      ...snapshot.ephemerals.map((e) => e.messageTs),
    ]) {
      const [sec, micro] = ts.split(".").map(Number) as [number, number];
      if (sec > this.lastSec || (sec === this.lastSec && micro > this.lastMicro)) {
        this.lastSec = sec;
        this.lastMicro = micro;
      }
    }
    this.emit({ type: "cleared" });
  }

  channelExists(channel: string): boolean {
    return this.channelSet === undefined || this.channelSet.has(channel);
  }

  postMessage(
    channel: string,
    text: string,
    blocks: unknown[],
    metadata?: StoredMessage["metadata"],
  ): StoredMessage {
    const ts = this.nextTs();
    const at = new Date(this.now()).toISOString();
    const message: StoredMessage = {
      channel,
      ts,
      text,
      blocks,
      versions: [{ text, blocks, at }],
      postedAt: at,
      ...(metadata ? { metadata } : {}),
    };
    this.messageMap.set(key(channel, ts), message);
    while (this.messageMap.size > this.maxMessages) {
      const oldest = this.messageMap.keys().next();
      if (oldest.done) break;
      this.messageMap.delete(oldest.value);
    }
    this.emit({ type: "message_posted", message: structuredClone(message) });
    return structuredClone(message);
  }

  updateMessage(
    channel: string,
    ts: string,
    text: string | undefined,
    blocks: unknown[] | undefined,
  ): StoredMessage | undefined {
    const message = this.messageMap.get(key(channel, ts));
    if (!message) return undefined;
    const at = new Date(this.now()).toISOString();
    message.text = text ?? message.text;
    // As Slack: without `blocks` an update keeps the previous blocks; [] removes them.
    message.blocks = blocks ?? message.blocks;
    message.updatedAt = at;
    message.versions.push({ text: message.text, blocks: message.blocks, at });
    if (message.versions.length > MAX_VERSIONS)
      message.versions.splice(0, message.versions.length - MAX_VERSIONS);
    this.emit({ type: "message_updated", message: structuredClone(message) });
    return structuredClone(message);
  }

  postEphemeral(channel: string, user: string, text: string, blocks?: unknown[]): StoredEphemeral {
    const ephemeral: StoredEphemeral = {
      channel,
      user,
      text,
      ...(blocks ? { blocks } : {}),
      messageTs: this.nextTs(),
      at: new Date(this.now()).toISOString(),
    };
    this.ephemeralList.push(ephemeral);
    if (this.ephemeralList.length > this.maxMessages) this.ephemeralList.shift();
    this.emit({ type: "ephemeral_posted", ephemeral: structuredClone(ephemeral) });
    return structuredClone(ephemeral);
  }

  recordCall(call: ApiCall): void {
    this.callList.push(call);
    if (this.callList.length > MAX_CALLS) this.callList.shift();
    this.emit({ type: "api_call", call: structuredClone(call) });
  }

  isoNow(): string {
    return new Date(this.now()).toISOString();
  }

  /** "1732363200.000100": seconds and microseconds, strictly increasing like Slack's. */
  private nextTs(): string {
    const sec = Math.floor(this.now() / 1000);
    if (sec > this.lastSec) {
      this.lastSec = sec;
      this.lastMicro = 100;
    } else {
      this.lastMicro += 100;
      if (this.lastMicro > 999_999) {
        this.lastSec += 1;
        this.lastMicro = 100;
      }
    }
    return `${this.lastSec}.${String(this.lastMicro).padStart(6, "0")}`;
  }

  private emit(event: SlackApiEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure must not fail the API call (or the other listeners).
      }
    }
  }
}

/** Starts the fake on loopback. */
export async function startSlackApi(options: StartSlackApiOptions = {}): Promise<SlackApi> {
  const state = new SlackApiState(options);
  const persistence = options.persistFile
    ? await persist(state, options.persistFile, options.onPersistError)
    : undefined;
  const faults = new Map<string, (SlackApiFault & { times: number })[]>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const takeFault = (method: string): SlackApiFault | undefined => {
    for (const name of [method, "*"]) {
      const queue = faults.get(name);
      const fault = queue?.[0];
      if (!queue || !fault) continue;
      fault.times -= 1;
      if (fault.times <= 0) queue.shift();
      if (queue.length === 0) faults.delete(name);
      return fault;
    }
    return undefined;
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      send(res, 500, { ok: false, error: "fatal_error", detail: String(error) });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const match = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
    if (!match?.[1]) {
      send(res, 404, { ok: false, error: "not_found" });
      return;
    }
    const method = match[1];
    if (req.method !== "POST" && req.method !== "GET") {
      send(res, 405, { ok: false, error: "method_not_allowed" });
      return;
    }

    let raw: Buffer;
    try {
      raw = await readBody(req, MAX_BODY_BYTES);
    } catch {
      send(res, 413, { ok: false, error: "request_too_large" });
      return;
    }

    let params: Record<string, unknown>;
    try {
      params = { ...Object.fromEntries(url.searchParams), ...parseBody(req, raw) };
    } catch (error) {
      const code = error instanceof SlackApiMethodError ? error.error : "invalid_form_data";
      answer(res, method, {}, { ok: false, error: code });
      return;
    }

    const fault = takeFault(method);
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (stopped) return;
    if (fault?.status !== undefined && fault.status !== 200) {
      state.recordCall({
        method,
        params: redact(params),
        ok: false,
        error: `http_${fault.status}`,
        at: state.isoNow(),
      });
      if (fault.status === 429) {
        const retryAfter = String(fault.retryAfterSeconds ?? 1);
        send(res, 429, { ok: false, error: "ratelimited" }, { "retry-after": retryAfter });
      } else {
        sendText(res, fault.status, `fake Slack: injected HTTP ${fault.status}`);
      }
      return;
    }
    if (fault?.error) {
      answer(res, method, params, { ok: false, error: fault.error });
      return;
    }

    if (!hasToken(req, params)) {
      answer(res, method, params, { ok: false, error: "invalid_auth" });
      return;
    }
    try {
      answer(res, method, params, { ok: true, ...dispatch(method, params) });
    } catch (error) {
      if (!(error instanceof SlackApiMethodError)) throw error;
      answer(res, method, params, {
        ok: false,
        error: error.error,
        ...(error.error === "unknown_method" ? { req_method: method } : {}),
      });
    }
  }

  function answer(
    res: ServerResponse,
    method: string,
    params: Record<string, unknown>,
    body: Record<string, unknown>,
  ): void {
    const ok = body.ok === true;
    state.recordCall({
      method,
      params: redact(params),
      ok,
      ...(ok ? {} : { error: String(body.error) }),
      at: state.isoNow(),
    });
    send(res, 200, body);
  }

  function dispatch(method: string, params: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case "auth.test":
        return {
          url: "https://sandbox.slack.com/",
          team: SANDBOX_BOT.team,
          user: SANDBOX_BOT.name,
          team_id: SANDBOX_BOT.teamId,
          user_id: SANDBOX_BOT.userId,
          bot_id: SANDBOX_BOT.botId,
          is_enterprise_install: false,
        };
      case "chat.postMessage": {
        const channel = requireChannel(params);
        const { text, blocks } = content(params);
        const message = state.postMessage(channel, text ?? "", blocks ?? [], metadataOf(params));
        return { channel, ts: message.ts, message: messageShape(message) };
      }
      case "conversations.history": {
        const channel = requireChannel(params);
        const oldest = Number(str(params, "oldest") ?? "0");
        const limit = Math.min(1000, Math.max(1, Number(str(params, "limit") ?? "100")));
        const start = Number(str(params, "cursor") ?? "0");
        const withMetadata = ["true", "1", true].includes(params.include_all_metadata as string);
        const all = state
          .messages(channel)
          .filter((m) => Number(m.ts) >= oldest)
          .reverse();
        const page = all.slice(start, start + limit);
        const more = start + limit < all.length;
        return {
          messages: page.map((m) => ({
            type: "message",
            ts: m.ts,
            text: m.text,
            ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}),
          })),
          has_more: more,
          response_metadata: { next_cursor: more ? String(start + limit) : "" },
        };
      }
      case "chat.update": {
        const channel = requireChannel(params);
        const ts = str(params, "ts");
        if (!ts) throw new SlackApiMethodError("message_not_found");
        const { text, blocks } = content(params);
        const message = state.updateMessage(channel, ts, text, blocks);
        if (!message) throw new SlackApiMethodError("message_not_found");
        return { channel, ts, text: message.text, message: messageShape(message) };
      }
      case "chat.postEphemeral": {
        const channel = requireChannel(params);
        const user = str(params, "user");
        if (!user || !state.user(user)) throw new SlackApiMethodError("user_not_found");
        const { text, blocks } = content(params);
        const ephemeral = state.postEphemeral(channel, user, text ?? "", blocks);
        return { message_ts: ephemeral.messageTs };
      }
      case "users.info": {
        const id = str(params, "user");
        const user = id ? state.user(id) : undefined;
        if (!user) throw new SlackApiMethodError("user_not_found");
        return { user: userShape(user) };
      }
      case "usergroups.users.list": {
        const id = str(params, "usergroup");
        const members = id ? state.userGroupMembers(id) : undefined;
        if (!members) throw new SlackApiMethodError("no_such_subteam");
        return { users: members };
      }
      default:
        throw new SlackApiMethodError("unknown_method");
    }
  }

  function requireChannel(params: Record<string, unknown>): string {
    const channel = str(params, "channel");
    if (!channel || !state.channelExists(channel))
      throw new SlackApiMethodError("channel_not_found");
    return channel;
  }

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    persistence?.detach();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}/api/`,
    port: address.port,
    state,
    failNext(method, fault) {
      const times = fault.times ?? 1;
      if (!Number.isInteger(times) || times < 1)
        throw new RangeError("failNext: times must be >= 1");
      const queue = faults.get(method) ?? [];
      queue.push({ ...fault, times });
      faults.set(method, queue);
    },
    clearFaults() {
      faults.clear();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await persistence?.flush();
      persistence?.detach();
    },
  };
}

/**
 * Loads `file` into `state` (a missing file is an empty state; an unreadable one an error that
 * says so) and keeps the file in step with the state from then on.
 */
async function persist(
  state: SlackApiState,
  file: string,
  onError: (error: unknown) => void = (error) =>
    console.error(`slack-api: could not write ${file}: ${String(error)}`),
): Promise<{ flush(): Promise<void>; detach(): void }> {
  let text: string | undefined;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (text !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new Error(`${file} is not JSON (${String(error)}): remove it to start empty`);
    }
    const result = snapshotSchema.safeParse(parsed);
    if (!result.success) {
      throw new Error(
        `${file} is not a Slack fake state (${result.error.issues[0]?.message}): remove it to start empty`,
      );
    }
    state.restore(result.data);
  }
  await mkdir(dirname(file), { recursive: true });

  const temp = `${file}.${process.pid}.tmp`;
  let timer: NodeJS.Timeout | undefined;
  let dirty = false;
  let writing: Promise<void> = Promise.resolve();
  const write = (): Promise<void> => {
    writing = writing.then(async () => {
      if (!dirty) return;
      dirty = false;
      try {
        await writeFile(temp, JSON.stringify(state.snapshot()));
        await rename(temp, file);
      } catch (error) {
        onError(error);
      }
    });
    return writing;
  };
  const unsubscribe = state.subscribe((event) => {
    if (event.type === "api_call") return;
    dirty = true;
    timer ??= setTimeout(() => {
      timer = undefined;
      void write();
    }, PERSIST_DELAY_MS);
    timer.unref();
  });
  return {
    flush() {
      clearTimeout(timer);
      timer = undefined;
      return write();
    },
    detach() {
      clearTimeout(timer);
      timer = undefined;
      unsubscribe();
    },
  };
}

function key(channel: string, ts: string): string {
  return `${channel}/${ts}`;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error("body too large"));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function parseBody(req: IncomingMessage, raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) return {};
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type === "application/json") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString("utf8"));
    } catch {
      throw new SlackApiMethodError("invalid_json");
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new SlackApiMethodError("invalid_json");
    }
    return parsed as Record<string, unknown>;
  }
  if (type === "application/x-www-form-urlencoded" || type === "") {
    return Object.fromEntries(new URLSearchParams(raw.toString("utf8")));
  }
  throw new SlackApiMethodError("invalid_form_data");
}

function hasToken(req: IncomingMessage, params: Record<string, unknown>): boolean {
  const header = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  if (header?.[1]) return true;
  return typeof params.token === "string" && params.token.trim() !== "";
}

function str(params: Record<string, unknown>, name: string): string | undefined {
  const value = params[name];
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/** chat.postMessage's `metadata` (an object, or JSON text in a form body), checked. */
function metadataOf(params: Record<string, unknown>): StoredMessage["metadata"] {
  let value = params.metadata;
  if (value === undefined) return undefined;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      throw new SlackApiMethodError("invalid_metadata_format");
    }
  }
  const m = value as { event_type?: unknown; event_payload?: unknown };
  if (typeof m?.event_type !== "string" || typeof m.event_payload !== "object" || !m.event_payload)
    throw new SlackApiMethodError("invalid_metadata_schema");
  return { event_type: m.event_type, event_payload: m.event_payload as Record<string, unknown> };
}

/** text and blocks of a post or update; blocks may come JSON-stringified (form bodies). */
function content(params: Record<string, unknown>): { text?: string; blocks?: unknown[] } {
  const text = str(params, "text");
  let blocks: unknown = params.blocks;
  if (typeof blocks === "string") {
    try {
      blocks = JSON.parse(blocks);
    } catch {
      throw new SlackApiMethodError("invalid_blocks_format");
    }
  }
  if (blocks !== undefined && !Array.isArray(blocks))
    throw new SlackApiMethodError("invalid_blocks_format");
  if (Array.isArray(blocks)) {
    if (blocks.length > MAX_BLOCKS) throw new SlackApiMethodError("invalid_blocks");
    if (
      blocks.some(
        (b) =>
          typeof b !== "object" || b === null || typeof (b as { type?: unknown }).type !== "string",
      )
    ) {
      throw new SlackApiMethodError("invalid_blocks");
    }
  }
  if (
    (text === undefined || text === "") &&
    (blocks === undefined || (blocks as unknown[]).length === 0)
  ) {
    throw new SlackApiMethodError("no_text");
  }
  if (text !== undefined && text.length > MAX_TEXT) throw new SlackApiMethodError("msg_too_long");
  return {
    ...(text !== undefined ? { text } : {}),
    ...(blocks !== undefined ? { blocks: blocks as unknown[] } : {}),
  };
}

function messageShape(message: StoredMessage): Record<string, unknown> {
  return {
    type: "message",
    subtype: "bot_message",
    text: message.text,
    user: SANDBOX_BOT.userId,
    bot_id: SANDBOX_BOT.botId,
    app_id: SANDBOX_BOT.appId,
    team: SANDBOX_BOT.teamId,
    ts: message.ts,
    blocks: message.blocks,
    ...(message.updatedAt ? { edited: { user: SANDBOX_BOT.userId, ts: message.ts } } : {}),
  };
}

function userShape(user: SlackUserSeed): Record<string, unknown> {
  const realName = user.realName ?? user.name;
  return {
    id: user.id,
    team_id: SANDBOX_BOT.teamId,
    name: user.name,
    deleted: false,
    real_name: realName,
    tz: "Etc/UTC",
    is_bot: user.isBot ?? false,
    is_admin: false,
    profile: {
      real_name: realName,
      real_name_normalized: realName,
      display_name: user.name,
      display_name_normalized: user.name,
      ...(user.email ? { email: user.email } : {}),
    },
  };
}

function redact(params: Record<string, unknown>): Record<string, unknown> {
  if (!("token" in params)) return params;
  const { token: _token, ...rest } = params;
  return { ...rest, token: "[redacted]" };
}

function send(
  res: ServerResponse,
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
