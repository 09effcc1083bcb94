import { describe, expect, it } from "vitest";
import type { Verification } from "../../../../src/domain/identity.js";
import { identityCenterUser } from "../../../../src/domain/policy/matchers/identity-center-user.js";
import { add, facts, refused, run, UNVERIFIED, VERIFIED } from "../support.js";

const via = (v: "people" | "source-identity", identity: string): Verification => ({
  verified: true,
  via: v,
  identity,
});

describe("identityCenterUser", () => {
  it.each<[string, unknown, Verification, boolean]>([
    ["the verified user", "alice@example.com", VERIFIED, true],
    ["case does not matter", "ALICE@Example.com", VERIFIED, true],
    ["a glob on the domain", "*@example.com", VERIFIED, true],
    ["another user", "bob@example.com", VERIFIED, false],
    ["one of a list", ["bob@example.com", "alice@*"], VERIFIED, true],
    ["an unverified requester never", "*", UNVERIFIED, false],
    ["a people mapping is not Identity Center", "*", via("people", "arn:aws:iam::1:user/a"), false],
    [
      "nor a source identity",
      "alice@example.com",
      via("source-identity", "alice@example.com"),
      false,
    ],
  ])("%s", (_what, config, verification, expected) => {
    expect(run(identityCenterUser, config, add(), facts({ verification }))).toBe(expected);
  });

  it.each([[""], [[]], [{ user: "a" }]])("refuses %j", (config) => {
    expect(refused(identityCenterUser, config)).toBe(true);
  });
});
