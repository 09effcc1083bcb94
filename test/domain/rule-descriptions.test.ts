/**
 * UpdateSecurityGroupRuleDescriptionsIngress/Egress: parsed from both request forms (rule ids,
 * ipPermissions), resolved against the approved baseline into a modify of the same rule with the
 * new description, reverted and applied with ModifySecurityGroupRules, and judged by the policy
 * on the whole rule (a cleared description is a rule without one).
 */
import { describe, expect, it } from "vitest";
import { approvedAfter } from "../../src/domain/baseline.js";
import {
  BaselineGapError,
  type Change,
  changedRules,
  isResolved,
  type ModifyChange,
  resolveChange,
  resolveDescriptions,
} from "../../src/domain/change.js";
import {
  GOVERNED_EVENT_NAMES,
  MalformedEventError,
  matchesGovernedPattern,
  parseCloudTrailEvent,
} from "../../src/domain/cloudtrail.js";
import { NO_PEOPLE, verifyRequester } from "../../src/domain/identity.js";
import { changeSchema } from "../../src/domain/messages.js";
import { applyPlan, describeOperation, revertPlan } from "../../src/domain/plan.js";
import { decide, parsePolicy } from "../../src/domain/policy/index.js";
import type { Rule } from "../../src/domain/rule.js";
import { actionText, ruleRows } from "../../src/domain/slack/describe.js";
import { CHANGE_BASE, GROUP, tcpIn, v6 } from "../support/domain-builders.js";
import { cloudTrailEvent, collection } from "../support/domain-cloudtrail.js";
import type { Json } from "../support/domain-fixtures.js";

const INGRESS = "UpdateSecurityGroupRuleDescriptionsIngress";
const EGRESS = "UpdateSecurityGroupRuleDescriptionsEgress";

/** A description update event: `params` beside the group id. */
const updateEvent = (eventName: string, params: Json) =>
  cloudTrailEvent({
    eventName,
    requestParameters: { groupId: GROUP, ...params },
    responseElements: { requestId: "req-1", _return: true },
  });

/** ipPermissions naming one IPv4 peer of TCP `port`, with `description` when given. */
const byContent = (port: number, cidr: string, description?: string): Json => ({
  ipPermissions: collection([
    {
      ipProtocol: "tcp",
      fromPort: port,
      toPort: port,
      groups: {},
      ipRanges: collection([{ cidrIp: cidr, ...(description ? { description } : {}) }]),
      ipv6Ranges: {},
      prefixListIds: {},
    },
  ]),
});

const byIds = (...items: Json[]): Json => ({
  ipPermissions: {},
  securityGroupRuleDescriptions: collection(items),
});

function parsed(event: unknown): ModifyChange {
  const result = parseCloudTrailEvent(event);
  if (result.ignored) throw new Error(`ignored: ${result.reason}`);
  if (result.change.kind !== "modify") throw new Error(`a ${result.change.kind}`);
  return result.change;
}

function malformed(event: unknown): MalformedEventError {
  try {
    parseCloudTrailEvent(event);
  } catch (err) {
    if (err instanceof MalformedEventError) return err;
    throw err;
  }
  throw new Error("parsed");
}

const HTTPS = tcpIn(443, "10.20.0.0/16", {
  ruleId: "sgr-0b2c3d4e5f6071829",
  description: "HTTPS - OPS-1",
});
const DB = tcpIn(5432, "10.30.0.0/16", { ruleId: "sgr-0a1b2c3d4e5f60718", description: "DB" });
const EGRESS_ALL: Rule = {
  direction: "egress",
  protocol: "all",
  fromPort: null,
  toPort: null,
  peer: { kind: "cidrIpv4", cidr: "0.0.0.0/0" },
  ruleId: "sgr-0ffffffffffffffff",
  description: "everything out",
};
const BASELINE = [HTTPS, DB, EGRESS_ALL];

describe("the description calls are governed", () => {
  it("both are governed event names, and the member's rule pattern lets them through", () => {
    for (const name of [INGRESS, EGRESS]) {
      expect(GOVERNED_EVENT_NAMES).toContain(name);
      expect(matchesGovernedPattern(updateEvent(name, byContent(443, "10.20.0.0/16")))).toBe(true);
    }
  });
});

describe("parsing UpdateSecurityGroupRuleDescriptions*", () => {
  it("by rule ids: each id with its direction and new description, nothing resolved yet", () => {
    const change = parsed(
      updateEvent(
        EGRESS,
        byIds({ securityGroupRuleId: EGRESS_ALL.ruleId, description: "out - OPS-9" }),
      ),
    );
    expect(change).toMatchObject({ kind: "modify", groupId: GROUP, modifications: [] });
    expect(change.descriptions).toStrictEqual([
      { direction: "egress", ruleId: EGRESS_ALL.ruleId, description: "out - OPS-9" },
    ]);
    expect(isResolved(change)).toBe(false);
  });

  it("by ipPermissions: each peer as a rule of the call's direction, with its new description", () => {
    const change = parsed(
      updateEvent(INGRESS, {
        ipPermissions: collection([
          {
            ipProtocol: "tcp",
            fromPort: 443,
            toPort: 443,
            ipRanges: collection([{ cidrIp: "10.20.0.0/16", description: "VPN" }]),
            ipv6Ranges: collection([{ cidrIpv6: "2001:db8::/32", description: "" }]),
          },
        ]),
      }),
    );
    expect(change.descriptions).toStrictEqual([
      { rule: tcpIn(443, "10.20.0.0/16", { description: "VPN" }) },
      // An empty description is no description: the call clears it.
      { rule: { ...tcpIn(443, "::"), peer: v6("2001:db8::/32") } },
    ]);
    expect(changedRules(change).map((r) => r.description)).toEqual(["VPN", undefined]);
  });

  it("an item without a description, or an empty one, clears it; a plain array is read too", () => {
    const change = parsed(
      updateEvent(INGRESS, {
        securityGroupRuleDescriptions: [
          { securityGroupRuleId: HTTPS.ruleId },
          { securityGroupRuleId: DB.ruleId, description: "" },
        ],
      }),
    );
    expect(change.descriptions).toStrictEqual([
      { direction: "ingress", ruleId: HTTPS.ruleId },
      { direction: "ingress", ruleId: DB.ruleId },
    ]);
  });

  it.each([
    [
      "both forms in one call",
      {
        ...byContent(443, "10.20.0.0/16", "x"),
        securityGroupRuleDescriptions: collection([{ securityGroupRuleId: HTTPS.ruleId }]),
      },
      /names rules both by id and by ipPermissions/,
    ],
    [
      "no rule at all",
      { ipPermissions: {} },
      /UpdateSecurityGroupRuleDescriptionsIngress names no rule/,
    ],
    [
      "an item without its rule id",
      byIds({ description: "x" }),
      /securityGroupRuleDescriptions\[0\] has no securityGroupRuleId/,
    ],
    [
      "a description that is not text",
      byIds({ securityGroupRuleId: HTTPS.ruleId, description: 42 }),
      /securityGroupRuleDescriptions\[0\]\.description is not a string/,
    ],
    [
      "a rule id that is not one",
      byIds({ securityGroupRuleId: "sgr-zz", description: "x" }),
      /securityGroupRuleDescriptions\[0\]\.securityGroupRuleId is "sgr-zz"/,
    ],
    ["a CIDR that is not one", byContent(443, "10.20.0.0/33", "x"), /cidrIp is "10\.20\.0\.0\/33"/],
  ])("%s is a MalformedEventError naming the problem", (_what, params, message) => {
    const error = malformed(updateEvent(INGRESS, params));
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain("\n");
  });

  it("a failed call is ignored: nothing changed", () => {
    const event = updateEvent(INGRESS, byContent(443, "10.20.0.0/16", "x"));
    (event.detail as Json).errorCode = "Client.InvalidPermission.NotFound";
    expect(parseCloudTrailEvent(event)).toMatchObject({ ignored: true });
  });
});

describe("resolving a description update against the approved baseline", () => {
  it("by id: a modify of the approved rule, the same content with the new description", () => {
    const change = parsed(
      updateEvent(INGRESS, byIds({ securityGroupRuleId: DB.ruleId, description: "DB - OPS-7" })),
    );
    const resolved = resolveChange(change, BASELINE);
    expect(resolved).not.toHaveProperty("descriptions");
    expect(isResolved(resolved)).toBe(true);
    if (resolved.kind !== "modify") throw new Error("not a modify");
    const { ruleId: _id, direction: _d, ...body } = DB;
    expect(resolved.modifications).toStrictEqual([
      { ruleId: DB.ruleId, rule: { ...body, description: "DB - OPS-7" }, before: DB },
    ]);
  });

  it("by content: the approved rule with the same direction, protocol, ports and peer", () => {
    const change = parsed(updateEvent(INGRESS, byContent(443, "10.20.0.0/16", "HTTPS - OPS-2")));
    const resolved = resolveDescriptions(change, BASELINE);
    expect(resolved.modifications).toMatchObject([
      { ruleId: HTTPS.ruleId, rule: { description: "HTTPS - OPS-2" }, before: HTTPS },
    ]);
    // The baseline moves by exactly that when approved: only the description.
    expect(approvedAfter(BASELINE, resolved)).toStrictEqual([
      { ...HTTPS, description: "HTTPS - OPS-2" },
      DB,
      EGRESS_ALL,
    ]);
  });

  it("a rule named twice: the last description is the one EC2 keeps", () => {
    const change = parsed(
      updateEvent(
        INGRESS,
        byIds(
          { securityGroupRuleId: DB.ruleId, description: "first" },
          { securityGroupRuleId: DB.ruleId, description: "second" },
        ),
      ),
    );
    const resolved = resolveDescriptions(change, BASELINE);
    expect(resolved.modifications.map((m) => m.rule.description)).toEqual(["second"]);
  });

  it("a rule the baseline lacks (never approved), or of the other direction, is a BaselineGapError naming it", () => {
    const unknown = parsed(
      updateEvent(
        INGRESS,
        byIds(
          { securityGroupRuleId: "sgr-0999999999999999a", description: "x" },
          { securityGroupRuleId: EGRESS_ALL.ruleId, description: "x" },
        ),
      ),
    );
    expect(() => resolveChange(unknown, BASELINE)).toThrow(BaselineGapError);
    expect(() => resolveChange(unknown, BASELINE)).toThrow(
      /lacks sgr-0999999999999999a, sgr-0ffffffffffffffff/,
    );
    const byWhat = parsed(updateEvent(INGRESS, byContent(8443, "10.20.0.0/16", "x")));
    expect(() => revertPlan(byWhat)).toThrow(/lacks ingress tcp 8443 10\.20\.0\.0\/16/);
  });
});

describe("a cleared description", () => {
  const cleared = () =>
    resolveChange(
      parsed(updateEvent(INGRESS, byIds({ securityGroupRuleId: HTTPS.ruleId }))),
      BASELINE,
    );

  it("is a modify to the same rule without a description", () => {
    const change = cleared();
    if (change.kind !== "modify") throw new Error("not a modify");
    expect(change.modifications[0]?.rule).not.toHaveProperty("description");
    expect(change.modifications[0]?.before).toStrictEqual(HTTPS);
  });

  it("is reverted by a ModifySecurityGroupRules putting the old description back; Approve sends the rule without one", () => {
    const change = cleared();
    const rule = { IpProtocol: "tcp", FromPort: 443, ToPort: 443, CidrIpv4: "10.20.0.0/16" };
    expect(revertPlan(change).map(describeOperation)).toStrictEqual([
      {
        action: "modify",
        groupId: GROUP,
        securityGroupRules: [
          {
            SecurityGroupRuleId: HTTPS.ruleId,
            SecurityGroupRule: { ...rule, Description: "HTTPS - OPS-1" },
          },
        ],
      },
    ]);
    expect(applyPlan(change).map(describeOperation)).toStrictEqual([
      {
        action: "modify",
        groupId: GROUP,
        securityGroupRules: [{ SecurityGroupRuleId: HTTPS.ruleId, SecurityGroupRule: rule }],
      },
    ]);
  });

  it("is a rule put in place without a description, for the policy", () => {
    const policy = parsePolicy({
      rules: [
        {
          name: "rules-need-description",
          match: { descriptionMissing: true },
          action: "auto_deny",
          reason: "describe it",
        },
      ],
    });
    const facts = { verification: verifyRequester(CHANGE_BASE.requester, NO_PEOPLE) };
    expect(decide(cleared(), facts, policy)).toMatchObject({
      action: "auto_deny",
      rule: "rules-need-description",
    });
    // Setting a description instead is not denied.
    const described = resolveChange(
      parsed(
        updateEvent(INGRESS, byIds({ securityGroupRuleId: HTTPS.ruleId, description: "OPS-3" })),
      ),
      BASELINE,
    );
    expect(decide(described, facts, policy)).toMatchObject({ rule: "default" });
  });
});

describe("a description update travels to the hub", () => {
  const roundTrip = (change: Change) => changeSchema.parse(JSON.parse(JSON.stringify(change)));

  it("unresolved (its rules never approved) and resolved, unchanged by the hub's schema", () => {
    const unresolved = parsed(
      updateEvent(INGRESS, byIds({ securityGroupRuleId: "sgr-0999999999999999a" })),
    );
    expect(roundTrip(unresolved)).toStrictEqual(unresolved);
    const byWhat = parsed(updateEvent(INGRESS, byContent(443, "10.20.0.0/16", "VPN")));
    expect(roundTrip(byWhat)).toStrictEqual(byWhat);
    const resolved = resolveChange(byWhat, BASELINE);
    expect(roundTrip(resolved)).toStrictEqual(resolved);
  });

  it("a modify that names no rule at all is refused", () => {
    const empty: ModifyChange = {
      ...CHANGE_BASE,
      eventName: INGRESS,
      kind: "modify",
      modifications: [],
    };
    expect(changeSchema.safeParse(empty).success).toBe(false);
  });
});

describe("in Slack", () => {
  it("an unresolved update names each rule as the call did, with its new description", () => {
    const change = parsed(
      updateEvent(
        INGRESS,
        byIds(
          { securityGroupRuleId: "sgr-0999999999999999a", description: "VPN" },
          { securityGroupRuleId: "sgr-0999999999999999b" },
        ),
      ),
    );
    expect(actionText(change)).toBe("Modify 2 ingress rules");
    expect(ruleRows(change).map((r) => r.text)).toEqual([
      "*1.* `sgr-0999999999999999a` (rule content not known) description → “VPN”",
      "*2.* `sgr-0999999999999999b` (rule content not known) description → none",
    ]);
  });

  it("a resolved one shows the approved rule before and after", () => {
    const change = resolveChange(
      parsed(updateEvent(INGRESS, byIds({ securityGroupRuleId: DB.ruleId }))),
      BASELINE,
    );
    expect(ruleRows(change).map((r) => r.text)).toEqual([
      "*1.* `sgr-0a1b2c3d4e5f60718` TCP port 5432 from 10.30.0.0/16 “DB” → TCP port 5432 from 10.30.0.0/16 :large_yellow_circle: sensitive port: PostgreSQL (5432)",
    ]);
  });
});
