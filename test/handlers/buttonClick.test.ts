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

/** bob's IAM Identity Center session: verified by its email, so a click needs users.info. */
const bobSsoRequest = () =>
  pendingRequest(
    hub.deps,
    changeFromFixture("AuthorizeSecurityGroupIngress/assumed-role-sso.json", randomUUID()),
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
    const res = await click(signed(clickBody("U0BOB", "approve", request)));
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
        signed(clickBody("U0BOB", "approve", await aliceRequest()), Date.now(), "not-the-secret"),
      401,
      /signature/i,
    ],
    [
      "a stale timestamp",
      async () =>
        signed(clickBody("U0BOB", "approve", await aliceRequest()), Date.now() - 6 * 60_000),
      401,
      /stale|old|time/i,
    ],
    [
      "missing headers",
      async () => ({
        body: clickBody("U0BOB", "approve", await aliceRequest()),
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
        const good = signed(clickBody("U0MALLORY", "approve", request));
        return { ...good, body: clickBody("U0BOB", "approve", request) };
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
      // Opaque to the caller: no reason, no clock skew. The reason is in the logs only.
      expect(JSON.parse(res.body)).toStrictEqual({ error: "unauthorized" });
      const logged = hub.log.lines.at(-1);
      expect(logged?.message).toBe("rejected an unverified Slack request");
      expect(String(logged?.attributes?.detail)).toMatch(message);
      expect((await hub.deps.requests.get(requestId))?.status).toBe("pending");
      expect(hub.publisher.messages.length).toBe(before);
    });
  }

  it("decodes a base64 body (binary media types) before checking the signature", async () => {
    const request = await aliceRequest();
    const event = signed(clickBody("U0CAROL", "deny", request));
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
    const res = await click(signed(clickBody("U0BOB", "approve", request)));
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
    const res = await click(signed(clickBody("U0BOB", "approve", request)));
    const elapsed = performance.now() - started;
    expect(res.statusCode).toBe(200);
    expect(elapsed).toBeLessThan(3_000);
    expect((await hub.deps.requests.get(request.requestId))?.status).toBe("approved");
    expect(ephemeralsFor("U0BOB").at(-1)).toMatch(/SNS gave no answer.*sent again automatically/);
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
    const res = await click(signed(clickBody("U0BOB", "delete_everything", request)));
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
    const res = await click(signed(clickBody("U0MALLORY", "approve", request)));
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
    const res = await click(signed(clickBody("U0BOB", "approve", request)));
    expect(res.statusCode).toBe(200);
    expect((await hub.deps.requests.get(request.requestId))?.status).toBe("pending");
    expect(ephemeralsFor("U0BOB").at(-1)).toMatch(/someone else must approve/);
    // Another approver may.
    await click(signed(clickBody("U0CAROL", "approve", request)));
    expect((await hub.deps.requests.get(request.requestId))?.status).toBe("approved");
  });

  it("refuses an approval when Slack's users.info fails: self-approval could not be ruled out", async () => {
    const request = await bobSsoRequest();
    hub.slack.failNext("users.info", { status: 500 });
    const res = await click(signed(clickBody("U0BOB", "approve", request)));
    expect(res.statusCode).toBe(200);
    expect((await hub.deps.requests.get(request.requestId))?.status).toBe("pending");
    expect(ephemeralsFor("U0BOB").at(-1)).toMatch(/Could not check with Slack who you are/);
    // A deny needs no identity check.
    await click(signed(clickBody("U0BOB", "deny", request)));
    expect((await hub.deps.requests.get(request.requestId))?.status).toBe("denied");
  });

  it("refuses an approval, well within Slack's 3 s, when users.info stalls", async () => {
    const request = await bobSsoRequest();
    hub.slack.failNext("users.info", { delayMs: 5_000 });
    const started = performance.now();
    const res = await click(signed(clickBody("U0BOB", "approve", request)));
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
      await click(signed(clickBody("U0CAROL", "approve", refused)));
      expect((await hub.deps.requests.get(refused.requestId))?.status).toBe("pending");
      expect(ephemeralsFor("U0CAROL").at(-1)).toMatch(/whether you may approve/);

      const request = await aliceRequest();
      await click(signed(clickBody("U0MALLORY", "approve", request)));
      expect((await hub.deps.requests.get(request.requestId))?.status).toBe("pending");
      await click(signed(clickBody("U0CAROL", "approve", request)));
      expect((await hub.deps.requests.get(request.requestId))?.status).toBe("approved");
    } finally {
      hub.deps.config = config;
    }
  });

  it("a second click gets 'already approved by' and changes nothing", async () => {
    const request = await aliceRequest();
    await click(signed(clickBody("U0BOB", "approve", request)));
    const sent = hub.publisher.messages.length;
    const res = await click(signed(clickBody("U0CAROL", "deny", request)));
    expect(res.statusCode).toBe(200);
    const stored = await hub.deps.requests.get(request.requestId);
    expect(stored?.status).toBe("approved");
    expect(stored?.decidedBy?.id).toBe("U0BOB");
    expect(hub.publisher.messages.length).toBe(sent);
    expect(ephemeralsFor("U0CAROL").at(-1)).toMatch(/already approved by <@U0BOB>/);
  });

  it("a replayed request (same signed body again) changes nothing", async () => {
    const request = await aliceRequest();
    const event = signed(clickBody("U0CAROL", "approve", request));
    await click(event);
    const sent = hub.publisher.messages.length;
    expect((await click(event)).statusCode).toBe(200);
    expect(hub.publisher.messages.length).toBe(sent);
  });

  it("approve racing deny: exactly one decision is recorded and exactly one message is sent on", async () => {
    const request = await aliceRequest();
    const sent = hub.publisher.messages.length;
    const clicks = Array.from({ length: 10 }, (_, i) =>
      click(signed(clickBody(i % 2 ? "U0BOB" : "U0CAROL", i % 2 ? "approve" : "deny", request))),
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

describe("buttonClick: click context", () => {
  it.each([
    ["the monitoring channel", { channel: "C0MONITORING" }],
    ["another channel", { channel: "C0ELSEWHERE" }],
    ["a direct message", { channel: "D0DIRECT" }],
    ["another workspace", { teamId: "T0OTHER" }],
    ["another app", { appId: "A0OTHERAPP" }],
    ["another message in the approval channel", { messageTs: "1700000000.000100" }],
  ])("a click from %s is refused and changes nothing", async (_what, options) => {
    const request = await aliceRequest();
    const refusedBefore = hub.metrics.get("RefusedClick");
    const sent = hub.publisher.messages.length;
    const res = await click(signed(clickBody("U0BOB", "approve", request, options)));
    expect(res.statusCode).toBe(200);
    expect((await hub.deps.requests.get(request.requestId))?.status).toBe("pending");
    expect(hub.publisher.messages.length).toBe(sent);
    expect(hub.metrics.get("RefusedClick")).toBe(refusedBefore + 1);
  });
});

describe("buttonClick: an unverified requester needs two different approvers", () => {
  const unverified = (requester: Record<string, unknown>) => {
    const change = changeFromFixture(
      "AuthorizeSecurityGroupIngress/ipv4-tcp-22.json",
      randomUUID(),
    );
    return pendingRequest(hub.deps, {
      ...change,
      requester: { ...change.requester, ...requester },
    } as typeof change);
  };
  const caseOf = {
    "an unmapped IAM user (bsmith)": {
      arn: "arn:aws:iam::111122223333:user/bsmith",
      type: "IAMUser",
      name: "bsmith",
    },
    "an assumed role whose caller chose the session name bob": {
      arn: "arn:aws:sts::111122223333:assumed-role/ci-deploy/bob",
      type: "AssumedRole",
      name: "bob",
      roleArn: "arn:aws:iam::111122223333:role/ci-deploy",
      roleName: "ci-deploy",
    },
  };
  for (const [what, requester] of Object.entries(caseOf)) {
    it(`${what}: the first approval leaves it pending, 1 of 2; the second approver applies it`, async () => {
      const request = await unverified(requester);
      expect(request.requiredApprovals).toBe(2);
      const sent = hub.publisher.messages.length;
      await click(signed(clickBody("U0BOB", "approve", request)));
      let stored = await hub.deps.requests.get(request.requestId);
      expect(stored?.status).toBe("pending");
      expect(stored?.approvals?.map((a) => a.by.id)).toEqual(["U0BOB"]);
      expect(ephemeralsFor("U0BOB").at(-1)).toMatch(/Approval recorded \(1 of 2\)/);
      const card = JSON.stringify(
        hub.slack.state.message("C0APPROVAL", stored?.slack?.approval?.ts ?? "")?.blocks,
      );
      expect(card).toContain("1 of 2 approvals");
      expect(hub.publisher.messages.length).toBe(sent);
      // The same approver again does not count twice.
      await click(signed(clickBody("U0BOB", "approve", request)));
      expect((await hub.deps.requests.get(request.requestId))?.approvals).toHaveLength(1);
      expect(ephemeralsFor("U0BOB").at(-1)).toMatch(/approved this already/);
      await click(signed(clickBody("U0CAROL", "approve", request)));
      stored = await hub.deps.requests.get(request.requestId);
      expect(stored?.status).toBe("approved");
      expect(hub.publisher.messages.slice(sent).map((m) => JSON.parse(m.message).type)).toEqual([
        "apply",
      ]);
    });
  }

  it("two approvers clicking at once both count: the request is approved, sent on once", async () => {
    const request = await unverified(caseOf["an unmapped IAM user (bsmith)"]);
    const sent = hub.publisher.messages.length;
    await Promise.all([
      click(signed(clickBody("U0BOB", "approve", request))),
      click(signed(clickBody("U0CAROL", "approve", request))),
    ]);
    const stored = await hub.deps.requests.get(request.requestId);
    expect(stored?.status).toBe("approved");
    expect(stored?.approvals?.map((a) => a.by.id).sort()).toEqual(["U0BOB", "U0CAROL"]);
    expect(hub.publisher.messages.slice(sent)).toHaveLength(1);
  });

  it("a mapped requester (alice, via the people mapping) cannot approve her own change, with no Slack lookup", async () => {
    hub.deps.config.approverUserIds = [...hub.deps.config.approverUserIds, "U0ALICE"];
    try {
      const request = await aliceRequest();
      const lookups = hub.slack.state.calls("users.info").length;
      await click(signed(clickBody("U0ALICE", "approve", request)));
      expect((await hub.deps.requests.get(request.requestId))?.status).toBe("pending");
      expect(ephemeralsFor("U0ALICE").at(-1)).toMatch(/someone else must approve/);
      expect(hub.slack.state.calls("users.info").length).toBe(lookups);
    } finally {
      hub.deps.config.approverUserIds = hub.deps.config.approverUserIds.filter(
        (u) => u !== "U0ALICE",
      );
    }
  });
});

describe("buttonClick: Slack's retries, and what it cannot be sent", () => {
  it("a Slack retry (x-slack-retry-num) of a recorded click gets the same answer, no second decision or reply", async () => {
    const request = await aliceRequest();
    const event = signed(clickBody("U0BOB", "approve", request));
    await click(event);
    const sent = hub.publisher.messages.length;
    const replies = ephemeralsFor("U0BOB").length;
    const retry = await click({
      ...event,
      headers: {
        ...event.headers,
        "X-Slack-Retry-Num": "1",
        "X-Slack-Retry-Reason": "http_timeout",
      },
    });
    expect(retry.statusCode).toBe(200);
    expect(hub.publisher.messages.length).toBe(sent);
    expect(ephemeralsFor("U0BOB").length).toBe(replies);
    expect(hub.log.lines.at(-1)?.attributes).toMatchObject({ outcome: "retry", slackRetry: "1" });
  });

  it("a body over 1 MB gets 413 before anything parses it", async () => {
    const big = `payload=${"x".repeat(1024 * 1024 + 1)}`;
    const res = await click({ body: big, headers: {}, isBase64Encoded: false });
    expect(res.statusCode).toBe(413);
    const base64 = await click({
      body: Buffer.from(big).toString("base64"),
      headers: {},
      isBase64Encoded: true,
    });
    expect(base64.statusCode).toBe(413);
  });
});

describe("buttonClick: 3 s on every path", () => {
  it("refusals answer within 3 s with Slack 4 s slow: not an approver, already decided, lookups", async () => {
    const request = await aliceRequest();
    hub.slack.failNext("chat.postEphemeral", { delayMs: 4_000, times: 5 });
    for (const user of ["U0MALLORY"]) {
      const started = performance.now();
      const res = await click(signed(clickBody(user, "approve", request)));
      expect(res.statusCode).toBe(200);
      expect(performance.now() - started).toBeLessThan(3_000);
    }
    await click(signed(clickBody("U0BOB", "deny", request)));
    const started = performance.now();
    await click(signed(clickBody("U0CAROL", "approve", request)));
    expect(performance.now() - started).toBeLessThan(3_000);
    // users.info slow and the ephemeral slow: still within 3 s.
    const sso = await bobSsoRequest();
    hub.slack.failNext("users.info", { delayMs: 4_000 });
    const again = performance.now();
    await click(signed(clickBody("U0CAROL", "approve", sso)));
    expect(performance.now() - again).toBeLessThan(3_000);
    hub.slack.clearFaults();
  }, 30_000);

  it("DynamoDB accepting connections but never answering: the click is answered within 3 s, 'try again'", async () => {
    const { createServer } = await import("node:net");
    const sockets = new Set<import("node:net").Socket>();
    const silent = createServer((s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    const port = (silent.address() as import("node:net").AddressInfo).port;
    try {
      const { DynamoDBClient } = await import("@aws-sdk/client-dynamodb");
      const { clientConfig, INTERACTIVE } = await import("../../src/adapters/aws-clients.js");
      const { documentClient } = await import("../../src/adapters/dynamodb/client.js");
      const { DynamoRequestStore } = await import("../../src/adapters/dynamodb/request-store.js");
      const hanging = new DynamoRequestStore(
        documentClient(
          new DynamoDBClient({
            ...clientConfig(INTERACTIVE),
            endpoint: `http://127.0.0.1:${port}`,
            region: "us-east-1",
            credentials: { accessKeyId: "x", secretAccessKey: "x" },
          }),
        ),
      );
      const request = await aliceRequest();
      const stuck = createButtonClickHandler({
        hub: () => ({ ...hub.deps, requests: hanging }),
        signingSecret: async () => SIGNING_SECRET,
      });
      const started = performance.now();
      const res = await stuck(signed(clickBody("U0BOB", "approve", request)));
      const elapsed = performance.now() - started;
      expect(res.statusCode).toBe(200);
      expect(elapsed).toBeLessThan(3_000);
      expect(ephemeralsFor("U0BOB").at(-1)).toMatch(/Could not read this request in time/);
      expect((await hub.deps.requests.get(request.requestId))?.status).toBe("pending");
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  }, 15_000);
});
