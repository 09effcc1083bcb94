import { describe, expect, it } from "vitest";
import type { Change } from "../../src/domain/change.js";
import { resolveChange } from "../../src/domain/change.js";
import {
  InvalidMessageError,
  parseApplyMessage,
  parseChangeMessage,
  parseDenyMessage,
  parseResultMessage,
} from "../../src/domain/messages.js";
import type { Rule } from "../../src/domain/rule.js";
import {
  cloudTrailFixtureNames,
  fixtureChange,
  type Json,
  parseFixture,
} from "../support/domain-fixtures.js";

const REQUEST_ID = "r-01JDQ5V7ZK3M8X2N4P6R9T1W3Y";

/** Every change the fixtures hold (ignored fixtures left out). */
const changes: [string, Change][] = cloudTrailFixtureNames().flatMap((name) => {
  const r = parseFixture(name);
  return r.ignored ? [] : [[name, r.change] as [string, Change]];
});

const changeMessage = (change: unknown, extra: Json = {}): string =>
  JSON.stringify({
    type: "change",
    change,
    revertedAt: "2025-02-11T09:01:46Z",
    revertMs: 812,
    ...extra,
  });

function expectInvalid(fn: () => unknown, message: string | RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InvalidMessageError);
  if (typeof message === "string") expect((caught as Error).message).toBe(message);
  else expect((caught as Error).message).toMatch(message);
}

describe("parseChangeMessage", () => {
  it("there are changes of every kind to try", () => {
    expect(new Set(changes.map(([, c]) => c.kind))).toEqual(new Set(["add", "remove", "modify"]));
  });

  it.each(changes)("accepts %s round-tripped through JSON, losing nothing", (_name, change) => {
    const parsed = parseChangeMessage(changeMessage(change, { groupName: "web" }));
    expect(parsed.change).toStrictEqual(change);
    expect(parsed).toMatchObject({ type: "change", groupName: "web", revertMs: 812 });
  });

  it("takes no account alias from a member: aliases come only from the hub's config", () => {
    const change = fixtureChange("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json");
    const parsed = parseChangeMessage(changeMessage(change, { accountAlias: "prod" }));
    expect(parsed).not.toHaveProperty("accountAlias");
  });

  it("accepts a drift, and the EventBridge detail as an object as well as JSON text", () => {
    const drift = {
      kind: "drift",
      eventName: "DriftDetected",
      eventId: "drift-0123456789abcdef0123456789abcdef",
      eventTime: "2025-02-11T09:01:46Z",
      account: "111122223333",
      region: "us-east-1",
      groupId: "sg-0f3a9c2b7d1e4a5b6",
      requester: { arn: "unknown", type: "Unknown", name: "unknown: no CloudTrail event" },
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
    const text = changeMessage(drift);
    expect(parseChangeMessage(text).change).toStrictEqual(drift);
    expect(parseChangeMessage(JSON.parse(text)).change).toStrictEqual(drift);
  });

  it.each([
    ["groupId", { groupId: "sg-1; rm -rf /" }, /at change\.groupId: a security group id/],
    ["region", { region: "../../etc" }, /at change\.region: not an AWS region name/],
    ["eventTime", { eventTime: "yesterday" }, /at change\.eventTime/],
  ])("rejects a bad %s", (_what, bad, message) => {
    const change = { ...fixtureChange("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json"), ...bad };
    expectInvalid(() => parseChangeMessage(changeMessage(change)), message);
  });

  it("rejects a CIDR that is not one", () => {
    const add = fixtureChange("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json");
    if (add.kind !== "add") throw new Error("not an add");
    const rules = [{ ...add.rules[0], peer: { kind: "cidrIpv4", cidr: "0.0.0.0/33" } }];
    expectInvalid(
      () => parseChangeMessage(changeMessage({ ...add, rules })),
      /rules\.0\.peer\.cidr: not an IPv4 CIDR/,
    );
  });

  it("accepts a resolved modify (with before) and an auto-deny with a revert error", () => {
    const modify = fixtureChange("ModifySecurityGroupRules/single-rule.json");
    const resolved = resolveChange(modify, [
      {
        direction: "ingress",
        protocol: "tcp",
        fromPort: 22,
        toPort: 22,
        peer: { kind: "cidrIpv4", cidr: "10.0.0.0/8" },
        ruleId: "sgr-0c1d2e3f4a5b6c7d8",
      },
    ]);
    const policy = { status: "auto_denied", rule: "require-description", reason: "no description" };
    const revertError = { code: "UnauthorizedOperation", message: "not allowed" };
    const parsed = parseChangeMessage(changeMessage(resolved, { policy, revertError }));
    expect(parsed.change).toStrictEqual(resolved);
    expect(parsed.policy).toStrictEqual(policy);
    expect(parsed.revertError).toStrictEqual(revertError);
  });

  it("rejects a bad account id, naming the path", () => {
    const change = {
      ...fixtureChange("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json"),
      account: "1234",
    };
    expectInvalid(
      () => parseChangeMessage(changeMessage(change)),
      "change message is invalid at change.account: an AWS account id is 12 digits",
    );
  });

  it("rejects a change without rules, naming the path", () => {
    const add = fixtureChange("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json");
    if (add.kind !== "add") throw new Error("not an add");
    const { rules: _r, ...change } = add;
    expectInvalid(
      () => parseChangeMessage(changeMessage(change)),
      /^change message is invalid at change\.rules: /,
    );
  });

  it("rejects an add with no rule, and a rule without a peer", () => {
    const add = fixtureChange("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json");
    if (add.kind !== "add") throw new Error("not an add");
    expectInvalid(
      () => parseChangeMessage(changeMessage({ ...add, rules: [] })),
      /at change\.rules: /,
    );
    const { peer: _p, ...noPeer } = add.rules[0] as Rule;
    expectInvalid(
      () => parseChangeMessage(changeMessage({ ...add, rules: [noPeer] })),
      /at change\.rules\.0\.peer: /,
    );
  });

  it("rejects an unknown kind, an ungoverned event name, a port out of range", () => {
    const add = fixtureChange("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json");
    if (add.kind !== "add") throw new Error("not an add");
    expectInvalid(
      () => parseChangeMessage(changeMessage({ ...add, kind: "rename" })),
      /at change\.kind/,
    );
    expectInvalid(
      () => parseChangeMessage(changeMessage({ ...add, eventName: "DeleteSecurityGroup" })),
      /at change\.eventName/,
    );
    const rules = [{ ...add.rules[0], toPort: 70000 }];
    expectInvalid(
      () => parseChangeMessage(changeMessage({ ...add, rules })),
      /at change\.rules\.0\.toPort/,
    );
  });

  it("rejects text that is not JSON, and a message without its type", () => {
    expectInvalid(() => parseChangeMessage("{not json"), "change message is not JSON");
    expectInvalid(() => parseChangeMessage(""), "change message is not JSON");
    expectInvalid(() => parseChangeMessage(JSON.stringify({ change: {} })), /at type: /);
    expectInvalid(() => parseChangeMessage("[]"), /change message is invalid at \(root\)/);
  });
});

describe("parseApplyMessage / parseResultMessage / parseDenyMessage", () => {
  it.each(changes)("apply accepts %s", (_name, change) => {
    const parsed = parseApplyMessage(
      JSON.stringify({ type: "apply", requestId: REQUEST_ID, change }),
    );
    expect(parsed).toStrictEqual({ type: "apply", requestId: REQUEST_ID, change });
  });

  it("apply names the path of a bad change", () => {
    const change = {
      ...fixtureChange("ModifySecurityGroupRules/single-rule.json"),
      modifications: [],
    };
    expectInvalid(
      () => parseApplyMessage(JSON.stringify({ type: "apply", requestId: REQUEST_ID, change })),
      /^apply message is invalid at change\.modifications: /,
    );
    expectInvalid(() => parseApplyMessage("nope"), "apply message is not JSON");
  });

  it("result accepts applied and failed-with-error, rejects another outcome", () => {
    const applied = {
      type: "result",
      requestId: REQUEST_ID,
      outcome: "applied",
      at: "2025-02-11T09:01:46Z",
      applyMs: 5,
    };
    expect(parseResultMessage(JSON.stringify(applied))).toStrictEqual(applied);
    const failed = {
      type: "result",
      requestId: REQUEST_ID,
      outcome: "failed",
      at: "2025-02-11T09:01:46Z",
      error: { code: "InvalidPermission.Duplicate", message: "exists" },
    };
    expect(parseResultMessage(JSON.stringify(failed))).toStrictEqual(failed);
    expectInvalid(
      () => parseResultMessage(JSON.stringify({ ...applied, outcome: "maybe" })),
      /^result message is invalid at outcome: /,
    );
    expectInvalid(
      () => parseResultMessage(JSON.stringify({ ...applied, applyMs: -1 })),
      /at applyMs: /,
    );
  });

  it("deny accepts its one field and rejects a missing request id", () => {
    expect(parseDenyMessage(JSON.stringify({ type: "deny", requestId: REQUEST_ID }))).toStrictEqual(
      {
        type: "deny",
        requestId: REQUEST_ID,
      },
    );
    expectInvalid(
      () => parseDenyMessage(JSON.stringify({ type: "deny" })),
      /^deny message is invalid at requestId: /,
    );
  });
});
