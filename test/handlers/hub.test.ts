/**
 * storeSecurityGroupRequest, errorHandlerSecurityGroupChange, denySecurityGroupChange and
 * expireRequests on real dynalite and the loopback Slack Web API.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expireRequests,
  handleInteraction,
  resendStuckApprovals,
  storeRequest,
} from "../../src/app/hub.js";
import type { ChangeMessage } from "../../src/domain/messages.js";
import { createDenyHandler } from "../../src/handlers/denySecurityGroupChange.js";
import { createResultHandler } from "../../src/handlers/errorHandlerSecurityGroupChange.js";
import { createExpireHandler } from "../../src/handlers/expireRequests.js";
import { createStoreHandler } from "../../src/handlers/storeSecurityGroupRequest.js";
import { snsEvent } from "../../src/sandbox/bus.js";
import {
  changeFromFixture,
  clickBody,
  type HubHarness,
  pendingRequest,
  startHub,
} from "../support/hub-harness.js";

let hub: HubHarness;
let now = new Date();
beforeAll(async () => {
  hub = await startHub(() => now);
});
afterAll(async () => hub?.stop());

const TOPIC = "arn:aws:sns:us-east-1:999988887777:securityGroupChange";
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
const messagesIn = (channel: string) => hub.slack.state.messages(channel);

describe("storeSecurityGroupRequest", () => {
  it("stores the request and posts the approval and monitoring messages, refs kept", async () => {
    const message = changeMessage();
    await store()(snsEvent(TOPIC, JSON.stringify(message)));
    const id = hub.deps.requestIdFor(message.change);
    const stored = await hub.deps.requests.get(id);
    expect(stored).toMatchObject({ status: "pending", accountAlias: "prod-payments" });
    const approval = hub.slack.state.message("C0APPROVAL", stored?.slack?.approval?.ts ?? "");
    expect(JSON.stringify(approval?.blocks)).toContain(id);
    expect(JSON.stringify(approval?.blocks)).toContain('"action_id":"approve"');
    expect(
      hub.slack.state.message("C0MONITORING", stored?.slack?.monitoring?.ts ?? ""),
    ).toBeDefined();
  });

  it("names the account by the hub's own config, whatever alias the member's message claims", async () => {
    const message = changeMessage({ accountAlias: "sandbox-not-prod" });
    await store()(snsEvent(TOPIC, JSON.stringify(message)));
    const stored = await hub.deps.requests.get(hub.deps.requestIdFor(message.change));
    expect(stored?.accountAlias).toBe("prod-payments");
  });

  it("a redelivered message creates no second request and posts nothing twice", async () => {
    const message = changeMessage();
    const before = messagesIn("C0APPROVAL").length;
    await store()(snsEvent(TOPIC, JSON.stringify(message)));
    await store()(snsEvent(TOPIC, JSON.stringify(message)));
    expect(messagesIn("C0APPROVAL").length).toBe(before + 1);
  });

  it("Slack answering 500: the request is kept, the handler fails for a retry, and the retry posts once", async () => {
    const message = changeMessage();
    const approvalsBefore = messagesIn("C0APPROVAL").length;
    hub.slack.failNext("chat.postMessage", { status: 500, times: 1 });
    await expect(store()(snsEvent(TOPIC, JSON.stringify(message)))).rejects.toThrow(/500/);
    const id = hub.deps.requestIdFor(message.change);
    expect((await hub.deps.requests.get(id))?.status).toBe("pending");
    await store()(snsEvent(TOPIC, JSON.stringify(message)));
    expect(messagesIn("C0APPROVAL").length).toBe(approvalsBefore + 1);
    const stored = await hub.deps.requests.get(id);
    expect(stored?.slack?.approval && stored.slack.monitoring).toBeTruthy();
  });

  it("Slack timing out on the monitoring post: the approval message is not posted again on the retry", async () => {
    const message = changeMessage();
    const approvalsBefore = messagesIn("C0APPROVAL").length;
    // The first call (approval) works; the second (monitoring) stalls past the client's time-out.
    let calls = 0;
    const unsubscribe = hub.slack.state.subscribe((e) => {
      if (e.type === "message_posted" && ++calls === 1)
        hub.slack.failNext("chat.postMessage", { delayMs: 1500, times: 1 });
    });
    await expect(store()(snsEvent(TOPIC, JSON.stringify(message)))).rejects.toThrow(
      /timeout|timed out/i,
    );
    unsubscribe();
    await store()(snsEvent(TOPIC, JSON.stringify(message)));
    expect(messagesIn("C0APPROVAL").length).toBe(approvalsBefore + 1);
  });

  it("an auto-denied change is posted to monitoring only", async () => {
    const message = changeMessage({
      policy: {
        status: "auto_denied",
        rule: "require-description",
        reason: "1 rule has no description",
      },
    });
    const approvalsBefore = messagesIn("C0APPROVAL").length;
    await store()(snsEvent(TOPIC, JSON.stringify(message)));
    const stored = await hub.deps.requests.get(hub.deps.requestIdFor(message.change));
    expect(stored?.status).toBe("auto_denied");
    expect(stored?.slack?.approval).toBeUndefined();
    expect(messagesIn("C0APPROVAL").length).toBe(approvalsBefore);
    expect(
      JSON.stringify(
        hub.slack.state.message("C0MONITORING", stored?.slack?.monitoring?.ts ?? "")?.blocks,
      ),
    ).toMatch(/policy/i);
  });

  it("rejects a malformed message with a clear error", async () => {
    await expect(
      store()(snsEvent(TOPIC, '{"type":"change","change":{"kind":"add"}}')),
    ).rejects.toThrow(/change message is invalid at change/);
  });
});

describe("errorHandlerSecurityGroupChange", () => {
  const approved = async () => {
    const request = await pendingRequest(hub.deps, changeMessage().change);
    await handleInteraction(hub.deps, clickBody("U0BOB", "approve", request.requestId));
    return request.requestId;
  };
  const result = (
    requestId: string,
    outcome: "applied" | "failed",
    error?: { code: string; message: string },
  ) =>
    snsEvent(
      "arn:aws:sns:us-east-1:999988887777:errorHandlerSecurityGroupChange",
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
    const stored = await hub.deps.requests.get(id);
    expect(stored?.status).toBe("applied");
    for (const ref of [stored?.slack?.approval, stored?.slack?.monitoring]) {
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
    const stored = await hub.deps.requests.get(id);
    expect(stored).toMatchObject({
      status: "failed",
      error: { code: "InvalidPermission.Duplicate" },
    });
    const ref = stored?.slack?.monitoring;
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
    expect((await hub.deps.requests.get(id))?.status).toBe("applied");
    await createResultHandler(() => hub.deps)(result("r-01JD0000000000000000000009", "applied"));
    expect(
      hub.log.lines.some((l) => l.level === "error" && l.message.includes("unknown request")),
    ).toBe(true);
  });
});

describe("denySecurityGroupChange and expiry", () => {
  it("reports a denial in both channels", async () => {
    const request = await pendingRequest(hub.deps, changeMessage().change);
    await handleInteraction(hub.deps, clickBody("U0CAROL", "deny", request.requestId));
    await createDenyHandler(() => hub.deps)(
      snsEvent(
        "arn:aws:sns:us-east-1:999988887777:denySecurityGroupChange",
        JSON.stringify({ type: "deny", requestId: request.requestId }),
      ),
    );
    const stored = await hub.deps.requests.get(request.requestId);
    expect(stored?.status).toBe("denied");
    const ref = stored?.slack?.monitoring;
    expect(
      JSON.stringify(hub.slack.state.message(ref?.channel ?? "", ref?.ts ?? "")?.blocks),
    ).toMatch(/Denied by <@U0CAROL>/);
  });

  it("a Deny of a live change has the member revert it, and the result is recorded on the denied request", async () => {
    const message = changeMessage({
      revertError: { code: "EventTooLate", message: "arrived 400 s after the change" },
    });
    const { request } = await storeRequest(hub.deps, message);
    const sent = hub.publisher.messages.length;
    await handleInteraction(hub.deps, clickBody("U0CAROL", "deny", request.requestId));
    const onward = hub.publisher.messages.slice(sent).map((m) => JSON.parse(m.message));
    expect(onward).toEqual([
      { type: "deny", requestId: request.requestId },
      { type: "revert", requestId: request.requestId, change: message.change },
    ]);
    expect(hub.publisher.messages.at(-1)?.topicArn).toMatch(/applySecurityGroupChange$/);

    await createResultHandler(() => hub.deps)(
      snsEvent(
        "arn:aws:sns:us-east-1:999988887777:errorHandlerSecurityGroupChange",
        JSON.stringify({
          type: "result",
          requestId: request.requestId,
          outcome: "reverted",
          at: now.toISOString(),
        }),
      ),
    );
    const stored = await hub.deps.requests.get(request.requestId);
    expect(stored).toMatchObject({ status: "denied", revertAfterDeny: { at: now.toISOString() } });
    const ref = stored?.slack?.monitoring;
    expect(
      JSON.stringify(hub.slack.state.message(ref?.channel ?? "", ref?.ts ?? "")?.blocks),
    ).toMatch(/the change was reverted/);
  });

  it("the sweep sends again the revert of a denied live change that never reported", async () => {
    const message = changeMessage({
      revertError: { code: "EventTooLate", message: "arrived 400 s after the change" },
    });
    const { request } = await storeRequest(hub.deps, message);
    hub.publisher.failures = 1; // the deny fails to go out, so the revert is never sent
    await handleInteraction(hub.deps, clickBody("U0CAROL", "deny", request.requestId));
    expect((await hub.deps.requests.get(request.requestId))?.status).toBe("denied");
    now = new Date(now.getTime() + 16 * 60_000);
    const sent = hub.publisher.messages.length;
    expect(await resendStuckApprovals(hub.deps)).toContain(request.requestId);
    expect(hub.publisher.messages.slice(sent).map((m) => JSON.parse(m.message))).toContainEqual(
      expect.objectContaining({ type: "revert", requestId: request.requestId }),
    );
  });

  it("a Deny of a change that was reverted sends nothing to the member", async () => {
    const { request } = await storeRequest(hub.deps, changeMessage());
    const sent = hub.publisher.messages.length;
    await handleInteraction(hub.deps, clickBody("U0CAROL", "deny", request.requestId));
    expect(hub.publisher.messages.slice(sent).map((m) => JSON.parse(m.message).type)).toEqual([
      "deny",
    ]);
  });

  it("expires pending requests past their time, and only those", async () => {
    const old = await pendingRequest(hub.deps, changeMessage().change);
    now = new Date(now.getTime() + 25 * 3_600_000);
    const fresh = await pendingRequest(hub.deps, changeMessage().change);
    const expired = await expireRequests(hub.deps);
    expect(expired).toContain(old.requestId);
    expect(expired).not.toContain(fresh.requestId);
    expect((await hub.deps.requests.get(old.requestId))?.status).toBe("expired");
    // A click after expiry changes nothing.
    await handleInteraction(hub.deps, clickBody("U0BOB", "approve", old.requestId));
    expect((await hub.deps.requests.get(old.requestId))?.status).toBe("expired");
  });

  it("an approval whose publish failed stands, the approver is told, and the sweep sends it again", async () => {
    const request = await pendingRequest(hub.deps, changeMessage().change);
    const sent = hub.publisher.messages.length;
    hub.publisher.failures = 1;
    const result = await handleInteraction(
      hub.deps,
      clickBody("U0BOB", "approve", request.requestId),
    );
    expect(result.outcome).toBe("approved");
    expect((await hub.deps.requests.get(request.requestId))?.status).toBe("approved");
    expect(hub.publisher.messages.length).toBe(sent);
    expect(hub.slack.state.ephemerals().at(-1)?.text).toMatch(
      /sending it on failed.*retried automatically/,
    );

    expect(await resendStuckApprovals(hub.deps)).not.toContain(request.requestId);
    now = new Date(now.getTime() + 16 * 60_000);
    // The scheduled handler does both sweeps in one run.
    const swept = await createExpireHandler(() => hub.deps)();
    expect(swept.resent).toContain(request.requestId);
    expect(swept.expired).not.toContain(request.requestId);
    const resent = hub.publisher.messages.slice(sent).map((m) => JSON.parse(m.message));
    expect(resent).toContainEqual(
      expect.objectContaining({ type: "apply", requestId: request.requestId }),
    );
  });
});
