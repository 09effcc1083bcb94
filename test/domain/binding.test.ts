import { describe, expect, it } from "vitest";
import { type Governance, refusal } from "../../src/domain/binding.js";

const G: Governance = {
  accounts: { "111122223333": ["us-east-1"], "444455556666": ["us-east-1", "eu-west-1"] },
};
const A = { account: "111122223333", region: "us-east-1" };

describe("refusal: a member speaks only for its own account", () => {
  it.each([
    ["its own account and region", A, A, undefined],
    [
      "another account in the body",
      { ...A, account: "444455556666" },
      A,
      "sent by account 111122223333 but names account 444455556666",
    ],
    [
      "another region in the body",
      { ...A, region: "eu-west-1" },
      A,
      "sent from us-east-1 but names region eu-west-1",
    ],
    [
      "a region the account is not governed in",
      { ...A, region: "eu-west-1" },
      { ...A, region: "eu-west-1" },
      "account 111122223333 is not governed in eu-west-1",
    ],
    [
      "an account outside the config",
      { account: "999988887777", region: "us-east-1" },
      { account: "999988887777", region: "us-east-1" },
      "account 999988887777 is not a governed member",
    ],
  ])("%s", (_what, claimed, origin, expected) => {
    expect(refusal(claimed, origin, G)).toBe(expected);
  });

  it("organization-wide: an account no config lists speaks for the governed regions only", () => {
    const org: Governance = {
      accounts: {},
      organization: { id: "o-abcdefghij", regions: ["us-east-1"] },
    };
    const newcomer = { account: "999988887777", region: "us-east-1" };
    expect(refusal(newcomer, newcomer, org)).toBeUndefined();
    expect(
      refusal({ ...newcomer, region: "ap-south-1" }, { ...newcomer, region: "ap-south-1" }, org),
    ).toBe("region ap-south-1 is not governed");
    expect(refusal({ ...newcomer, account: "111122223333" }, newcomer, org)).toMatch(
      /names account 111122223333/,
    );
  });
});
