import { describe, expect, it } from "vitest";
import { isApprover, isSelf } from "../../src/domain/approval.js";
import type { Requester } from "../../src/domain/requester.js";
import { fixtureChange } from "../support/domain-fixtures.js";

const alice = fixtureChange("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json").requester;
const bobSso = fixtureChange("AuthorizeSecurityGroupIngress/assumed-role-sso.json").requester;

describe("isApprover", () => {
  it("accepts a configured user id", () => {
    expect(isApprover("U0BOB", { userIds: ["U0ALICE", "U0BOB"] })).toBe(true);
  });

  it("accepts a member of the configured user group", () => {
    expect(isApprover("U0CAROL", { userIds: ["U0BOB"], groupMembers: ["U0CAROL"] })).toBe(true);
  });

  it("refuses anyone else, with or without a group", () => {
    expect(isApprover("U0MALLORY", { userIds: ["U0BOB"], groupMembers: ["U0CAROL"] })).toBe(false);
    expect(isApprover("U0MALLORY", { userIds: ["U0BOB"] })).toBe(false);
    expect(isApprover("U0BOB", { userIds: [] })).toBe(false);
  });

  it("matches ids exactly (no case folding, no prefixes)", () => {
    expect(isApprover("u0bob", { userIds: ["U0BOB"] })).toBe(false);
    expect(isApprover("U0BO", { userIds: ["U0BOB"] })).toBe(false);
  });
});

describe("isSelf", () => {
  it("the fixtures give the names this test relies on", () => {
    expect(alice).toMatchObject({ type: "IAMUser", name: "alice" });
    expect(bobSso).toMatchObject({ type: "AssumedRole", name: "bob@example.com", sso: true });
  });

  it("IAM user alice is the Slack user alice@example.com", () => {
    expect(isSelf(alice, { email: "alice@example.com" })).toBe(true);
    expect(isSelf(alice, { email: "Alice@Example.com" })).toBe(true);
    expect(isSelf(alice, { name: "alice" })).toBe(true);
  });

  it("the SSO session bob@example.com is the Slack user bob@example.com, or named bob", () => {
    expect(isSelf(bobSso, { email: "bob@example.com" })).toBe(true);
    expect(isSelf(bobSso, { name: "bob" })).toBe(true);
    expect(isSelf(bobSso, { email: "someone@example.com", name: "Bob" })).toBe(true);
  });

  it("a different person is not self", () => {
    expect(isSelf(alice, { email: "bob@example.com", name: "bob" })).toBe(false);
    expect(isSelf(bobSso, { email: "alice@example.com", name: "alice" })).toBe(false);
    expect(isSelf(bobSso, { name: "bobby" })).toBe(false);
    expect(isSelf(alice, { email: "malice@example.com" })).toBe(false);
  });

  it("empty names never match", () => {
    const nameless: Requester = {
      arn: "arn:aws:iam::111122223333:user/x",
      type: "IAMUser",
      name: "",
    };
    expect(isSelf(nameless, { email: "", name: "" })).toBe(false);
    expect(isSelf(nameless, {})).toBe(false);
    expect(isSelf(nameless, { name: "  " })).toBe(false);
    expect(isSelf(alice, { email: "", name: "" })).toBe(false);
    expect(isSelf(alice, {})).toBe(false);
    // "@example.com" has an empty local part: it must not match an empty alias.
    expect(
      isSelf({ ...nameless, name: "@example.com" }, { email: "x@example.com", name: "" }),
    ).toBe(false);
  });
});
