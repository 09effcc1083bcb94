import { describe, expect, it } from "vitest";
import { principal } from "../../../../src/domain/policy/matchers/principal.js";
import { ACCOUNT, add, assumedRole, iamUser, refused, run } from "../support.js";

describe("principal", () => {
  it.each<[string, unknown, ReturnType<typeof add>, boolean]>([
    ["an IAM user by ARN", `arn:aws:iam::${ACCOUNT}:user/alice`, add(), true],
    ["a glob on the user", "arn:aws:iam::*:user/al*", add(), true],
    ["another user", "arn:aws:iam::*:user/bob", add(), false],
    [
      "a role session, by its role ARN",
      "arn:aws:iam::*:role/terraform-ci",
      add(undefined, { requester: assumedRole("terraform-ci", "run-42") }),
      true,
    ],
    [
      "a session merely named like the role",
      "arn:aws:iam::*:role/terraform-ci",
      add(undefined, { requester: assumedRole("Developer", "terraform-ci") }),
      false,
    ],
    [
      "the session ARN itself",
      "arn:aws:sts::*:assumed-role/*/run-42",
      add(undefined, { requester: assumedRole("terraform-ci", "run-42") }),
      true,
    ],
    ["one of a list", ["arn:aws:iam::*:user/bob", "arn:aws:iam::*:user/alice"], add(), true],
    ["none of a list", ["arn:aws:iam::*:user/bob", "arn:aws:iam::*:role/x"], add(), false],
    [
      "a role of that name under a path",
      "arn:aws:iam::*:role/ci",
      add(undefined, {
        requester: { ...assumedRole("ci", "s"), roleArn: `arn:aws:iam::${ACCOUNT}:role/ops/ci` },
      }),
      false,
    ],
    ["* matches anyone", "*", add(undefined, { requester: iamUser("zed") }), true],
  ])("%s", (_what, config, change, expected) => {
    expect(run(principal, config, change)).toBe(expected);
  });

  it.each([[""], [[]], [3], [[""]]])("refuses %j", (config) => {
    expect(refused(principal, config)).toBe(true);
  });
});
