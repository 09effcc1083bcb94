/**
 * The sandbox's EC2 endpoint: a thin loopback HTTP proxy in front of moto server that forwards
 * every request unchanged and, like CloudTrail + EventBridge, turns each successful
 * security-group write call into the "AWS API Call via CloudTrail" event AWS would deliver.
 *
 * - Forwarding: method, path, query, headers (hop-by-hop ones aside) and body go to the upstream
 *   as they came; status, headers and body come back as moto sent them. Any service's calls pass.
 * - The caller: the access key id of the SigV4 `Credential=` (or X-Amz-Credential) picks an
 *   identity; the credential scope's region is the event's region.
 * - The governed calls (AuthorizeSecurityGroupIngress/Egress, RevokeSecurityGroupIngress/
 *   Egress, ModifySecurityGroupRules, CreateSecurityGroup, ModifyManagedPrefixList) go through one
 *   queue per security group (its GroupId; a call naming its group only by GroupName queues under
 *   that name, a prefix-list call under its list; a call naming none shares one queue with the
 *   others like it), one call at a time in each: each is forwarded (between
 *   its before and after snapshots, see below), answered, and then its event is emitted, so a
 *   group's events follow its call order and come after the caller has its answer (CloudTrail ->
 *   EventBridge is asynchronous too). Calls on different groups proceed concurrently, and their
 *   events may come in any order, as CloudTrail's do. Other calls are not queued.
 * - Where moto 5.2.1 answers less than EC2, the proxy asks moto (DescribeSecurityGroupRules,
 *   with the caller's own headers, before and after the call) to write what EC2 would:
 *   - Revoke*: moto returns only `<return>`; EC2 also returns `revokedSecurityGroupRuleSet`. The
 *     proxy reads the group's rules before and after the call and lists the rules that the call
 *     removed (by rule id, or matching the revoked permissions). A Revoke by the ids of rules the
 *     proxy has seen (in an Authorize's answer or a snapshot: rule-memory.ts) is written from
 *     what it saw, with no snapshot: the member's revert of a change costs moto one call.
 *   - Authorize* with several IpPermissions: moto returns only the last permission's rules; the
 *     rules the call added are then read from the before/after difference.
 *   - moto leaves out `description` for group and prefix-list peers, `groupOwnerId`, and the
 *     ports of protocol -1: they are filled from the request, the account, and -1.
 *   - moto's body requestId is the constant "request-id": the event's requestID (and
 *     responseElements.requestId) is moto's x-amzn-requestid header instead, the value the SDK
 *     reports as `$metadata.requestId`.
 *   - moto keeps resources in account 123456789012 unless told otherwise (MOTO_ACCOUNT_ID, or the
 *     x-moto-account-id header that `pinUpstreamAccount` adds): events always name `account`.
 * - A call with the header `x-sandbox-untracked: 1`, or sent to the endpoint URL + `/untracked`
 *   (for the AWS CLI, which cannot add headers), is carried out but emits no event: a change
 *   CloudTrail missed, which only the drift check finds.
 * - Memory is bounded: request bodies are inspected only up to 1 MiB (larger ones stream through
 *   uninspected), governed responses up to 4 MiB, and at most `maxQueued` governed calls wait
 *   (all groups together); beyond that the caller gets EC2's RequestLimitExceeded (503), which
 *   SDKs retry.
 */
import { randomUUID } from "node:crypto";
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { apiCallEvent, cloudTrailTime, type EventBridgeEvent } from "./cloudtrail/event.js";
import {
  defaultIdentities,
  type Identity,
  identityFor,
  userIdentity,
} from "./cloudtrail/identity.js";
import {
  type EventAction,
  isEventAction,
  type Json,
  listMembers,
  parseQueryParams,
  type QueryParams,
  requestedRules,
  requestParameters,
  ruleMatchKey,
} from "./cloudtrail/request.js";
import {
  authorizeResponseElements,
  eventResponseElements,
  modifyResponseElements,
  parseEc2Error,
  type ReportedRule,
  reportedPeer,
  reportedRules,
  revokeResponseElements,
} from "./cloudtrail/response.js";
import { child, childText, parseXml, type XmlElement } from "./cloudtrail/xml.js";
import { RuleMemory } from "./rule-memory.js";

export { cloudTrailTime, type EventBridgeEvent } from "./cloudtrail/event.js";
export {
  type AssumedRoleIdentity,
  defaultIdentities,
  type IamUserIdentity,
  type Identity,
  SYSTEM_ACCESS_KEY,
} from "./cloudtrail/identity.js";

export interface Ec2ProxyOptions {
  /** moto's base URL, e.g. http://127.0.0.1:5000. */
  upstream: string;
  /** 0 (the default) picks a free port; the sandbox uses 4566. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The account the events are recorded in, e.g. 111122223333. */
  account: string;
  /** The region of calls whose signature names none. */
  region: string;
  /** Access key id -> identity; default defaultIdentities(account). Unknown keys: IAM users. */
  identities?: Readonly<Record<string, Identity>>;
  /** Receives each event once the call's response has been sent. Exceptions go to onError. */
  onEvent: (event: EventBridgeEvent) => void;
  clock?: () => Date;
  /**
   * Also emit failed governed calls (non-2xx), as CloudTrail records them: errorCode
   * "Client.<Code>" (or "Server.<Code>"), errorMessage, responseElements null. Default false (the
   * member rule drops them anyway).
   */
  emitFailed?: boolean;
  /**
   * Add `x-moto-account-id: <account>` to forwarded requests that lack one, so moto keeps every
   * resource in `account` (owner ids, referenced group user ids). Default false: requests are
   * forwarded unchanged.
   */
  pinUpstreamAccount?: boolean;
  /**
   * Send moto one request at a time, each once the previous one was answered. moto draws every
   * id (and request id) from one random sequence, so a recording replays to the same ids only if
   * moto handled the calls in the order it recorded them. Default false.
   */
  serializeUpstream?: boolean;
  /** Governed calls allowed to wait, in all the groups' queues together; default 256. */
  maxQueued?: number;
  /** Problems that do not concern the caller (event building, onEvent). Default console.error. */
  onError?: (error: unknown) => void;
}

export interface Ec2Proxy {
  /** http://HOST:PORT, for an SDK client's `endpoint` or the AWS CLI's --endpoint-url. */
  url: string;
  port: number;
  /** Stops listening, lets queued governed calls finish (and emit), closes connections. */
  stop(): Promise<void>;
}

/** A call with this header ("1"), or under this path, makes no CloudTrail event (see above). */
export const UNTRACKED_HEADER = "x-sandbox-untracked";
export const UNTRACKED_PATH = "/untracked";

/** Whether the call asks to be untracked; the path prefix is taken off `req.url` if it does. */
function isUntracked(req: IncomingMessage): boolean {
  const url = req.url ?? "/";
  const rest = url.startsWith(UNTRACKED_PATH) ? url.slice(UNTRACKED_PATH.length) : undefined;
  if (rest !== undefined && (rest === "" || rest[0] === "/" || rest[0] === "?")) {
    req.url = rest[0] === "/" ? rest : `/${rest}`;
    return true;
  }
  return req.headers[UNTRACKED_HEADER] === "1";
}

const MAX_INSPECTED_BODY = 1024 * 1024;
const MAX_GOVERNED_RESPONSE = 4 * 1024 * 1024;
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "expect",
]);

/** Raw headers (name, value, name, value...) without hop-by-hop ones (nor `drop`). */
function endToEndHeaders(raw: readonly string[], drop?: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? "";
    const lower = name.toLowerCase();
    if (!HOP_BY_HOP.has(lower) && lower !== drop) out.push(name, raw[i + 1] ?? "");
  }
  return out;
}

function hasHeader(raw: readonly string[], name: string): boolean {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === name) return true;
  return false;
}

interface Caller {
  accessKeyId: string;
  region: string | undefined;
  service: string | undefined;
}

const CREDENTIAL = /Credential=([^/,\s]*)\/\d{8}\/([^/,\s]+)\/([^/,\s]+)\/aws4_request/;

/** The access key id and scope of a SigV4 (header or presigned) or SigV2 request. */
function callerOf(headers: IncomingHttpHeaders, search: URLSearchParams): Caller {
  const m = CREDENTIAL.exec(headers.authorization ?? "");
  if (m) return { accessKeyId: m[1] ?? "", region: m[2], service: m[3] };
  const presigned = search.get("X-Amz-Credential")?.split("/");
  if (presigned && presigned.length >= 5) {
    return { accessKeyId: presigned[0] ?? "", region: presigned[2], service: presigned[3] };
  }
  return { accessKeyId: search.get("AWSAccessKeyId") ?? "", region: undefined, service: undefined };
}

interface BodyHead {
  chunks: Buffer[];
  /** False when the body was longer than the limit: the rest is still in the stream (paused). */
  complete: boolean;
}

function readBody(stream: IncomingMessage, limit: number): Promise<BodyHead> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) {
        cleanup();
        stream.pause();
        resolve({ chunks, complete: false });
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({ chunks, complete: true });
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onError);
  });
}

function finished(res: ServerResponse): Promise<void> {
  if (res.writableFinished || res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    res.once("finish", resolve);
    res.once("close", resolve);
  });
}

function ec2ErrorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`;
}

interface UpstreamAnswer {
  status: number;
  statusMessage: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export async function startEc2Proxy(options: Ec2ProxyOptions): Promise<Ec2Proxy> {
  const upstream = new URL(options.upstream);
  const upstreamBase = upstream.pathname.replace(/\/+$/, "");
  const send = upstream.protocol === "https:" ? httpsRequest : httpRequest;
  const host = options.host ?? "127.0.0.1";
  const clock = options.clock ?? (() => new Date());
  const identities = options.identities ?? defaultIdentities(options.account);
  const onError = options.onError ?? ((e: unknown) => console.error("ec2-proxy:", e));
  const maxQueued = options.maxQueued ?? 256;
  const sessionCreated = cloudTrailTime(clock());
  const memory = new RuleMemory();

  /** The account a caller acts in: its identity's, else the proxy's. */
  const accountOf = (accessKeyId: string): string =>
    identityFor(identities, accessKeyId).accountId ?? options.account;

  /** The headers sent upstream: the caller's, hop-by-hop ones aside (and maybe the account). */
  const upstreamHeaders = (raw: readonly string[], account: string): string[] => {
    const headers = endToEndHeaders(raw, UNTRACKED_HEADER);
    if (options.pinUpstreamAccount && !hasHeader(headers, "x-moto-account-id")) {
      headers.push("x-moto-account-id", account);
    }
    return headers;
  };

  /** The previous upstream request's answer, when requests go one at a time. */
  let upstreamTurn: Promise<unknown> = Promise.resolve();
  /** Sends one request upstream (after the previous one, with serializeUpstream). */
  const open: typeof sendUpstream = (...args) => {
    if (!options.serializeUpstream) return sendUpstream(...args);
    const answer = upstreamTurn.then(() => sendUpstream(...args));
    upstreamTurn = answer.catch(() => undefined);
    return answer;
  };

  /** Sends one request upstream; `body` is a buffer, or a stream to pipe (after a prefix). */
  const sendUpstream = (
    method: string,
    path: string,
    headers: string[],
    body: Buffer | { prefix: Buffer[]; rest: IncomingMessage } | undefined,
  ): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const out = send(
        {
          protocol: upstream.protocol,
          hostname: upstream.hostname,
          port: upstream.port,
          method,
          path: `${upstreamBase}${path}`,
          headers,
        },
        resolve,
      );
      out.on("error", reject);
      if (body === undefined) out.end();
      else if (Buffer.isBuffer(body)) out.end(body);
      else {
        for (const chunk of body.prefix) out.write(chunk);
        body.rest.pipe(out);
      }
    });

  const collect = async (res: IncomingMessage, limit: number): Promise<Buffer | undefined> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) return undefined;
    }
    return Buffer.concat(chunks);
  };

  /** A request that is only passed through: the response is streamed back. */
  const passThrough = async (
    req: IncomingMessage,
    res: ServerResponse,
    headers: string[],
    body: Buffer | { prefix: Buffer[]; rest: IncomingMessage } | undefined,
  ) => {
    const up = await open(req.method ?? "GET", req.url ?? "/", headers, body);
    res.on("close", () => up.destroy());
    res.writeHead(up.statusCode ?? 502, up.statusMessage, endToEndHeaders(up.rawHeaders));
    up.pipe(res);
  };

  /** DescribeSecurityGroupRules of one group, asked as the caller (same account and region). */
  const describeRules = async (
    groupId: string,
    callerHeaders: string[],
  ): Promise<ReportedRule[]> => {
    const keep = new Set(["authorization", "host", "x-moto-account-id", "x-amz-date"]);
    const base: string[] = ["content-type", "application/x-www-form-urlencoded; charset=utf-8"];
    for (let i = 0; i + 1 < callerHeaders.length; i += 2) {
      if (keep.has(callerHeaders[i]?.toLowerCase() ?? "")) {
        base.push(callerHeaders[i] ?? "", callerHeaders[i + 1] ?? "");
      }
    }
    const rules: ReportedRule[] = [];
    let token: string | undefined;
    for (let page = 0; page < 100; page++) {
      const form = new URLSearchParams({
        Action: "DescribeSecurityGroupRules",
        Version: "2016-11-15",
        "Filter.1.Name": "group-id",
        "Filter.1.Value.1": groupId,
        ...(token ? { NextToken: token } : {}),
      });
      const body = Buffer.from(form.toString());
      const res = await open("POST", "/", [...base, "content-length", String(body.length)], body);
      const xml = await collect(res, MAX_GOVERNED_RESPONSE);
      if (!xml || (res.statusCode ?? 500) >= 300) {
        throw new Error(`DescribeSecurityGroupRules ${groupId} answered ${res.statusCode}`);
      }
      const root = parseXml(xml.toString("utf8"));
      rules.push(...reportedRules(child(root, "securityGroupRuleSet")));
      token = childText(root, "nextToken") || undefined;
      if (!token) break;
    }
    return rules;
  };

  interface GovernedCall {
    action: EventAction;
    /** The account the caller acts in (its identity's). */
    account: string;
    params: QueryParams;
    caller: Caller;
    receivedAt: Date;
    userAgent: string;
    sourceIp: string;
    headers: string[];
    body: Buffer;
  }

  /** What the proxy knew of a call's group's rules: read before and after it, or remembered. */
  interface Snapshots {
    before: ReportedRule[] | undefined;
    after: ReportedRule[] | undefined;
    /** The rules a Revoke by rule id names, as the proxy last saw them. */
    remembered?: ReportedRule[];
  }

  const ruleKey = (r: ReportedRule) =>
    ruleMatchKey(r.ipProtocol, r.fromPort, r.toPort, reportedPeer(r));

  /** The rules an Authorize made, as EC2 lists them, in request order. */
  const authorizedRules = (
    call: GovernedCall,
    root: XmlElement,
    before: ReportedRule[] | undefined,
    after: ReportedRule[] | undefined,
  ): ReportedRule[] => {
    const requested = requestedRules(call.params);
    const order = new Map(requested.map((r, i) => [r.key, i] as const));
    const rules = reportedRules(child(root, "securityGroupRuleSet"));
    if (before && after && rules.length < requested.length) {
      const egress = call.action === "AuthorizeSecurityGroupEgress";
      const known = new Set([...before, ...rules].map((r) => r.securityGroupRuleId));
      for (const r of after) {
        if (!known.has(r.securityGroupRuleId) && r.isEgress === egress && order.has(ruleKey(r))) {
          rules.push(r);
        }
      }
    }
    rules.sort((a, b) => (order.get(ruleKey(a)) ?? 1e9) - (order.get(ruleKey(b)) ?? 1e9));
    return rules.map((r) => {
      if (r.description !== undefined) return r;
      const description = requested.find((q) => q.key === ruleKey(r))?.description;
      return description === undefined ? r : { ...r, description };
    });
  };

  /** The rule ids a Revoke names (none when it names permissions). */
  const revokedIds = (call: GovernedCall): string[] =>
    listMembers(call.params, "SecurityGroupRuleId", "SecurityGroupRuleIds").map(
      (m) => call.params.get(m) ?? "",
    );

  /**
   * The rules a Revoke removed: moto's list if it gave one, else the rules remembered by id, else
   * the before/after difference.
   */
  const revokedRules = (
    call: GovernedCall,
    root: XmlElement,
    snapshots: Snapshots,
  ): ReportedRule[] | undefined => {
    const fromMoto = reportedRules(child(root, "revokedSecurityGroupRuleSet"));
    if (fromMoto.length > 0) return fromMoto;
    if (snapshots.remembered) return snapshots.remembered;
    const { before, after } = snapshots;
    if (!before || !after) return undefined;
    const remaining = new Set(after.map((r) => r.securityGroupRuleId));
    const ids = new Set(revokedIds(call));
    const egress = call.action === "RevokeSecurityGroupEgress";
    const requested = new Set(requestedRules(call.params).map((r) => r.key));
    return before.filter(
      (r) =>
        !remaining.has(r.securityGroupRuleId) &&
        r.isEgress === egress &&
        (ids.size > 0 ? ids.has(r.securityGroupRuleId) : requested.has(ruleKey(r))),
    );
  };

  /** The region a call was signed for, else the proxy's. */
  const regionOf = (call: GovernedCall): string =>
    (call.caller.service === "ec2" && call.caller.region) || options.region;

  /** Keeps the rule memory true to a governed call that succeeded (see rule-memory.ts). */
  const follow = (
    call: GovernedCall,
    snapshots: Snapshots,
    rules: { added?: ReportedRule[]; removed?: ReportedRule[] },
  ) => {
    const scope = `${call.account}/${regionOf(call)}`;
    const groupId = call.params.get("GroupId");
    const seen = snapshots.after ?? snapshots.before;
    if (seen) memory.remember(scope, seen);
    if (rules.added) memory.remember(scope, rules.added);
    if (rules.removed) memory.forget(scope, [...rules.removed.map((r) => r.securityGroupRuleId)]);
    if (call.action.startsWith("Revoke")) memory.forget(scope, revokedIds(call));
    else if (!call.action.startsWith("Authorize") && groupId) memory.forgetGroup(scope, groupId);
  };

  const buildEvent = (
    call: GovernedCall,
    answer: UpstreamAnswer,
    snapshots: Snapshots,
  ): EventBridgeEvent | undefined => {
    const ok = answer.status >= 200 && answer.status < 300;
    if (!ok && !options.emitFailed) return undefined;
    let root: XmlElement | undefined;
    try {
      root = parseXml(answer.body.toString("utf8"));
    } catch (e) {
      // A failure may answer in any format; a success must be EC2's XML.
      if (ok) throw e;
    }
    const header = answer.headers["x-amzn-requestid"] ?? answer.headers["x-amz-request-id"];
    const bodyRequestId = root
      ? (childText(root, "requestId") ?? childText(root, "RequestID"))
      : undefined;
    const requestID =
      (typeof header === "string" && header) ||
      (bodyRequestId && bodyRequestId !== "request-id" ? bodyRequestId : randomUUID());
    const region = regionOf(call);
    const common = {
      account: call.account,
      region,
      time: call.receivedAt,
      eventName: call.action,
      userIdentity: userIdentity(identityFor(identities, call.caller.accessKeyId), {
        accessKeyId: call.caller.accessKeyId,
        account: call.account,
        sessionCreated,
      }),
      sourceIPAddress: call.sourceIp,
      userAgent: call.userAgent,
      requestParameters: requestParameters(call.action, call.params),
      requestID,
    };
    if (!ok) {
      const error = root ? parseEc2Error(root) : undefined;
      const side = answer.status >= 500 ? "Server" : "Client";
      return apiCallEvent({
        ...common,
        error: {
          code: `${side}.${error?.code ?? `Http${answer.status}`}`,
          message: error?.message ?? answer.statusMessage,
        },
      });
    }
    if (!root) throw new Error(`${call.action} answered ${answer.status} without a body`);
    let responseElements: Json;
    const other = eventResponseElements(call.action, requestID, root);
    if (other) {
      // CreateSecurityGroup, ModifyManagedPrefixList: no rules to read before and after.
      responseElements = other;
      follow(call, snapshots, {});
    } else if (call.action === "ModifySecurityGroupRules") {
      responseElements = modifyResponseElements(requestID, root);
      follow(call, snapshots, {});
    } else if (call.action.startsWith("Authorize")) {
      const added = authorizedRules(call, root, snapshots.before, snapshots.after);
      responseElements = authorizeResponseElements(requestID, root, added, call.account, region);
      follow(call, snapshots, { added });
    } else {
      const removed = revokedRules(call, root, snapshots);
      responseElements = revokeResponseElements(requestID, root, removed);
      follow(call, snapshots, removed ? { removed } : {});
    }
    return apiCallEvent({ ...common, responseElements });
  };

  /**
   * One governed call, alone in its group's queue: snapshot, forward, answer, snapshot, emit. A
   * Revoke by the ids of rules the proxy remembers needs no snapshot.
   */
  const runGoverned = async (call: GovernedCall, req: IncomingMessage, res: ServerResponse) => {
    const groupId = call.params.get("GroupId");
    const ids = call.action.startsWith("Revoke") ? revokedIds(call) : [];
    const remembered =
      groupId && ids.length > 0 && listMembers(call.params, "IpPermissions").length === 0
        ? memory.recall(`${call.account}/${regionOf(call)}`, groupId, ids)
        : undefined;
    const needsSnapshots =
      groupId !== undefined &&
      !remembered &&
      (call.action.startsWith("Revoke") ||
        (call.action.startsWith("Authorize") &&
          listMembers(call.params, "IpPermissions").length > 1));
    const snapshot = async () => {
      if (!needsSnapshots || !groupId) return undefined;
      try {
        return await describeRules(groupId, call.headers);
      } catch (e) {
        onError(e);
        return undefined;
      }
    };

    const before = await snapshot();
    let up: IncomingMessage;
    try {
      up = await open(req.method ?? "POST", req.url ?? "/", call.headers, call.body);
    } catch (e) {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`ec2-proxy: upstream ${options.upstream} failed: ${String(e)}`);
      return;
    }
    const headers = endToEndHeaders(up.rawHeaders);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    for await (const chunk of up as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size > MAX_GOVERNED_RESPONSE) {
        tooLarge = true;
        break;
      }
    }
    res.writeHead(up.statusCode ?? 502, up.statusMessage, headers);
    if (tooLarge) {
      // Not an EC2 security-group answer: pass the rest on and record nothing.
      for (const chunk of chunks) res.write(chunk);
      up.pipe(res);
      await finished(res);
      onError(new Error(`${call.action} answer larger than ${MAX_GOVERNED_RESPONSE} bytes`));
      return;
    }
    const body = Buffer.concat(chunks);
    res.end(body);
    await finished(res);

    const answer: UpstreamAnswer = {
      status: up.statusCode ?? 502,
      statusMessage: up.statusMessage ?? "",
      headers: up.headers,
      body,
    };
    const ok = answer.status >= 200 && answer.status < 300;
    const after = ok && before ? await snapshot() : undefined;
    let event: EventBridgeEvent | undefined;
    try {
      event = buildEvent(call, answer, {
        before,
        after,
        ...(remembered ? { remembered } : {}),
      });
    } catch (e) {
      onError(e);
      return;
    }
    if (!event) return;
    try {
      options.onEvent(event);
    } catch (e) {
      onError(e);
    }
  };

  /**
   * The queue a governed call waits in: its group's (by GroupId, else GroupName), or its prefix
   * list's, in the
   * caller's account and region; calls naming no group share one.
   */
  const queueOf = (call: GovernedCall): string => {
    const id = call.params.get("GroupId");
    const name = call.params.get("GroupName");
    const list = call.params.get("PrefixListId");
    const group = id ? `id:${id}` : name ? `name:${name}` : list ? `list:${list}` : "";
    return `${call.account}/${call.caller.region ?? options.region}/${group}`;
  };
  /** The last call of each queue (settled when it is done); a queue is dropped once idle. */
  const queues = new Map<string, Promise<void>>();
  let queued = 0;
  const enqueue = (call: GovernedCall, req: IncomingMessage, res: ServerResponse) => {
    if (queued >= maxQueued) {
      res.writeHead(503, { "content-type": "text/xml" });
      res.end(ec2ErrorXml("RequestLimitExceeded", "Request limit exceeded."));
      return;
    }
    queued++;
    const key = queueOf(call);
    const last: Promise<void> = (queues.get(key) ?? Promise.resolve())
      .then(() => runGoverned(call, req, res))
      .catch((e) => {
        onError(e);
        if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
        if (!res.writableEnded) res.end("ec2-proxy: the call could not be forwarded");
      })
      .finally(() => {
        queued--;
        if (queues.get(key) === last) queues.delete(key);
      });
    queues.set(key, last);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const receivedAt = clock();
    const untracked = isUntracked(req);
    const rawUrl = req.url ?? "/";
    const search = rawUrl.includes("?") ? rawUrl.slice(rawUrl.indexOf("?") + 1) : "";
    const searchParams = new URLSearchParams(search);
    const caller = callerOf(req.headers, searchParams);
    const account = accountOf(caller.accessKeyId);
    const headers = upstreamHeaders(req.rawHeaders, account);
    const form =
      req.method === "POST" &&
      /^application\/x-www-form-urlencoded\b/i.test(req.headers["content-type"] ?? "");

    let body: Buffer | { prefix: Buffer[]; rest: IncomingMessage } | undefined;
    let params: Map<string, string> | undefined;
    if (form) {
      const head = await readBody(req, MAX_INSPECTED_BODY);
      if (head.complete) {
        body = Buffer.concat(head.chunks);
        params = parseQueryParams(body.toString("utf8"), search);
      } else {
        body = { prefix: head.chunks, rest: req };
      }
    } else if (searchParams.has("Action")) {
      params = parseQueryParams("", search);
    }
    if (body === undefined && req.method !== "GET" && req.method !== "HEAD") {
      body = { prefix: [], rest: req };
    }

    if (Buffer.isBuffer(body) && !hasHeader(headers, "content-length")) {
      headers.push("content-length", String(body.length));
    }
    const action = params?.get("Action");
    const otherService = caller.service !== undefined && caller.service !== "ec2";
    if (!params || !isEventAction(action) || otherService || untracked) {
      // A rule may change where the proxy cannot follow it: it forgets what it knew.
      if (untracked || action === "CreateTags" || action === "DeleteTags") memory.clear();
      await passThrough(req, res, headers, body);
      return;
    }
    const remote = req.socket.remoteAddress ?? "127.0.0.1";
    enqueue(
      {
        action,
        account,
        params,
        caller,
        receivedAt,
        userAgent: req.headers["user-agent"] ?? "",
        sourceIp: remote.startsWith("::ffff:") ? remote.slice(7) : remote,
        headers,
        body: Buffer.isBuffer(body) ? body : Buffer.alloc(0),
      },
      req,
      res,
    );
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(`ec2-proxy: upstream ${options.upstream} failed: ${String(e)}`);
      } else {
        res.destroy();
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      while (queues.size > 0) await Promise.all(queues.values());
      server.closeAllConnections();
      await closed;
    })();
    return stopping;
  };

  return { url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`, port, stop };
}
