/**
 * The synth with CloudFormation's own template checks on (@aws-cdk/core:validateAgainstDefaultRules,
 * as cdk.json sets it for `cdk synth`). Its engine takes several seconds to start, so this one
 * synth runs in its own file, in parallel with the others.
 */
import { describe, expect, it } from "vitest";
import { MULTI, synth } from "./synth.js";

describe("CloudFormation template validation", () => {
  it("finds nothing in the multi-account app", () => {
    const s = synth(MULTI, { cfnValidation: true });
    const findings = s
      .report()
      .pluginReports.flatMap((p) =>
        p.violations.map(
          (v) =>
            `${p.pluginName}: ${v.severity} ${v.ruleName} at ${v.violatingConstructs.map((c) => c.constructPath).join(", ")}`,
        ),
      );
    expect(findings).toEqual([]);
  }, 60_000);
});
