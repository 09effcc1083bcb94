/**
 * storeSecurityGroupRequest, errorHandlerSecurityGroupChange, denySecurityGroupChange and
 * expireRequests on real dynalite and the loopback Slack Web API; member messages arrive as the
 * hub's bus delivers them, stamped with the sender's account and region.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleInteraction, runJobs, storeRequest } from "../../src/app/hub/index.js";
import { DRIFT_EVENT_NAME, type DriftChange, UNKNOWN_REQUESTER } from "../../src/domain/change.js";
import type { ChangeMessage } from "../../src/domain/messages.js";
import {
  type ApprovalRequest,
  createRequest,
  scheduled,
  transition,
} from "../../src/domain/request.js";
import { createDenyHandler } from "../../src/handlers/denySecurityGroupChange.js";
import { createResultHandler } from "../../src/handlers/errorHandlerSecurityGroupChange.js";
import { createExpireHandler } from "../../src/handlers/expireRequests.js";
import { createStoreHandler } from "../../src/handlers/storeSecurityGroupRequest.js";
import type { RequestStore } from "../../src/ports/requests.js";
import { hubEvent, snsEvent } from "../../src/sandbox/bus.js";
import {
  changeFromFixture,
  clickBody,
  type HubHarness,
  MEMBER,
  pendingRequest,
  startHub,
} from "../support/hub-harness.js";

let hub: HubHarness;
let now = new Date();
beforeAll(async () => {
  hub = await startHub(() => now);
});
afterAll(async () => hub?.stop());

const changeMessage = (extra: Partial<ChangeMessage> = {}): ChangeMessage => ({
  type: "change",
  change: changeFromFixture(
    "AuthorizeSecurityGroupIngress/ipv4-tcp-22.json",
    randomUUID(),
    now.toISOString(),
  ),
  revertedAt: now.toISOString(),
  revertMs: 140,
  ...extra,
});
const store = () => createStoreHandler(() => hub.deps);
const fromMember = (message: unknown, sender: { account: string; region: string } = MEMBER) =>
  hubEvent(sender, "change", JSON.stringify(message));
const messagesIn = (channel: string) => hub.slack.state.messages(channel);
const postsFor = (requestId: string, channel: string) =>
  messagesIn(channel).filter((m) => m.metadata?.event_payload.requestId === requestId);
const get = async (id: string) => (await hub.deps.requests.get(id)) as ApprovalRequest;
const click = (user: string, action: "approve" | "deny", request: ApprovalRequest) =>
  handleInteraction(hub.deps, clickBody(user, action, request));

describe("storeSecurityGroupRequest", () => {
  it("stores the request and posts the approval and monitoring messages, each tagged with its id", async () => {
    const message = changeMessage();
    await store()(fromMember(message));
    const id = hub.deps.requestIdFor(message.change);
    const stored = await get(id);
    expect(stored).toMatchObject({ status: "pending", accountAlias: "prod-payments", version: 1 });
    expect(postsFor(id, "C0APPROVAL")).toHaveLength(1);
    expect(postsFor(id, "C0MONITORING")).toHaveLength(1);
    expect(JSON.stringify(postsFor(id, "C0APPROVAL")[0]?.blocks)).toContain(
      '"action_id":"approve"',
    );
    // Posted: the job's next look is the expiry.
    expect(stored.due).toBe(stored.expiresAt);
  });

  it("five concurrent deliveries of one change: one request, one approval and one monitoring message", async () => {
    const message = changeMessage();
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => store()(fromMember(message))),
    );
    expect(results.every((r) => r.status === "fulfilled")).toBe(true);
    const id = hub.deps.requestIdFor(message.change);
    expect(postsFor(id, "C0APPROVAL")).toHaveLength(1);
    expect(postsFor(id, "C0MONITORING")).toHaveLength(1);
    const stored = await get(id);
    expect(stored.slack?.approval?.ts).toBe(postsFor(id, "C0APPROVAL")[0]?.ts);
  });

  it("a new request is born with its posts claimed: its creator posts them with no claim write of its own", async () => {
    const message = changeMessage();
    const id = hub.deps.requestIdFor(message.change);
    const claims: unknown[] = [];
    const requests: RequestStore = Object.create(hub.deps.requests);
    requests.claimPost = async (...args) => {
      claims.push(args);
      return hub.deps.requests.claimPost(...args);
    };
    await createStoreHandler(() => ({ ...hub.deps, requests }))(fromMember(message));
    expect(claims).toEqual([]);
    const stored = await get(id);
    expect(stored.postClaims).toEqual({
      approval: now.toISOString(),
      monitoring: now.toISOString(),
    });
    expect(postsFor(id, "C0APPROVAL")).toHaveLength(1);
    expect(postsFor(id, "C0MONITORING")).toHaveLength(1);
  });

  it("a post that succeeded but whose ref was not recorded is found again, not posted twice", async () => {
    const message = changeMessage();
    const id = hub.deps.requestIdFor(message.change);
    let failOnce = true;
    const requests: RequestStore = Object.create(hub.deps.requests);
    requests.setSlackRefs = async (...args) => {
      if (failOnce) {
        failOnce = false;
        throw new Error("DynamoDB is unavailable");
      }
      return hub.deps.requests.setSlackRefs(...args);
    };
    const flaky = { ...hub.deps, requests };
    await expect(createStoreHandler(() => flaky)(fromMember(message))).rejects.toThrow(
      /unavailable/,
    );
    expect(postsFor(id, "C0APPROVAL")).toHaveLength(1);
    // The retry comes after the claim's lease; it finds the post by its metadata.
    now = new Date(now.getTime() + 61_000);
    await store()(fromMember(message));
    expect(postsFor(id, "C0APPROVAL")).toHaveLength(1);
    expect(postsFor(id, "C0MONITORING")).toHaveLength(1);
    expect((await get(id)).slack?.approval?.ts).toBe(postsFor(id, "C0APPROVAL")[0]?.ts);
  });

  it("Slack answering 500: the request is kept, the handler fails for a retry, and the retry posts once", async () => {
    const message = changeMessage();
    hub.slack.failNext("chat.postMessage", { status: 500, times: 1 });
    await expect(store()(fromMember(message))).rejects.toThrow(/500/);
    const id = hub.deps.requestIdFor(message.change);
    expect((await get(id)).status).toBe("pending");
    await store()(fromMember(message));
    expect(postsFor(id, "C0APPROVAL")).toHaveLength(1);
    expect(postsFor(id, "C0MONITORING")).toHaveLength(1);
  });

  it("a new request's two posts go side by side: one failing leaves the other's ref recorded and its own claim stale", async () => {
    const message = changeMessage();
    const id = hub.deps.requestIdFor(message.change);
    hub.slack.failNext("chat.postMessage", { status: 500, times: 1 });
    await expect(store()(fromMember(message))).rejects.toThrow(/500/);
    const after = await get(id);
    const kinds = ["approval", "monitoring"] as const;
    const landed = kinds.filter((k) => after.slack?.[k]);
    const failed = kinds.filter((k) => !after.slack?.[k]);
    expect(landed).toHaveLength(1);
    expect(failed).toHaveLength(1);
    const [kind = "approval"] = failed;
    // Released, not removed: the retry looks for the post before it posts.
    expect(after.postClaims?.[kind]).toBe("0");
    expect(after.postClaims?.[landed[0] ?? "approval"]).not.toBe("0");
  });

  it("an auto-denied change is posted to monitoring only", async () => {
    const message = changeMessage({
      policy: {
        status: "auto_denied",
        rule: "require-description",
        reason: "1 rule has no description",
      },
    });
    await store()(fromMember(message));
    const id = hub.deps.requestIdFor(message.change);
    const stored = await get(id);
    expect(stored.status).toBe("auto_denied");
    expect(stored.slack?.approval).toBeUndefined();
    expect(postsFor(id, "C0APPROVAL")).toHaveLength(0);
    expect(JSON.stringify(postsFor(id, "C0MONITORING")[0]?.blocks)).toMatch(/policy/i);
    expect(stored.due).toBeUndefined();
  });

  it("an unverified requester's request needs two approvers, and says so", async () => {
    const message = changeMessage();
    await store()(fromMember(message));
    const stored = await get(hub.deps.requestIdFor(message.change));
    // alice's IAM user is mapped to U0ALICE in the harness: verified, one approver.
    expect(stored.verification).toMatchObject({ verified: true, slackUserId: "U0ALICE" });
    expect(stored.requiredApprovals).toBe(1);
    const ci = changeMessage();
    ci.change = {
      ...ci.change,
      requester: {
        arn: "arn:aws:sts::111122223333:assumed-role/ci-deploy/bob",
        type: "AssumedRole",
        name: "bob",
        roleArn: "arn:aws:iam::111122223333:role/ci-deploy",
        roleName: "ci-deploy",
      },
    };
    await store()(fromMember(ci));
    const unverified = await get(hub.deps.requestIdFor(ci.change));
    expect(unverified.requiredApprovals).toBe(2);
    const card = JSON.stringify(
      hub.slack.state.message("C0APPROVAL", unverified.slack?.approval?.ts ?? "")?.blocks,
    );
    expect(card).toContain("Unverified requester");
    expect(card).toContain("Needs 2 different approvers");
  });

  it("rejects a malformed message with a clear error", async () => {
    await expect(store()(fromMember({ type: "change", change: { kind: "add" } }))).rejects.toThrow(
      /change message is invalid at change/,
    );
  });
});

describe("account binding: a member speaks only for its own account", () => {
  it("a message from account A naming account B is refused: nothing stored, counted, logged", async () => {
    const message = changeMessage();
    const before = hub.metrics.get("RefusedMessage");
    await store()(fromMember(message, { account: "444455556666", region: "us-east-1" }));
    expect(await hub.deps.requests.get(hub.deps.requestIdFor(message.change))).toBeUndefined();
    expect(hub.metrics.get("RefusedMessage")).toBe(before + 1);
    expect(hub.log.lines.at(-1)).toMatchObject({
      level: "error",
      message: "refused a change message",
      attributes: { why: "sent by account 444455556666 but names account 111122223333" },
    });
  });

  it("a message from the right account but another region is refused", async () => {
    const message = changeMessage();
    await store()(fromMember(message, { account: MEMBER.account, region: "eu-west-1" }));
    expect(await hub.deps.requests.get(hub.deps.requestIdFor(message.change))).toBeUndefined();
  });

  it("an account the hub does not govern is refused, even speaking for itself", async () => {
    const message = changeMessage();
    message.change = { ...message.change, account: "999988887777" };
    await store()(fromMember(message, { account: "999988887777", region: "us-east-1" }));
    expect(await hub.deps.requests.get(hub.deps.requestIdFor(message.change))).toBeUndefined();
    expect(hub.log.lines.at(-1)?.attributes?.why).toBe(
      "account 999988887777 is not a governed member",
    );
  });

  it("a result for account B's request sent from account A is refused; the request is untouched", async () => {
    const request = await pendingRequest(hub.deps, changeMessage().change);
    await click("U0BOB", "approve", await get(request.requestId));
    const forged = {
      type: "result",
      requestId: request.requestId,
      outcome: "failed",
      at: now.toISOString(),
      error: { code: "X", message: "forged" },
    };
    await createResultHandler(() => hub.deps)(
      hubEvent({ account: "444455556666", region: "us-east-1" }, "result", JSON.stringify(forged)),
    );
    expect((await get(request.requestId)).status).toBe("approved");
    expect(hub.log.lines.at(-1)?.message).toBe("refused a result");
  });
});

describe("drift requests", () => {
  const drift = (): DriftChange => ({
    kind: "drift",
    eventName: DRIFT_EVENT_NAME,
    eventId: `drift-${randomUUID().replace(/-/g, "")}`,
    eventTime: now.toISOString(),
    account: MEMBER.account,
    region: MEMBER.region,
    groupId: "sg-0f3a9c2b7d1e4a5b6",
    requester: UNKNOWN_REQUESTER,
    added: [
      {
        direction: "ingress",
        protocol: "tcp",
        fromPort: 22,
        toPort: 22,
        peer: { kind: "cidrIpv4", cidr: "0.0.0.0/0" },
        ruleId: "sgr-0123456789abcdef0",
      },
    ],
    removed: [],
    modifications: [],
  });

  it("a drift is filed like any change: two approvers (nobody knows who made it), in both channels", async () => {
    const change = drift();
    await store()(
      fromMember({ type: "change", change, revertedAt: now.toISOString(), revertMs: 9 }),
    );
    const stored = await get(hub.deps.requestIdFor(change));
    expect(stored.change.kind).toBe("drift");
    expect(stored.requiredApprovals).toBe(2);
    expect(JSON.stringify(postsFor(stored.requestId, "C0APPROVAL")[0]?.blocks)).toMatch(
      /no CloudTrail event/,
    );
  });

  it("an event that arrives after its change was filed as drift joins that request", async () => {
    const change = drift();
    await store()(
      fromMember({ type: "change", change, revertedAt: now.toISOString(), revertMs: 9 }),
    );
    const id = hub.deps.requestIdFor(change);
    const late = changeMessage({ joinsDrift: id });
    const pendingBefore = (await hub.deps.requests.listByStatus("pending")).length;
    await store()(fromMember(late));
    const joined = await get(id);
    expect(joined.change.requester.arn).toBe(late.change.requester.arn);
    expect(joined.change.kind).toBe("drift");
    expect((await hub.deps.requests.listByStatus("pending")).length).toBe(pendingBefore);
    expect(await hub.deps.requests.get(hub.deps.requestIdFor(late.change))).toBeUndefined();
  });
});

describe("errorHandlerSecurityGroupChange", () => {
  const approved = async () => {
    const request = await pendingRequest(hub.deps, changeMessage().change);
    await click("U0BOB", "approve", request);
    return request.requestId;
  };
  const result = (
    requestId: string,
    outcome: "applied" | "failed" | "reverted",
    error?: { code: string; message: string },
  ) =>
    hubEvent(
      MEMBER,
      "result",
      JSON.stringify({
        type: "result",
        requestId,
        outcome,
        at: now.toISOString(),
        ...(error ? { error } : {}),
      }),
    );

  it("records applied and updates both messages", async () => {
    const id = await approved();
    await createResultHandler(() => hub.deps)(result(id, "applied"));
    const stored = await get(id);
    expect(stored.status).toBe("applied");
    expect(stored.due).toBeUndefined();
    for (const ref of [stored.slack?.approval, stored.slack?.monitoring]) {
      const text = JSON.stringify(
        hub.slack.state.message(ref?.channel ?? "", ref?.ts ?? "")?.blocks,
      );
      expect(text).toMatch(/[Aa]pplied/);
      expect(text).not.toContain('"type":"actions"');
    }
  });

  it("records failed with the EC2 error kept and shown", async () => {
    const id = await approved();
    await createResultHandler(() => hub.deps)(
      result(id, "failed", {
        code: "InvalidPermission.Duplicate",
        message: "the specified rule already exists",
      }),
    );
    const stored = await get(id);
    expect(stored).toMatchObject({
      status: "failed",
      error: { code: "InvalidPermission.Duplicate" },
    });
    const ref = stored.slack?.monitoring;
    expect(
      JSON.stringify(hub.slack.state.message(ref?.channel ?? "", ref?.ts ?? "")?.blocks),
    ).toContain("InvalidPermission.Duplicate");
  });

  it("a duplicate result changes nothing; an unknown request id is logged, not thrown", async () => {
    const id = await approved();
    await createResultHandler(() => hub.deps)(result(id, "applied"));
    await createResultHandler(() => hub.deps)(
      result(id, "failed", { code: "InvalidPermission.Duplicate", message: "x" }),
    );
    expect((await get(id)).status).toBe("applied");
    await createResultHandler(() => hub.deps)(result("r-01JD0000000000000000000009", "applied"));
    expect(
      hub.log.lines.some((l) => l.level === "error" && l.message.includes("unknown request")),
    ).toBe(true);
  });
});

describe("denials, expiry and the scheduled job", () => {
  const live = { code: "EventTooLate", message: "arrived 400 s after the change" };
  const sentSince = (n: number) =>
    hub.publisher.messages.slice(n).map((m) => JSON.parse(m.message));

  it("reports a denial in both channels", async () => {
    const request = await pendingRequest(hub.deps, changeMessage().change);
    await click("U0CAROL", "deny", request);
    await createDenyHandler(() => hub.deps)(
      snsEvent(
        "arn:aws:sns:us-east-1:111122223333:denySecurityGroupChange",
        JSON.stringify({ type: "deny", requestId: request.requestId }),
      ),
    );
    const stored = await get(request.requestId);
    expect(stored.status).toBe("denied");
    const ref = stored.slack?.monitoring;
    expect(
      JSON.stringify(hub.slack.state.message(ref?.channel ?? "", ref?.ts ?? "")?.blocks),
    ).toMatch(/Denied by <@U0CAROL>/);
  });

  it("a Deny of a live change has the member revert it; the result is recorded on the denied request", async () => {
    const message = changeMessage({ revertError: live });
    const stored = await storeRequest(hub.deps, message, MEMBER);
    const request = stored?.request as ApprovalRequest;
    const sent = hub.publisher.messages.length;
    await click("U0CAROL", "deny", request);
    expect(sentSince(sent)).toEqual([
      { type: "deny", requestId: request.requestId },
      { type: "revert", requestId: request.requestId, change: message.change },
    ]);
    expect(hub.publisher.messages.at(-1)?.topicArn).toMatch(
      /111122223333:applySecurityGroupChange$/,
    );
    await createResultHandler(() => hub.deps)(
      hubEvent(
        MEMBER,
        "result",
        JSON.stringify({
          type: "result",
          requestId: request.requestId,
          outcome: "reverted",
          at: now.toISOString(),
        }),
      ),
    );
    const after = await get(request.requestId);
    expect(after).toMatchObject({ status: "denied", followUpRevert: { at: now.toISOString() } });
    expect(after.due).toBeUndefined();
    const ref = after.slack?.monitoring;
    expect(
      JSON.stringify(hub.slack.state.message(ref?.channel ?? "", ref?.ts ?? "")?.blocks),
    ).toMatch(/the change was reverted/);
  });

  it("a Deny of a change that was reverted sends nothing to the member", async () => {
    const stored = await storeRequest(hub.deps, changeMessage(), MEMBER);
    const sent = hub.publisher.messages.length;
    await click("U0CAROL", "deny", stored?.request as ApprovalRequest);
    expect(sentSince(sent).map((m) => m.type)).toEqual(["deny"]);
  });

  it("expires pending requests past their time, and only those; a click after expiry changes nothing", async () => {
    const old = await pendingRequest(hub.deps, changeMessage().change);
    now = new Date(now.getTime() + 25 * 3_600_000);
    const fresh = await pendingRequest(hub.deps, changeMessage().change);
    const { expired } = await runJobs(hub.deps);
    expect(expired).toContain(old.requestId);
    expect(expired).not.toContain(fresh.requestId);
    expect((await get(old.requestId)).status).toBe("expired");
    await click("U0BOB", "approve", await get(old.requestId));
    expect((await get(old.requestId)).status).toBe("expired");
  });

  it("a live change whose request expires is reverted (onExpiry revert) and reported so", async () => {
    const stored = await storeRequest(hub.deps, changeMessage({ revertError: live }), MEMBER);
    const request = stored?.request as ApprovalRequest;
    now = new Date(now.getTime() + 25 * 3_600_000);
    const sent = hub.publisher.messages.length;
    expect((await runJobs(hub.deps)).expired).toContain(request.requestId);
    expect(sentSince(sent)).toContainEqual(
      expect.objectContaining({ type: "revert", requestId: request.requestId }),
    );
    const expired = await get(request.requestId);
    const ref = expired.slack?.monitoring;
    expect(
      JSON.stringify(hub.slack.state.message(ref?.channel ?? "", ref?.ts ?? "")?.blocks),
    ).toMatch(/reverting the change now/);
    await createResultHandler(() => hub.deps)(
      hubEvent(
        MEMBER,
        "result",
        JSON.stringify({
          type: "result",
          requestId: request.requestId,
          outcome: "reverted",
          at: now.toISOString(),
        }),
      ),
    );
    const done = await get(request.requestId);
    expect(done).toMatchObject({ status: "expired", followUpRevert: { at: now.toISOString() } });
    expect(
      JSON.stringify(hub.slack.state.message(ref?.channel ?? "", ref?.ts ?? "")?.blocks),
    ).toMatch(/the change was reverted/);
  });

  it("onExpiry leave: the expired live change is left as it stands, said so, and nothing is sent", async () => {
    const deps = {
      ...hub.deps,
      config: { ...hub.deps.config, jobs: { ...hub.deps.config.jobs, onExpiry: "leave" as const } },
    };
    const stored = await storeRequest(deps, changeMessage({ revertError: live }), MEMBER);
    const request = stored?.request as ApprovalRequest;
    now = new Date(now.getTime() + 25 * 3_600_000);
    const sent = hub.publisher.messages.length;
    expect((await runJobs(deps)).expired).toContain(request.requestId);
    expect(sentSince(sent).filter((m) => m.requestId === request.requestId)).toEqual([]);
    const left = await get(request.requestId);
    expect(left.due).toBeUndefined();
    const ref = left.slack?.monitoring;
    expect(
      JSON.stringify(hub.slack.state.message(ref?.channel ?? "", ref?.ts ?? "")?.blocks),
    ).toMatch(/could not be reverted and is still in place/);
  });

  it("an approval whose publish failed stands, the approver is told, and the job sends it again", async () => {
    const request = await pendingRequest(hub.deps, changeMessage().change);
    const sent = hub.publisher.messages.length;
    hub.publisher.failures = 1;
    const result = await click("U0BOB", "approve", request);
    expect(result.outcome).toBe("approved");
    expect((await get(request.requestId)).status).toBe("approved");
    expect(hub.publisher.messages.length).toBe(sent);
    expect(hub.slack.state.ephemerals().at(-1)?.text).toMatch(
      /sending it on failed.*sent again automatically/,
    );
    expect((await runJobs(hub.deps)).resent).not.toContain(request.requestId);
    now = new Date(now.getTime() + 16 * 60_000);
    const swept = await createExpireHandler(() => hub.deps)();
    expect(swept.resent).toContain(request.requestId);
    expect(sentSince(sent)).toContainEqual(
      expect.objectContaining({ type: "apply", requestId: request.requestId }),
    );
  });

  it("the job sends again the revert of a denied live change that never reported", async () => {
    const stored = await storeRequest(hub.deps, changeMessage({ revertError: live }), MEMBER);
    hub.publisher.failures = 1; // the deny fails to go out, so the revert is never sent
    await click("U0CAROL", "deny", stored?.request as ApprovalRequest);
    const id = stored?.request.requestId as string;
    expect((await get(id)).status).toBe("denied");
    now = new Date(now.getTime() + 16 * 60_000);
    const sent = hub.publisher.messages.length;
    expect((await runJobs(hub.deps)).resent).toContain(id);
    expect(sentSince(sent)).toContainEqual(
      expect.objectContaining({ type: "revert", requestId: id }),
    );
  });

  it("the job posts a request whose messages never made it to Slack", async () => {
    const message = changeMessage();
    hub.slack.failNext("chat.postMessage", { status: 500, times: 10 });
    await expect(store()(fromMember(message))).rejects.toThrow(/500/);
    hub.slack.clearFaults();
    const id = hub.deps.requestIdFor(message.change);
    expect((await get(id)).slack?.approval).toBeUndefined();
    now = new Date(now.getTime() + 3 * 60_000);
    expect((await runJobs(hub.deps)).posted).toContain(id);
    expect(postsFor(id, "C0APPROVAL")).toHaveLength(1);
    expect(postsFor(id, "C0MONITORING")).toHaveLength(1);
  });

  it("a crash right after the create: a retry within the claims' lease posts nothing, the job posts once after it", async () => {
    const message = changeMessage();
    const id = hub.deps.requestIdFor(message.change);
    const requests: RequestStore = Object.create(hub.deps.requests);
    requests.create = async (request) => {
      await hub.deps.requests.create(request);
      throw new Error("the function was killed");
    };
    await expect(
      createStoreHandler(() => ({ ...hub.deps, requests }))(fromMember(message)),
    ).rejects.toThrow(/killed/);
    await store()(fromMember(message));
    expect(postsFor(id, "C0APPROVAL")).toHaveLength(0);
    now = new Date(now.getTime() + 3 * 60_000);
    expect((await runJobs(hub.deps)).posted).toContain(id);
    expect(postsFor(id, "C0APPROVAL")).toHaveLength(1);
    expect(postsFor(id, "C0MONITORING")).toHaveLength(1);
  });

  it("Slack timing out on a post: its claim is kept, so a retry before the stalled post lands posts nothing twice; the job finds it after the lease", async () => {
    const message = changeMessage();
    const id = hub.deps.requestIdFor(message.change);
    let calls = 0;
    const unsubscribe = hub.slack.state.subscribe((e) => {
      if (e.type === "message_posted" && ++calls === 1)
        hub.slack.failNext("chat.postMessage", { delayMs: 1500, times: 1 });
    });
    await expect(store()(fromMember(message))).rejects.toThrow(/timeout|timed out/i);
    unsubscribe();
    // The retry comes at once, while the stalled post is still on its way.
    await store()(fromMember(message));
    await new Promise((r) => setTimeout(r, 1_700)); // now it lands
    expect(postsFor(id, "C0APPROVAL")).toHaveLength(1);
    expect(postsFor(id, "C0MONITORING")).toHaveLength(1);
    now = new Date(now.getTime() + 3 * 60_000);
    await runJobs(hub.deps);
    expect(postsFor(id, "C0APPROVAL")).toHaveLength(1);
    expect(postsFor(id, "C0MONITORING")).toHaveLength(1);
    const stored = await get(id);
    expect(stored.slack?.approval?.ts).toBe(postsFor(id, "C0APPROVAL")[0]?.ts);
    expect(stored.slack?.monitoring?.ts).toBe(postsFor(id, "C0MONITORING")[0]?.ts);
  });

  it("one request failing does not stop the others; after its attempts each is given up, alarmed", async () => {
    const broken = await pendingRequest(hub.deps, changeMessage().change);
    const quiet = await pendingRequest(hub.deps, changeMessage().change);
    for (const r of [broken, quiet]) await click("U0BOB", "approve", r);
    // broken's member topic is gone: every publish for it fails. quiet's member never answers.
    const publish = hub.deps.publisher.publish.bind(hub.deps.publisher);
    const deps = {
      ...hub.deps,
      publisher: {
        publish: async (topic: string, message: string, attrs?: Record<string, string>) => {
          if (message.includes(broken.requestId)) throw new Error("NotFound: Topic does not exist");
          return publish(topic, message, attrs);
        },
      },
    };
    const gaveUpBefore = hub.metrics.get("JobGaveUp");
    const runs = [];
    for (let i = 0; i < hub.deps.config.jobs.maxAttempts + 1; i++) {
      now = new Date(now.getTime() + 16 * 60_000);
      runs.push(await runJobs(deps));
    }
    expect(runs[0]?.failed).toContain(broken.requestId);
    expect(runs[0]?.resent).toContain(quiet.requestId);
    const last = runs.at(-1);
    expect(last?.gaveUp).toEqual(expect.arrayContaining([broken.requestId, quiet.requestId]));
    for (const id of [broken.requestId, quiet.requestId]) {
      const given = await get(id);
      expect(given).toMatchObject({ status: "failed", error: { code: "GaveUp" } });
      expect(given.due).toBeUndefined();
    }
    expect(hub.metrics.get("JobGaveUp") - gaveUpBefore).toBeGreaterThanOrEqual(2);
  });

  it("reads exactly the requests that need work: a newer denied live change is resent past 520 older denials", async () => {
    // 520 older denied requests (nothing owed): the old job read only the oldest 500 denials.
    await Promise.all(
      Array.from({ length: 520 }, async () => {
        const change = changeMessage().change;
        const request = createRequest({
          requestId: hub.deps.requestIdFor(change),
          change,
          verification: { verified: false, reason: "x" },
          requiredApprovals: 1,
          now: new Date(now.getTime() - 3_600_000).toISOString(),
          expiresAt: now.toISOString(),
        });
        const denied = transition(
          { ...request, slack: { monitoring: { channel: "C0MONITORING", ts: "1.1" } } },
          { type: "deny", by: { id: "U0BOB" }, at: request.createdAt },
        );
        expect(scheduled(denied, hub.deps.config.jobs).due).toBeUndefined();
        await hub.deps.requests.create(denied);
      }),
    );
    const stored = await storeRequest(hub.deps, changeMessage({ revertError: live }), MEMBER);
    hub.publisher.failures = 1;
    await click("U0CAROL", "deny", stored?.request as ApprovalRequest);
    now = new Date(now.getTime() + 16 * 60_000);
    const { resent } = await runJobs(hub.deps);
    expect(resent).toContain(stored?.request.requestId);
  }, 120_000);
});
