import { describe, expect, it } from "vitest";
import type { ReportedRule } from "../../src/sandbox/cloudtrail/response.js";
import { RuleMemory } from "../../src/sandbox/rule-memory.js";

const rule = (id: string, groupId = "sg-1", port = 22): ReportedRule => ({
  securityGroupRuleId: id,
  groupId,
  isEgress: false,
  ipProtocol: "tcp",
  fromPort: port,
  toPort: port,
  cidrIpv4: "10.0.0.0/8",
  tags: [],
});
const A = "111122223333/us-east-1";
const B = "444455556666/us-east-1";

describe("RuleMemory", () => {
  it("recalls every id asked for in the group and scope, or nothing", () => {
    const m = new RuleMemory();
    m.remember(A, [rule("sgr-1"), rule("sgr-2"), rule("sgr-3", "sg-2")]);
    expect(m.recall(A, "sg-1", ["sgr-2", "sgr-1"])?.map((r) => r.securityGroupRuleId)).toEqual([
      "sgr-2",
      "sgr-1",
    ]);
    expect(m.recall(A, "sg-1", ["sgr-1", "sgr-9"])).toBeUndefined();
    expect(m.recall(A, "sg-1", ["sgr-3"])).toBeUndefined(); // another group's rule
    expect(m.recall(B, "sg-1", ["sgr-1"])).toBeUndefined(); // another account
  });

  it("takes the latest sight of a rule", () => {
    const m = new RuleMemory();
    m.remember(A, [rule("sgr-1", "sg-1", 22)]);
    m.remember(A, [rule("sgr-1", "sg-1", 443)]);
    expect(m.recall(A, "sg-1", ["sgr-1"])?.[0]?.fromPort).toBe(443);
  });

  it("forgets ids, a group's rules in one scope, or everything", () => {
    const m = new RuleMemory();
    m.remember(A, [rule("sgr-1"), rule("sgr-2"), rule("sgr-3", "sg-2")]);
    m.remember(B, [rule("sgr-1")]);
    m.forget(A, ["sgr-1"]);
    expect(m.recall(A, "sg-1", ["sgr-1"])).toBeUndefined();
    m.forgetGroup(A, "sg-1");
    expect(m.recall(A, "sg-1", ["sgr-2"])).toBeUndefined();
    expect(m.recall(A, "sg-2", ["sgr-3"])).toHaveLength(1);
    expect(m.recall(B, "sg-1", ["sgr-1"])).toHaveLength(1);
    m.clear();
    expect(m.size).toBe(0);
  });

  it("keeps at most its limit, dropping the longest unseen first", () => {
    const m = new RuleMemory(3);
    m.remember(A, [rule("sgr-1"), rule("sgr-2"), rule("sgr-3")]);
    m.remember(A, [rule("sgr-1")]); // seen again: now the newest
    m.remember(A, [rule("sgr-4")]);
    expect(m.size).toBe(3);
    expect(m.recall(A, "sg-1", ["sgr-2"])).toBeUndefined();
    expect(m.recall(A, "sg-1", ["sgr-1", "sgr-3", "sgr-4"])).toHaveLength(3);
  });
});
