import { describe, expect, it } from "vitest";
import {
  type Actor,
  type ApprovalRequest,
  createRequest,
  IllegalTransitionError,
  nextStatus,
  REQUEST_STATUSES,
  type RequestEvent,
  type RequestStatus,
  requestIdFromUlid,
  TERMINAL_STATUSES,
  transition,
} from "../../src/domain/request.js";
import { fixtureChange } from "../support/domain-fixtures.js";

const ID = "r-01JDQ5V7ZK3M8X2N4P6R9T1W3Y";
const NOW = "2025-02-11T09:01:50Z";
const EXPIRES = "2025-02-12T09:01:50Z";
const LATER = "2025-02-11T09:30:00Z";
const AFTER_EXPIRY = "2025-02-12T10:00:00Z";
const BOB: Actor = { id: "U0BOB", name: "bob" };
const change = fixtureChange("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json");

const pending = (): ApprovalRequest =>
  createRequest({ requestId: ID, change, now: NOW, expiresAt: EXPIRES });
/** A request in `status` whose change the member could not revert (so a Deny reverts it later). */
const inStatus = (status: RequestStatus): ApprovalRequest => ({
  ...pending(),
  status,
  revertError: LIVE,
});

const LIVE = { code: "EventTooLate", message: "arrived 400 s after the change" };

const EVENTS: Record<RequestEvent["type"], RequestEvent> = {
  approve: { type: "approve", by: BOB, at: LATER },
  deny: { type: "deny", by: BOB, at: LATER },
  applied: { type: "applied", at: LATER },
  failed: {
    type: "failed",
    at: LATER,
    error: { code: "InvalidPermission.Duplicate", message: "the rule already exists" },
  },
  expire: { type: "expire", at: AFTER_EXPIRY },
  reverted_after_deny: { type: "reverted_after_deny", at: LATER },
};

const LEGAL: Record<string, RequestStatus> = {
  "pending/approve": "approved",
  "pending/deny": "denied",
  "pending/expire": "expired",
  "approved/applied": "applied",
  "approved/failed": "failed",
  "auto_approved/applied": "applied",
  "auto_approved/failed": "failed",
  "denied/reverted_after_deny": "denied",
};

const table = REQUEST_STATUSES.flatMap((status) =>
  (Object.keys(EVENTS) as RequestEvent["type"][]).map(
    (event) => [status, event, LEGAL[`${status}/${event}`]] as const,
  ),
);

describe("transition: every status x every event", () => {
  it("the table covers 8 statuses x 6 events, 8 of them legal", () => {
    expect(table).toHaveLength(48);
    expect(table.filter(([, , to]) => to !== undefined)).toHaveLength(8);
  });

  it.each(table.filter(([, , to]) => to !== undefined))("%s --%s--> %s", (from, type, to) => {
    const request = inStatus(from);
    const snapshot = structuredClone(request);
    const event = EVENTS[type];
    const next = transition(request, event);
    expect(next.status).toBe(to);
    expect(nextStatus(from, type)).toBe(to);
    expect(next.updatedAt).toBe(event.at);
    expect(next.history).toHaveLength(request.history.length + 1);
    expect(next.history.slice(0, -1)).toStrictEqual(request.history);
    expect(next.history.at(-1)).toMatchObject({ status: to, at: event.at });
    expect(next.createdAt).toBe(NOW);
    expect(next.requestId).toBe(ID);
    expect(next.change).toBe(change);
    // Pure: the request passed in is left as it was.
    expect(request).toStrictEqual(snapshot);
  });

  it.each(table.filter(([, , to]) => to === undefined))("%s --%s--> refused", (from, type) => {
    const request = inStatus(from);
    let caught: unknown;
    try {
      transition(request, EVENTS[type]);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(IllegalTransitionError);
    const err = caught as IllegalTransitionError;
    expect(err.requestId).toBe(ID);
    expect(err.from).toBe(from);
    expect(err.event).toBe(type);
    expect(err.message).toBe(`request ${ID} is ${from}: cannot ${type}`);
    expect(nextStatus(from, type)).toBeUndefined();
  });

  it("no transition leaves a terminal status (recording a revert after a deny stays denied)", () => {
    for (const [from, , to] of table)
      if (TERMINAL_STATUSES.has(from)) expect([undefined, from]).toContain(to);
    expect([...TERMINAL_STATUSES].sort()).toEqual(
      ["applied", "auto_denied", "denied", "expired", "failed"].sort(),
    );
  });
});

describe("transition: who and when", () => {
  it("approve then applied keeps the decider, the decision time and the apply time", () => {
    const approved = transition(pending(), EVENTS.approve);
    expect(approved).toMatchObject({ decidedBy: BOB, decidedAt: LATER });
    const applied = transition(approved, { type: "applied", at: "2025-02-11T09:30:05Z" });
    expect(applied).toMatchObject({
      status: "applied",
      decidedBy: BOB,
      decidedAt: LATER,
      appliedAt: "2025-02-11T09:30:05Z",
    });
    expect(applied.history).toStrictEqual([
      { status: "pending", at: NOW },
      { status: "approved", at: LATER, by: BOB },
      { status: "applied", at: "2025-02-11T09:30:05Z" },
    ]);
  });

  it("deny records the decider in the request and its history", () => {
    const denied = transition(pending(), EVENTS.deny);
    expect(denied).toMatchObject({ status: "denied", decidedBy: BOB, decidedAt: LATER });
    expect(denied.history.at(-1)).toStrictEqual({ status: "denied", at: LATER, by: BOB });
  });

  it("failed keeps the EC2 error, in the request and as a history note", () => {
    const failed = transition(inStatus("approved"), EVENTS.failed);
    expect(failed.error).toStrictEqual({
      code: "InvalidPermission.Duplicate",
      message: "the rule already exists",
    });
    expect(failed.history.at(-1)).toStrictEqual({
      status: "failed",
      at: LATER,
      note: "InvalidPermission.Duplicate: the rule already exists",
    });
  });

  it("a second decision is refused: a double click changes nothing", () => {
    const approved = transition(pending(), EVENTS.approve);
    expect(() => transition(approved, EVENTS.approve)).toThrow(IllegalTransitionError);
    expect(() => transition(approved, EVENTS.deny)).toThrow(
      `request ${ID} is approved: cannot deny`,
    );
  });
});

describe("expire", () => {
  it("is refused before expiresAt, naming when it expires", () => {
    let caught: unknown;
    try {
      transition(pending(), { type: "expire", at: LATER });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(IllegalTransitionError);
    expect((caught as Error).message).toBe(
      `request ${ID} is pending: cannot expire (it expires at ${EXPIRES})`,
    );
  });

  it("is allowed at expiresAt and after, with no decider", () => {
    const atExpiry = transition(pending(), { type: "expire", at: EXPIRES });
    expect(atExpiry.status).toBe("expired");
    expect(atExpiry.decidedBy).toBeUndefined();
    expect(transition(pending(), EVENTS.expire).status).toBe("expired");
  });

  it("compares times, not strings (other offsets)", () => {
    // 10:01:50+01:00 is 09:01:50Z: exactly the expiry time.
    expect(transition(pending(), { type: "expire", at: "2025-02-12T10:01:50+01:00" }).status).toBe(
      "expired",
    );
    expect(() =>
      transition(pending(), { type: "expire", at: "2025-02-12T10:01:49+01:00" }),
    ).toThrow(IllegalTransitionError);
  });
});

describe("createRequest", () => {
  it("starts pending, with its times and one history entry", () => {
    const r = pending();
    expect(r).toStrictEqual({
      requestId: ID,
      status: "pending",
      change,
      createdAt: NOW,
      updatedAt: NOW,
      expiresAt: EXPIRES,
      history: [{ status: "pending", at: NOW }],
    });
  });

  it("keeps the account alias, group name and a revert error when given", () => {
    const r = createRequest({
      requestId: ID,
      change,
      now: NOW,
      expiresAt: EXPIRES,
      accountAlias: "prod",
      groupName: "web",
      revertError: { code: "UnauthorizedOperation", message: "no" },
    });
    expect(r).toMatchObject({
      accountAlias: "prod",
      groupName: "web",
      revertError: { code: "UnauthorizedOperation", message: "no" },
    });
  });

  it("with a policy decision starts auto_denied, decided by policy:<rule>", () => {
    const r = createRequest({
      requestId: ID,
      change,
      now: NOW,
      expiresAt: EXPIRES,
      policy: {
        status: "auto_denied",
        rule: "require-description",
        reason: "1 rule has no description",
      },
    });
    expect(r).toMatchObject({
      status: "auto_denied",
      decidedBy: { id: "policy:require-description" },
      decidedAt: NOW,
      policyReason: "1 rule has no description",
    });
    expect(r.history).toStrictEqual([
      {
        status: "auto_denied",
        at: NOW,
        by: { id: "policy:require-description" },
        note: "1 rule has no description",
      },
    ]);
    for (const type of Object.keys(EVENTS) as RequestEvent["type"][]) {
      expect(() => transition(r, EVENTS[type])).toThrow(IllegalTransitionError);
    }
  });

  it("auto_approved goes on to applied", () => {
    const r = createRequest({
      requestId: ID,
      change,
      now: NOW,
      expiresAt: EXPIRES,
      policy: { status: "auto_approved", rule: "pipeline", reason: "from the pipeline" },
    });
    expect(r.decidedBy).toStrictEqual({ id: "policy:pipeline" });
    expect(transition(r, EVENTS.applied).status).toBe("applied");
  });
});

describe("requestIdFromUlid", () => {
  it("prefixes r- to a ULID, upper-casing it", () => {
    expect(requestIdFromUlid("01JDQ5V7ZK3M8X2N4P6R9T1W3Y")).toBe(ID);
    expect(requestIdFromUlid("01jdq5v7zk3m8x2n4p6r9t1w3y")).toBe(ID);
  });

  it.each([
    ["too short", "01JDQ5V7ZK3M8X2N4P6R9T1W3"],
    ["too long", "01JDQ5V7ZK3M8X2N4P6R9T1W3YZ"],
    ["I is not Crockford base32", "01JDQ5V7ZK3M8X2N4P6R9T1WIY"],
    ["L is not Crockford base32", "01JDQ5V7ZK3M8X2N4P6R9T1WLY"],
    ["O is not Crockford base32", "01JDQ5V7ZK3M8X2N4P6R9T1WOY"],
    ["U is not Crockford base32", "01JDQ5V7ZK3M8X2N4P6R9T1WUY"],
    ["empty", ""],
    ["already an id", ID],
    ["with a dash", "01JDQ5V7ZK-M8X2N4P6R9T1W3Y"],
  ])("refuses %s", (_what, ulid) => {
    expect(() => requestIdFromUlid(ulid)).toThrow(`not a ULID: ${ulid}`);
  });
});

describe("a live change, denied, then reverted", () => {
  const denied = (): ApprovalRequest => transition(inStatus("pending"), EVENTS.deny);

  it("records the revert after the deny, once; status stays denied", () => {
    const done = transition(denied(), { type: "reverted_after_deny", at: AFTER_EXPIRY });
    expect(done.status).toBe("denied");
    expect(done.revertAfterDeny).toStrictEqual({ at: AFTER_EXPIRY });
    expect(done.history.at(-1)).toMatchObject({ status: "denied", note: "reverted after deny" });
    expect(() => transition(done, { type: "reverted_after_deny", at: AFTER_EXPIRY })).toThrow(
      /recorded already/,
    );
  });

  it("keeps a failed revert's error", () => {
    const error = { code: "UnauthorizedOperation", message: "not allowed" };
    const failed = transition(denied(), { type: "reverted_after_deny", at: LATER, error });
    expect(failed.revertAfterDeny).toStrictEqual({ at: LATER, error });
    expect(failed.history.at(-1)?.note).toBe(
      "revert after deny failed: UnauthorizedOperation: not allowed",
    );
  });

  it("is illegal for a denied change that was reverted in the first place", () => {
    const reverted = { ...denied(), revertError: undefined };
    expect(() => transition(reverted, { type: "reverted_after_deny", at: LATER })).toThrow(
      IllegalTransitionError,
    );
  });
});
