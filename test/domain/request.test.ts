import { describe, expect, it } from "vitest";
import { DRIFT_EVENT_NAME, type DriftChange, UNKNOWN_REQUESTER } from "../../src/domain/change.js";
import type { Verification } from "../../src/domain/identity.js";
import {
  type Actor,
  type ApprovalRequest,
  createRequest,
  DEFAULT_JOB_SETTINGS,
  dueAt,
  IllegalTransitionError,
  isLive,
  leftOnExpiry,
  missingMessages,
  nextStatus,
  owesFollowUpRevert,
  REQUEST_STATUSES,
  type RequestEvent,
  type RequestStatus,
  requestIdFromUlid,
  scheduled,
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
const CAROL: Actor = { id: "U0CAROL", name: "carol" };
const change = fixtureChange("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json");
const VERIFIED: Verification = {
  verified: true,
  via: "identity-center",
  identity: "alice@example.com",
  email: "alice@example.com",
};
const UNVERIFIED: Verification = { verified: false, reason: "an assumed role" };
const base = { requestId: ID, change, verification: VERIFIED, requiredApprovals: 1 };

const pending = (required = 1): ApprovalRequest =>
  createRequest({ ...base, requiredApprovals: required, now: NOW, expiresAt: EXPIRES });
const drift: DriftChange = {
  kind: "drift",
  eventName: DRIFT_EVENT_NAME,
  eventId: "drift-0123456789abcdef0123456789abcdef",
  eventTime: NOW,
  account: "111122223333",
  region: "us-east-1",
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
};
/**
 * A request in `status` whose change the member could not revert (so a Deny reverts it later);
 * its change is a drift, so every event has a request it could apply to.
 */
const inStatus = (status: RequestStatus): ApprovalRequest => ({
  ...pending(),
  change: drift,
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
  follow_up_reverted: { type: "follow_up_reverted", at: LATER },
  reverted_later: { type: "reverted_later", at: LATER },
  requester_known: {
    type: "requester_known",
    at: LATER,
    change: { ...drift, requester: change.requester },
    verification: VERIFIED,
  },
  job_attempt: { type: "job_attempt", at: LATER },
};

const LEGAL: Record<string, RequestStatus> = {
  "pending/approve": "approved",
  "pending/deny": "denied",
  "pending/expire": "expired",
  "approved/applied": "applied",
  "approved/failed": "failed",
  "auto_approved/applied": "applied",
  "auto_approved/failed": "failed",
  "denied/follow_up_reverted": "denied",
  "expired/follow_up_reverted": "expired",
  "pending/reverted_later": "pending",
  "pending/requester_known": "pending",
  "pending/job_attempt": "pending",
  "approved/job_attempt": "approved",
  "auto_approved/job_attempt": "auto_approved",
  "denied/job_attempt": "denied",
  "expired/job_attempt": "expired",
};

const table = REQUEST_STATUSES.flatMap((status) =>
  (Object.keys(EVENTS) as RequestEvent["type"][]).map(
    (event) => [status, event, LEGAL[`${status}/${event}`]] as const,
  ),
);

describe("transition: every status x every event", () => {
  it("the table covers 9 statuses x 9 events, 16 of them legal", () => {
    expect(table).toHaveLength(81);
    expect(table.filter(([, , to]) => to !== undefined)).toHaveLength(16);
  });

  it.each(table.filter(([, , to]) => to !== undefined))("%s --%s--> %s", (from, type, to) => {
    const request = inStatus(from);
    const snapshot = structuredClone(request);
    const event = EVENTS[type];
    const next = transition(request, event);
    expect(next.status).toBe(to);
    expect(nextStatus(from, type)).toBe(to);
    expect(next.updatedAt).toBe(event.at);
    expect(next.version).toBe(request.version + 1);
    if (type === "job_attempt") {
      // Bookkeeping, not history.
      expect(next.history).toStrictEqual(request.history);
      expect(next.jobs).toStrictEqual({ attempts: 1, lastAt: event.at });
    } else {
      expect(next.history).toHaveLength(request.history.length + 1);
      expect(next.history.slice(0, -1)).toStrictEqual(request.history);
      expect(next.history.at(-1)).toMatchObject({ status: to, at: event.at });
    }
    expect(next.createdAt).toBe(NOW);
    expect(next.requestId).toBe(ID);
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

  it("no transition leaves a terminal status (recording a follow-up revert keeps it)", () => {
    for (const [from, , to] of table)
      if (TERMINAL_STATUSES.has(from)) expect([undefined, from]).toContain(to);
    expect([...TERMINAL_STATUSES].sort()).toEqual(
      ["applied", "auto_denied", "denied", "exempt", "expired", "failed"].sort(),
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
      version: 1,
      change,
      verification: VERIFIED,
      requiredApprovals: 1,
      createdAt: NOW,
      updatedAt: NOW,
      expiresAt: EXPIRES,
      history: [{ status: "pending", at: NOW }],
    });
  });

  it("keeps the account alias, group name and a revert error when given", () => {
    const r = createRequest({
      ...base,
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
      ...base,
      now: NOW,
      expiresAt: EXPIRES,
      decided: {
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
      ...base,
      now: NOW,
      expiresAt: EXPIRES,
      decided: { status: "auto_approved", rule: "pipeline", reason: "from the pipeline" },
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

describe("a live change, denied or expired, then reverted", () => {
  const denied = (): ApprovalRequest => transition(inStatus("pending"), EVENTS.deny);

  it("records the follow-up revert, once; status stays denied", () => {
    const done = transition(denied(), { type: "follow_up_reverted", at: AFTER_EXPIRY });
    expect(done.status).toBe("denied");
    expect(done.followUpRevert).toStrictEqual({ at: AFTER_EXPIRY });
    expect(done.history.at(-1)).toMatchObject({ status: "denied", note: "reverted" });
    expect(() => transition(done, { type: "follow_up_reverted", at: AFTER_EXPIRY })).toThrow(
      /recorded already/,
    );
  });

  it("keeps a failed revert's error", () => {
    const error = { code: "UnauthorizedOperation", message: "not allowed" };
    const failed = transition(denied(), { type: "follow_up_reverted", at: LATER, error });
    expect(failed.followUpRevert).toStrictEqual({ at: LATER, error });
    expect(failed.history.at(-1)?.note).toBe(
      "the revert that followed failed: UnauthorizedOperation: not allowed",
    );
  });

  it("is illegal for a denied change that was reverted in the first place", () => {
    const reverted = { ...denied(), revertError: undefined };
    expect(() => transition(reverted, { type: "follow_up_reverted", at: LATER })).toThrow(
      IllegalTransitionError,
    );
  });

  it("is owed for a denied live change, and for an expired one unless it was left", () => {
    const live = inStatus("pending");
    expect(owesFollowUpRevert(transition(live, EVENTS.deny))).toBe(true);
    expect(owesFollowUpRevert(transition(live, EVENTS.expire))).toBe(true);
    const left = transition(live, { type: "expire", at: AFTER_EXPIRY, leaveLive: true });
    expect(leftOnExpiry(left)).toBe(true);
    expect(owesFollowUpRevert(left)).toBe(false);
    expect(owesFollowUpRevert(transition(pending(), EVENTS.deny))).toBe(false);
  });

  it("isLive: until a follow-up revert succeeded", () => {
    const d = denied();
    expect(isLive(d)).toBe(true);
    expect(isLive(transition(d, { type: "follow_up_reverted", at: LATER }))).toBe(false);
    const failed = transition(d, {
      type: "follow_up_reverted",
      at: LATER,
      error: { code: "X", message: "y" },
    });
    expect(isLive(failed)).toBe(true);
    expect(isLive(pending())).toBe(false);
  });
});

describe("several approvers", () => {
  it("the first of two approvals keeps it pending, the second approves it", () => {
    const first = transition(pending(2), { type: "approve", by: BOB, at: LATER });
    expect(first.status).toBe("pending");
    expect(first.approvals).toStrictEqual([{ by: BOB, at: LATER }]);
    expect(first.decidedBy).toBeUndefined();
    expect(first.history.at(-1)).toStrictEqual({
      status: "pending",
      at: LATER,
      by: BOB,
      note: "approval 1 of 2",
    });
    const second = transition(first, { type: "approve", by: CAROL, at: AFTER_EXPIRY });
    expect(second.status).toBe("approved");
    expect(second.decidedBy).toStrictEqual(CAROL);
    expect(second.approvals?.map((a) => a.by.id)).toStrictEqual(["U0BOB", "U0CAROL"]);
  });

  it("the same approver twice does not count twice", () => {
    const first = transition(pending(2), { type: "approve", by: BOB, at: LATER });
    expect(() => transition(first, { type: "approve", by: BOB, at: LATER })).toThrow(
      /U0BOB has approved it already/,
    );
  });

  it("any deny ends it, approvals or not", () => {
    const first = transition(pending(2), { type: "approve", by: BOB, at: LATER });
    const denied = transition(first, { type: "deny", by: CAROL, at: LATER });
    expect(denied.status).toBe("denied");
    expect(denied.decidedBy).toStrictEqual(CAROL);
  });

  it("createRequest asks for at least one approval", () => {
    expect(
      createRequest({ ...base, requiredApprovals: 0, now: NOW, expiresAt: EXPIRES })
        .requiredApprovals,
    ).toBe(1);
  });
});

describe("drift learns its requester; a live change reverted on a retry", () => {
  const driftRequest = () => ({
    ...createRequest({
      ...base,
      change: drift,
      verification: UNVERIFIED,
      requiredApprovals: 2,
      now: NOW,
      expiresAt: EXPIRES,
    }),
  });

  it("requester_known replaces the change's requester and verification", () => {
    const known = transition(driftRequest(), EVENTS.requester_known);
    expect(known.change.requester).toStrictEqual(change.requester);
    expect(known.verification).toStrictEqual(VERIFIED);
    expect(known.history.at(-1)?.note).toBe(`made by ${change.requester.arn}`);
  });

  it("an approval the now-known author gave no longer counts", () => {
    const alice = { id: "U0ALICE" };
    const approvedByAlice = transition(driftRequest(), { type: "approve", by: alice, at: LATER });
    const known = transition(approvedByAlice, {
      type: "requester_known",
      at: LATER,
      change: { ...drift, requester: change.requester },
      verification: { ...VERIFIED, slackUserId: "U0ALICE" },
    });
    expect(known.approvals).toStrictEqual([]);
  });

  it("is refused for a request that is not a drift", () => {
    expect(() => transition(pending(), EVENTS.requester_known)).toThrow(/its requester is known/);
  });

  it("reverted_later drops the revert error of a pending request", () => {
    const live = { ...pending(), revertError: LIVE };
    const reverted = transition(live, EVENTS.reverted_later);
    expect(reverted.revertError).toBeUndefined();
    expect(reverted.history.at(-1)?.note).toBe("reverted on a retry (it was: EventTooLate)");
    expect(() => transition(pending(), EVENTS.reverted_later)).toThrow(/reverted already/);
  });
});

describe("dueAt: when the job must look", () => {
  const S = DEFAULT_JOB_SETTINGS;
  const posted = (r: ApprovalRequest): ApprovalRequest => ({
    ...r,
    slack: { approval: { channel: "C1", ts: "1.1" }, monitoring: { channel: "C2", ts: "1.2" } },
  });

  it("a request without its messages: the post retry, a few minutes after creation", () => {
    expect(missingMessages(pending())).toStrictEqual(["approval", "monitoring"]);
    expect(dueAt(pending(), S)).toBe("2025-02-11T09:03:50.000Z");
  });

  it("a posted pending request: its expiry", () => {
    expect(missingMessages(posted(pending()))).toStrictEqual([]);
    expect(dueAt(posted(pending()), S)).toBe(EXPIRES);
  });

  it("an approval: the re-send time after its decision, then after each attempt", () => {
    const approved = transition(posted(pending()), EVENTS.approve);
    expect(dueAt(approved, S)).toBe("2025-02-11T09:45:00.000Z");
    const tried = transition(approved, { type: "job_attempt", at: "2025-02-11T10:00:00Z" });
    expect(dueAt(tried, S)).toBe("2025-02-11T10:15:00.000Z");
  });

  it("a denied live change with no follow-up result: the re-send time; once reverted: never", () => {
    const denied = transition({ ...posted(pending()), revertError: LIVE }, EVENTS.deny);
    expect(dueAt(denied, S)).toBe("2025-02-11T09:45:00.000Z");
    const done = transition(denied, { type: "follow_up_reverted", at: LATER });
    expect(dueAt(done, S)).toBeUndefined();
  });

  it("a decided request needs only its monitoring message; applied, denied, auto-denied: nothing", () => {
    const denied = transition(pending(), EVENTS.deny);
    expect(missingMessages(denied)).toStrictEqual(["monitoring"]);
    expect(dueAt(posted(denied), S)).toBeUndefined();
    const applied = transition(transition(posted(pending()), EVENTS.approve), EVENTS.applied);
    expect(dueAt(applied, S)).toBeUndefined();
  });

  it("scheduled sets or drops `due`", () => {
    expect(scheduled(pending(), S).due).toBe("2025-02-11T09:03:50.000Z");
    const applied = transition(transition(posted(pending()), EVENTS.approve), EVENTS.applied);
    expect("due" in scheduled({ ...applied, due: LATER }, S)).toBe(false);
  });
});
