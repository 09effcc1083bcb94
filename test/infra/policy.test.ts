/**
 * The config's policy reaches every member and hub function as POLICY (compact JSON, checked by
 * the engine's loader at synth), and a synth whose environment would exceed Lambda's 4 KB fails.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  assertEnvironmentFits,
  configPolicy,
  LAMBDA_ENVIRONMENT_LIMIT,
  policyEnvironment,
} from "../../infra/policy.js";
import { parsePolicyText } from "../../src/domain/policy/index.js";
import { type CfnResource, MULTI, resources, synth } from "./synth.js";

const EXAMPLE = new URL("../../policy.example.json", import.meta.url).pathname;
const SMALL = {
  rules: [
    {
      name: "pipeline",
      description: "for people",
      $comment: "for people too",
      match: { principal: "arn:aws:iam::*:role/terraform-ci" },
      action: "auto_approve",
    },
  ],
};

describe("the config's policy as POLICY", () => {
  it("a path (relative to the config's folder) or an object; comments and descriptions dropped", () => {
    const dir = mkdtempSync(join(tmpdir(), "policy-"));
    writeFileSync(join(dir, "p.json"), JSON.stringify(SMALL));
    expect(configPolicy({ policy: "p.json" }, dir)?.rules[0]?.name).toBe("pipeline");
    const env = policyEnvironment({ policy: SMALL });
    expect(JSON.parse(env.POLICY ?? "")).toEqual({
      rules: [
        {
          name: "pipeline",
          match: { principal: "arn:aws:iam::*:role/terraform-ci" },
          action: "auto_approve",
        },
      ],
    });
    // What the function's loader reads back.
    expect(parsePolicyText(env.POLICY ?? "", "POLICY").rules).toHaveLength(1);
    expect(policyEnvironment({})).toEqual({});
    expect(policyEnvironment({ policy: EXAMPLE }).POLICY?.length).toBeLessThan(2_000);
  });

  it("a policy the loader refuses fails the synth with its file, line and column", () => {
    const dir = mkdtempSync(join(tmpdir(), "policy-"));
    writeFileSync(
      join(dir, "bad.json"),
      '{\n  "rules": [{ "name": "x", "match": {}, "action": "auto_deny" }]\n}',
    );
    expect(() => configPolicy({ policy: "bad.json" }, dir)).toThrow(/^bad\.json:2:\d+: rules\[0\]/);
  });

  it("Lambda's 4 KB: a bigger environment fails, naming the function and the policy's share", () => {
    expect(() => assertEnvironmentFits("f", { A: "x".repeat(100) })).not.toThrow();
    expect(() =>
      assertEnvironmentFits("the member functions", {
        POLICY: "x".repeat(LAMBDA_ENVIRONMENT_LIMIT),
      }),
    ).toThrow(/the member functions: .* over Lambda's 4096 \(the policy alone 4096\)/);
  });

  it("every member and hub function gets the same POLICY, and the hub the switches", () => {
    const s = synth({ ...MULTI, policy: SMALL } as typeof MULTI);
    const envs = [s.hub, ...s.members].flatMap((stack) =>
      resources(s.template(stack), "AWS::Lambda::Function")
        .map(
          ([, f]: [string, CfnResource]) =>
            f.Properties?.Environment as { Variables?: Record<string, string> } | undefined,
        )
        .filter(
          (e) =>
            e?.Variables?.POLICY !== undefined ||
            e?.Variables?.REQUESTS_TABLE ||
            e?.Variables?.BASELINE_TABLE,
        ),
    );
    expect(envs.length).toBeGreaterThan(5);
    for (const env of envs) {
      expect(JSON.parse(env?.Variables?.POLICY ?? "null")?.rules?.[0]?.name).toBe("pipeline");
    }
    const hubEnv = resources(s.template(s.hub), "AWS::Lambda::Function")
      .map(
        ([, f]) => (f.Properties?.Environment as { Variables?: Record<string, string> })?.Variables,
      )
      .find((v) => v?.REQUESTS_TABLE);
    expect(hubEnv).toMatchObject({
      EXEMPT_PRINCIPALS: "arn:aws:iam::*:role/BreakGlassAdmin",
      MAX_EVENT_AGE_SECONDS: "600",
      AUTO_DENY_WITHOUT_DESCRIPTION: "true",
    });
  });
});
