/**
 * buttonClick with real signed requests against real dynalite and the loopback Slack Web API.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createButtonClickHandler } from "../../src/handlers/buttonClick.js";
import {
  changeFromFixture,
  clickBody,
  fixture,
  type HubHarness,
  pendingRequest,
  SIGNING_SECRET,
  signed,
  startHub,
} from "../support/hub-harness.js";

let hub: HubHarness;
let click: ReturnType<typeof createButtonClickHandler>;

beforeAll(async () => {
  hub = await startHub();
  click = createButtonClickHandler({
    hub: () => hub.deps,
    signingSecret: async () => SIGNING_SECRET,
  });
});
afterAll(async () => hub?.stop());

/** alice's change (IAM user alice), stored as a pending request with both messages posted. */
const aliceRequest = () =>
  pendingRequest(
    hub.deps,
    changeFromFixture("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json", randomUUID()),
  );

const ephemeralsFor = (user: string) =>
  hub.slack.state
    .ephemerals()
    .filter((e) => e.user === user)
    .map((e) => e.text);

describe("buttonClick: verification", () => {
  it("approves with a valid signature, updates both messages and sends the change to the member", async () => {
    const request = await aliceRequest();
    const before = hub.publisher.messages.length;
    const res = await click(signed(clickBody("U0BOB", "approve", request.requestId)));
    expect(res.statusCode).toBe(200);
    const stored = await hub.deps.requests.get(request.requestId);
    expect(stored?.status).toBe("approved");
    expect(stored?.decidedBy?.id).toBe("U0BOB");
    const sent = hub.publisher.messages.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.topicArn).toBe("arn:aws:sns:us-east-1:111122223333:applySecurityGroupChange");
    expect(JSON.parse(sent[0]?.message ?? "{}")).toMatchObject({
      type: "apply",
      requestId: request.requestId,
    });
    const approval = hub.slack.state.messages().find((m) => m.ts === stored?.slack?.approval?.ts);
    expect(JSON.stringify(approval?.blocks)).not.toContain('"type":"actions"');
    expect(approval?.text).toMatch(/Approved/);
    expect(JSON.stringify(approval?.blocks)).toContain("<@U0BOB>");
  });

  const rejects: [
    string,
    () => Promise<{ body: string; headers: Record<string, string>; isBase64Encoded: boolean }>,
    number,
    RegExp,
  ][] = [
    [
      "a wrong secret",
      async () =>
        signed(
          clickBody("U0BOB", "approve", (await aliceRequest()).requestId),
          Date.now(),
          "not-the-secret",
        ),
      401,
      /signature/i,
    ],
    [
      "a stale timestamp",
      async () =>
        signed(
          clickBody("U0BOB", "approve", (await aliceRequest()).requestId),
          Date.now() - 6 * 60_000,
        ),
      401,
      /stale|old|time/i,
    ],
    [
      "missing headers",
      async () => ({
        body: clickBody("U0BOB", "approve", (await aliceRequest()).requestId),
        headers: {},
        isBase64Encoded: false,
      }),
      401,
      /header/i,
    ],
    [
      "a body tampered with after signing",
      async () => {
        const request = await aliceRequest();
        const good = signed(clickBody("U0MALLORY", "approve", request.requestId));
        return { ...good, body: clickBody("U0BOB", "approve", request.requestId) };
      },
      401,
      /signature/i,
    ],
  ];
  for (const [name, make, status, message] of rejects) {
    it(`rejects ${name} with ${status} and changes nothing`, async () => {
      const event = await make();
      const requestId = JSON.parse(new URLSearchParams(event.body).get("payload") ?? "{}")
        .actions[0].value;
      const before = hub.publisher.messages.length;
      const res = await click(event);
      expect(res.statusCode).toBe(status);
      expect(JSON.parse(res.body).error).toMatch(message);
      expect((await hub.deps.requests.get(requestId))?.status).toBe("pending");
      expect(hub.publisher.messages.length).toBe(before);
    });
  }

  it("decodes a base64 body (binary media types) before checking the signature", async () => {
    const request = await aliceRequest();
    const event = signed(clickBody("U0CAROL", "deny", request.requestId));
    const res = await click({
      ...event,
      body: Buffer.from(event.body).toString("base64"),
      isBase64Encoded: true,
    });
    expect(res.statusCode).toBe(200);
    expect((await hub.deps.requests.get(request.requestId))?.status).toBe("denied");
  });
});

describe("buttonClick: Slack's 3 s", () => {
  it("answers within 3 s even when Slack's chat.update stalls, decision recorded and sent on", async () => {
    const request = await aliceRequest();
    const before = hub.publisher.messages.length;
    hub.slack.failNext("chat.update", { delayMs: 5_000, times: 4 });
    const started = performance.now();
    const res = await click(signed(clickBody("U0BOB", "approve", request.requestId)));
    const elapsed = performance.now() - started;
    hub.slack.clearFaults();
    expect(res.statusCode).toBe(200);
    // Answered before Slack's stalled update landed: the message still shows its buttons.
    const stored = await hub.deps.requests.get(request.requestId);
    const approval = hub.slack.state.message("C0APPROVAL", stored?.slack?.approval?.ts ?? "");
    expect(JSON.stringify(approval?.blocks)).toContain('"type":"actions"');
    expect(elapsed).toBeLessThan(3_000);
    expect(stored?.status).toBe("approved");
    expect(hub.publisher.messages.length).toBe(before + 1);
  });
});

describe("buttonClick: a stalled SNS", () => {
  it("answers within 3 s when the publish stalls; the decision stands and the approver is told", async () => {
    const request = await aliceRequest();
    hub.publisher.stallMs = 4_000;
    const started = performance.now();
    const res = await click(signed(clickBody("U0BOB", "approve", request.requestId)));
    const elapsed = performance.now() - started;
    expect(res.statusCode).toBe(200);
    expect(elapsed).toBeLessThan(3_000);
    expect((await hub.deps.requests.get(request.requestId))?.status).toBe("approved");
    expect(ephemeralsFor("U0BOB").at(-1)).toMatch(/SNS gave no answer.*retried automatically/);
    // The slow publish still lands (the member applies a request once, so a re-send is harmless).
    const sent = hub.publisher.messages.length;
    while (hub.publisher.messages.length === sent) await new Promise((r) => setTimeout(r, 50));
    expect(JSON.parse(hub.publisher.messages.at(-1)?.message ?? "{}")).toMatchObject({
      type: "apply",
      requestId: request.requestId,
    });
  }, 10_000);
});

describe("buttonClick: malformed and unknown", () => {
  it("answers 400 for a body that is not form-encoded", async () => {
    const res = await click(signed(JSON.stringify({ type: "block_actions" })));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error).toMatch(/form-encoded/);
  });

  it("answers 400 for a payload that is not JSON", async () => {
    const res = await click(signed("payload=%7Bnot-json"));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error).toMatch(/not JSON/);
  });

  it("answers 400 for an unknown action and changes nothing", async () => {
    const request = await aliceRequest();
    const res = await click(signed(clickBody("U0BOB", "delete_everything", request.requestId)));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error).toMatch(/unknown action/);
    expect((await hub.deps.requests.get(request.requestId))?.status).toBe("pending");
  });

  it("answers 404 for an unknown request id", async () => {
    const res = await click(signed(clickBody("U0BOB", "approve", "r-01JD0000000000000000000000")));
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body).error).toMatch(/unknown request r-01JD0000000000000000000000/);
  });

  it("answers 400 for a value that is not a request id", async () => {
    const res = await click(signed(clickBody("U0BOB", "approve", "'; DROP TABLE")));
    expect(res.statusCode).toBe(400);
  });

  it("answers an unsupported interaction type with 400", async () => {
    const body = new URLSearchParams({
      payload: JSON.stringify({ type: "view_submission" }),
    }).toString();
    const res = await click(signed(body));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error).toMatch(/view_submission/);
  });

  it("answers ssl_check and url_verification", async () => {
    expect((await click(signed("ssl_check=1&token=abc"))).statusCode).toBe(200);
    const challenge = fixture("slack/url_verification.json") as { challenge: string };
    const res = await click(signed(JSON.stringify(challenge)));
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(challenge.challenge);
  });
});

describe("buttonClick: who may decide, and only once", () => {
  it("refuses a user who is not an approver, with an ephemeral reply", async () => {
    const request = await aliceRequest();
    const res = await click(signed(clickBody("U0MALLORY", "approve", request.requestId)));
    expect(res.statusCode).toBe(200);
    expect((await hub.deps.requests.get(request.requestId))?.status).toBe("pending");
    expect(ephemeralsFor("U0MALLORY").at(-1)).toMatch(/not an approver/);
  });

  it("refuses self-approval: the SSO session bob@example.com cannot approve as Slack user bob", async () => {
    const request = await pendingRequest(
      hub.deps,
      changeFromFixture("AuthorizeSecurityGroupIngress/assumed-role-sso.json", randomUUID()),
    );
    expect(request.change.requester.name).toBe("bob@example.com");
    const res = await click(signed(clickBody("U0BOB", "approve", request.requestId)));
    expect(res.statusCode).toBe(200);
    expect((await hub.deps.requests.get(request.requestId))?.status).toBe("pending");
    expect(ephemeralsFor("U0BOB").at(-1)).toMatch(/someone else must approve/);
    // Another approver may.
    await click(signed(clickBody("U0CAROL", "approve", request.requestId)));
    expect((await hub.deps.requests.get(request.requestId))?.status).toBe("approved");
  });

  it("refuses an approval when Slack's users.info fails: self-approval could not be ruled out", async () => {
    const request = await aliceRequest();
    hub.slack.failNext("users.info", { status: 500 });
    const res = await click(signed(clickBody("U0BOB", "approve", request.requestId)));
    expect(res.statusCode).toBe(200);
    expect((await hub.deps.requests.get(request.requestId))?.status).toBe("pending");
    expect(ephemeralsFor("U0BOB").at(-1)).toMatch(/Could not check with Slack who you are/);
    // A deny needs no identity check.
    await click(signed(clickBody("U0BOB", "deny", request.requestId)));
    expect((await hub.deps.requests.get(request.requestId))?.status).toBe("denied");
  });

  it("refuses an approval, well within Slack's 3 s, when users.info stalls", async () => {
    const request = await aliceRequest();
    hub.slack.failNext("users.info", { delayMs: 5_000 });
    const started = performance.now();
    const res = await click(signed(clickBody("U0BOB", "approve", request.requestId)));
    const elapsed = performance.now() - started;
    hub.slack.clearFaults();
    expect(res.statusCode).toBe(200);
    expect(elapsed).toBeLessThan(2_500);
    expect((await hub.deps.requests.get(request.requestId))?.status).toBe("pending");
    expect(ephemeralsFor("U0BOB").at(-1)).toMatch(/Could not check with Slack who you are/);
  });

  it("an approver by user group may decide; a failing group lookup refuses, it does not guess", async () => {
    const config = hub.deps.config;
    hub.deps.config = { ...config, approverUserIds: [], approverUserGroup: "S0APPROVERS" };
    try {
      const refused = await aliceRequest();
      hub.slack.failNext("usergroups.users.list", { status: 500 });
      await click(signed(clickBody("U0CAROL", "approve", refused.requestId)));
      expect((await hub.deps.requests.get(refused.requestId))?.status).toBe("pending");
      expect(ephemeralsFor("U0CAROL").at(-1)).toMatch(/whether you may approve/);

      const request = await aliceRequest();
      await click(signed(clickBody("U0MALLORY", "approve", request.requestId)));
      expect((await hub.deps.requests.get(request.requestId))?.status).toBe("pending");
      await click(signed(clickBody("U0CAROL", "approve", request.requestId)));
      expect((await hub.deps.requests.get(request.requestId))?.status).toBe("approved");
    } finally {
      hub.deps.config = config;
    }
  });

  it("a second click gets 'already approved by' and changes nothing", async () => {
    const request = await aliceRequest();
    await click(signed(clickBody("U0BOB", "approve", request.requestId)));
    const sent = hub.publisher.messages.length;
    const res = await click(signed(clickBody("U0CAROL", "deny", request.requestId)));
    expect(res.statusCode).toBe(200);
    const stored = await hub.deps.requests.get(request.requestId);
    expect(stored?.status).toBe("approved");
    expect(stored?.decidedBy?.id).toBe("U0BOB");
    expect(hub.publisher.messages.length).toBe(sent);
    expect(ephemeralsFor("U0CAROL").at(-1)).toMatch(/already approved by <@U0BOB>/);
  });

  it("a replayed request (same signed body again) changes nothing", async () => {
    const request = await aliceRequest();
    const event = signed(clickBody("U0CAROL", "approve", request.requestId));
    await click(event);
    const sent = hub.publisher.messages.length;
    expect((await click(event)).statusCode).toBe(200);
    expect(hub.publisher.messages.length).toBe(sent);
  });

  it("approve racing deny: exactly one decision is recorded and exactly one message is sent on", async () => {
    const request = await aliceRequest();
    const sent = hub.publisher.messages.length;
    const clicks = Array.from({ length: 10 }, (_, i) =>
      click(
        signed(
          clickBody(i % 2 ? "U0BOB" : "U0CAROL", i % 2 ? "approve" : "deny", request.requestId),
        ),
      ),
    );
    const responses = await Promise.all(clicks);
    expect(responses.every((r) => r.statusCode === 200)).toBe(true);
    const stored = await hub.deps.requests.get(request.requestId);
    expect(["approved", "denied"]).toContain(stored?.status);
    const onward = hub.publisher.messages.slice(sent);
    expect(onward).toHaveLength(1);
    expect(onward[0]?.topicArn).toMatch(
      stored?.status === "approved" ? /applySecurityGroupChange/ : /denySecurityGroupChange/,
    );
  });
});
