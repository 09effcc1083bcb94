/**
 * What the EC2 proxy last saw of each security-group rule, by account, region and rule id: the
 * rules an Authorize answered with, and those a DescribeSecurityGroupRules snapshot listed.
 *
 * moto answers a Revoke with `<return>` only, while EC2's answer (and so the CloudTrail event)
 * lists the revoked rules. A Revoke by rule id of rules the proxy knows — the member's revert of a
 * change it just saw, the commonest call of all — is written from here, with no snapshot before
 * and after it: two fewer calls to moto for each change. Anything else snapshots as before.
 *
 * It forgets what may have changed behind its back: the rules a Revoke removed, every rule of a
 * group another governed call touched (ModifySecurityGroupRules, a description update), and
 * everything when a call it cannot follow passes (an untracked governed call, a tag change).
 * Calls sent to moto directly, not through the proxy, it cannot see. At most `limit` rules are
 * kept; the oldest go first.
 */
import type { ReportedRule } from "./cloudtrail/response.js";

export class RuleMemory {
  private readonly rules = new Map<string, ReportedRule>();

  constructor(private readonly limit = 50_000) {}

  get size(): number {
    return this.rules.size;
  }

  remember(scope: string, rules: readonly ReportedRule[]): void {
    for (const rule of rules) {
      const key = `${scope}/${rule.securityGroupRuleId}`;
      this.rules.delete(key);
      this.rules.set(key, rule);
    }
    for (const key of this.rules.keys()) {
      if (this.rules.size <= this.limit) break;
      this.rules.delete(key);
    }
  }

  /** The rules with these ids in this group, or undefined unless every one is known. */
  recall(scope: string, groupId: string, ids: readonly string[]): ReportedRule[] | undefined {
    const found: ReportedRule[] = [];
    for (const id of ids) {
      const rule = this.rules.get(`${scope}/${id}`);
      if (!rule || rule.groupId !== groupId) return undefined;
      found.push(rule);
    }
    return found;
  }

  forget(scope: string, ids: readonly string[]): void {
    for (const id of ids) this.rules.delete(`${scope}/${id}`);
  }

  forgetGroup(scope: string, groupId: string): void {
    for (const [key, rule] of this.rules) {
      if (rule.groupId === groupId && key.startsWith(`${scope}/`)) this.rules.delete(key);
    }
  }

  clear(): void {
    this.rules.clear();
  }
}
