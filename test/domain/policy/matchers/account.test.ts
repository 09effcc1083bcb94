import { describe, expect, it } from "vitest";
import { account } from "../../../../src/domain/policy/matchers/account.js";
import { ACCOUNT, add, refused, run } from "../support.js";

describe("account", () => {
  it.each<[unknown, string, boolean]>([
    [ACCOUNT, ACCOUNT, true],
    ["444455556666", ACCOUNT, false],
    [["444455556666", ACCOUNT], ACCOUNT, true],
    [["444455556666"], "444455556666", true],
  ])("%j for a change in %s -> %s", (config, changeAccount, expected) => {
    expect(run(account, config, add(undefined, { account: changeAccount }))).toBe(expected);
  });

  it.each([["1111"], ["11112222333a"], [111122223333], [[]], ["*"]])("refuses %j", (config) => {
    expect(refused(account, config)).toBe(true);
  });
});
