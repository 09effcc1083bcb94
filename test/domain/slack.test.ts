import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AddChange, Change, ModifyChange, RemoveChange } from "../../src/domain/change.js";
import type { Verification } from "../../src/domain/identity.js";
import {
  type Actor,
  type ApprovalRequest,
  createRequest,
  REQUEST_STATUSES,
  type RequestStatus,
  transition,
} from "../../src/domain/request.js";
import { IDENTITY_TYPES, type Requester } from "../../src/domain/requester.js";
import type { Direction, Peer, Rule } from "../../src/domain/rule.js";
import {
  type ActionsBlock,
  APPROVE_ACTION_ID,
  alreadyDecidedText,
  approvalMessage,
  assessChange,
  assessRule,
  type Block,
  clampMrkdwn,
  DENY_ACTION_ID,
  decisionBlockId,
  LIMITS,
  type Mrkdwn,
  monitoringMessage,
  mrkdwnText,
  outcomeMessage,
  requestIdFromBlockId,
  requestMessage,
  type SlackMessage,
  shortUserAgent,
  type TextObject,
  validateMessage,
} from "../../src/domain/slack/index.js";
import { v4, v6 } from "../support/domain-builders.js";

// ---- fixtures ----

const REQUEST_ID = "r-01JDQ5V7ZK3M8X2N4P6R9T1W3Y";
const ACCOUNT = "111122223333";
const GROUP_ID = "sg-0abc1234def567890";
const SSO_ROLE = "AWSReservedSSO_AdministratorAccess_0123456789abcdef";
const SSO_ARN = `arn:aws:sts::${ACCOUNT}:assumed-role/${SSO_ROLE}/bob@example.com`;
const EVENT_TIME = "2024-11-23T10:40:00Z";
const CREATED = "2024-11-23T10:40:03Z";
const EXPIRES = "2024-11-24T10:40:03Z";
const BOB: Actor = { id: "U0BOB", name: "bob" };
const ALICE: Actor = { id: "U0ALICE", name: "alice" };

const ssoRequester: Requester = {
  arn: SSO_ARN,
  type: "AssumedRole",
  name: "bob@example.com",
  accountId: ACCOUNT,
  principalId: "AROAEXAMPLEID123456789:bob@example.com",
  roleArn: `arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/${SSO_ROLE}`,
  roleName: SSO_ROLE,
  sso: true,
  sourceIp: "203.0.113.42",
  userAgent:
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1014-aws exe/x86_64.ubuntu.22 prompt/off command/ec2.authorize-security-group-ingress",
};

function tcp(port: number | [number, number], peer: Peer, description?: string): Rule {
  const [fromPort, toPort] = typeof port === "number" ? [port, port] : port;
  const rule: Rule = { direction: "ingress", protocol: "tcp", fromPort, toPort, peer };
  if (description !== undefined) rule.description = description;
  return rule;
}

const SSH_WORLD = tcp(22, v4("0.0.0.0/0"), "temp ssh for bob");
const RDP_WORLD = tcp(3389, v6("::/0"), "rdp jump host");
const HTTPS_PRIVATE = tcp(443, v4("10.0.0.0/8"), "internal https");
const ICMP_ECHO: Rule = {
  direction: "ingress",
  protocol: "icmp",
  fromPort: 8,
  toPort: -1,
  peer: v4("10.0.0.0/8"),
  description: "ping from the VPC",
};

const base = {
  eventId: "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
  eventTime: EVENT_TIME,
  account: ACCOUNT,
  region: "eu-west-1",
  groupId: GROUP_ID,
  requester: ssoRequester,
};

function addChange(rules: Rule[], direction: Direction = "ingress"): AddChange {
  return {
    ...base,
    eventName:
      direction === "ingress" ? "AuthorizeSecurityGroupIngress" : "AuthorizeSecurityGroupEgress",
    kind: "add",
    direction,
    rules: rules.map((r) => ({ ...r, direction })),
  };
}

const VERIFIED: Verification = {
  verified: true,
  via: "identity-center",
  identity: "alice@example.com",
  email: "alice@example.com",
};

function pending(change: Change, extra: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    ...createRequest({
      requestId: REQUEST_ID,
      change,
      verification: VERIFIED,
      requiredApprovals: 1,
      now: CREATED,
      expiresAt: EXPIRES,
      accountAlias: "prod-payments",
      groupName: "payments-api",
    }),
    ...extra,
  };
}

// ---- helpers ----

const isActions = (b: Block): b is ActionsBlock => b.type === "actions";

function expectValid(msg: SlackMessage): void {
  expect(validateMessage(msg)).toEqual([]);
}

/** Every mrkdwn string of a message, the notification text first. */
function mrkdwnTexts(msg: SlackMessage): string[] {
  const out = [msg.text];
  for (const b of msg.blocks) {
    if (b.type === "section") {
      if (b.text?.type === "mrkdwn") out.push(b.text.text);
      for (const f of b.fields ?? []) if (f.type === "mrkdwn") out.push(f.text);
    }
    if (b.type === "context") for (const e of b.elements) if (e.type === "mrkdwn") out.push(e.text);
  }
  return out;
}

const allText = (msg: SlackMessage): string => mrkdwnTexts(msg).join("\n");

function mrkdwnObjects(msg: SlackMessage): Mrkdwn[] {
  const out: Mrkdwn[] = [];
  const add = (t: TextObject | undefined) => {
    if (t?.type === "mrkdwn") out.push(t);
  };
  for (const b of msg.blocks) {
    if (b.type === "section") [b.text, ...(b.fields ?? [])].forEach(add);
    if (b.type === "context") b.elements.forEach(add);
  }
  return out;
}

/** The rule rows of a message ("*12.* TCP port 22 …"): lines of section texts. */
const many = (n: number, description?: string): Rule[] =>
  Array.from({ length: n }, (_, i) =>
    tcp(1024 + i, v4(`10.${Math.floor(i / 250)}.${i % 250}.0/24`), description ?? `svc ${i}`),
  );

const rows = (msg: SlackMessage): string[] =>
  msg.blocks
    .flatMap((b) => (b.type === "section" && b.text ? b.text.text.split("\n") : []))
    .filter((l) => /^\*\d+\.\* /.test(l));

const rowFor = (msg: SlackMessage, needle: string): string => {
  const row = rows(msg).find((r) => r.includes(needle));
  if (!row) throw new Error(`no row with ${needle} in:\n${rows(msg).join("\n")}`);
  return row;
};

/**
 * What is left of mrkdwn after removing the tokens we write on purpose (mentions of well-formed
 * Slack ids, date tokens) and the three entities: any `<`, `>` or `&` left is an injection.
 */
function foreignMarkup(text: string): string[] {
  const stripped = text
    .replace(/<@[UW][A-Z0-9]{2,30}>/g, "")
    .replace(/<!date\^\d+\^\{date_num\} \{time_secs\}\|[0-9: -]+ UTC>/g, "")
    .replace(/&(amp|lt|gt);/g, "");
  return stripped.match(/[<>&]/g) ?? [];
}

const FLAG = /:rotating_light:|:warning:|:large_yellow_circle:/;

// ---- the approval message ----

describe("approvalMessage", () => {
  const request = pending(addChange([SSH_WORLD, RDP_WORLD, HTTPS_PRIVATE, ICMP_ECHO]));
  const msg = approvalMessage(request);

  it("is valid and starts with the header", () => {
    expectValid(msg);
    expect(msg.blocks[0]).toEqual({
      type: "header",
      text: { type: "plain_text", text: "Security group change needs approval", emoji: true },
    });
    expect(msg.text).toMatch(/^Approval needed: bob@example.com — add 4 ingress rules on sg-0abc/);
  });

  it("has Approve and Deny buttons carrying the request id", () => {
    const actions = msg.blocks.filter(isActions);
    expect(actions).toHaveLength(1);
    const [block] = actions;
    expect(block?.block_id).toBe(decisionBlockId(REQUEST_ID));
    expect(block?.block_id).toContain(REQUEST_ID);
    expect(requestIdFromBlockId(block?.block_id ?? "")).toBe(REQUEST_ID);
    const [approve, deny] = block?.elements ?? [];
    expect(approve).toMatchObject({
      type: "button",
      action_id: APPROVE_ACTION_ID,
      value: REQUEST_ID,
      style: "primary",
      text: { type: "plain_text", text: "Approve", emoji: true },
    });
    expect(deny).toMatchObject({
      type: "button",
      action_id: DENY_ACTION_ID,
      value: REQUEST_ID,
      style: "danger",
      text: { type: "plain_text", text: "Deny", emoji: true },
    });
    expect(APPROVE_ACTION_ID).toBe("approve");
    expect(DENY_ACTION_ID).toBe("deny");
  });

  it("asks for confirmation before approving a critical change", () => {
    const approve = msg.blocks.filter(isActions)[0]?.elements[0];
    expect(approve?.confirm?.text.text).toContain("open sensitive ports to the whole internet");
    const harmless = approvalMessage(pending(addChange([HTTPS_PRIVATE])));
    expect(harmless.blocks.filter(isActions)[0]?.elements[0]?.confirm).toBeUndefined();
  });

  it("says who asked, what, where and when", () => {
    const text = allText(msg);
    for (const expected of [
      "*Requested by*\nbob@example.com",
      "*Identity*\nSSO session (AdministratorAccess)",
      "*Action*\nAdd 4 ingress rules",
      `*Security group*\n${GROUP_ID} (payments-api)`,
      `*Account*\nprod-payments (${ACCOUNT})`,
      "*Region*\neu-west-1",
      "*Source IP*\n203.0.113.42",
      "*User agent*\naws-cli/2.15.30",
      `ARN \`${SSO_ARN}\``,
      "2024-11-23 10:40:00 UTC",
      "Reverted; waiting for approval",
    ]) {
      expect(text).toContain(expected);
    }
    expect(text).toContain(`<!date^${Date.parse(EVENT_TIME) / 1000}^`);
  });

  it("puts the request id in a context line", () => {
    const contexts = msg.blocks.filter((b) => b.type === "context");
    expect(contexts.some((c) => JSON.stringify(c).includes(`Request \`${REQUEST_ID}\``))).toBe(
      true,
    );
  });

  it("flags 0.0.0.0/0 on 22 and ::/0 on 3389, not 10.0.0.0/8 on 443", () => {
    const ssh = rowFor(msg, "0.0.0.0/0");
    expect(ssh).toContain("TCP port 22 from 0.0.0.0/0 “temp ssh for bob”");
    expect(ssh).toContain(":rotating_light: *open to the world on SSH (22)*");
    const rdp = rowFor(msg, "::/0");
    expect(rdp).toContain(":rotating_light: *open to the world on RDP (3389)*");
    const https = rowFor(msg, "443");
    expect(https).toBe("*3.* TCP port 443 from 10.0.0.0/8 “internal https”");
    expect(https).not.toMatch(FLAG);
    expect(allText(msg)).toContain(
      ":rotating_light: *CRITICAL: 2 rules open sensitive ports to the whole internet* (SSH (22) from 0.0.0.0/0; RDP (3389) from ::/0)",
    );
    expect(msg.text).toContain("CRITICAL");
  });

  it("renders ICMP with the type name", () => {
    expect(rowFor(msg, "ICMP")).toBe("*4.* ICMP Echo Request from 10.0.0.0/8 “ping from the VPC”");
  });

  it("names other identities", () => {
    const text = (r: Partial<Requester>) =>
      allText(approvalMessage(pending({ ...addChange([]), requester: { ...ssoRequester, ...r } })));
    expect(
      text({ type: "IAMUser", name: "deploy", sso: undefined, roleName: undefined }),
    ).toContain("*Identity*\nIAM user");
    expect(text({ sso: undefined, roleName: "ci-deployer" })).toContain(
      "*Identity*\nassumed role ci-deployer",
    );
    expect(text({ invokedBy: "cloudformation.amazonaws.com" })).toContain(
      "*Invoked by*\ncloudformation.amazonaws.com",
    );
  });
});

describe("risk", () => {
  const rule = (r: Partial<Rule>): Rule => ({ ...SSH_WORLD, ...r });

  it("grades rules", () => {
    expect(assessRule(SSH_WORLD)).toMatchObject({ level: "critical", openToWorld: true });
    expect(assessRule(RDP_WORLD).level).toBe("critical");
    expect(assessRule(HTTPS_PRIVATE)).toEqual({
      level: "none",
      openToWorld: false,
      sensitive: [],
      allPorts: false,
    });
    expect(assessRule(tcp(443, v4("0.0.0.0/0"))).level).toBe("high");
    expect(assessRule(tcp(22, v4("10.0.0.0/8"))).level).toBe("medium");
    expect(assessRule(rule({ direction: "egress" })).level).toBe("medium");
    expect(assessRule(rule({ direction: "egress", peer: v4("10.0.0.0/8") })).level).toBe("none");
    expect(assessRule(rule({ peer: { kind: "prefixList", prefixListId: "pl-0abc" } })).level).toBe(
      "medium",
    );
  });

  it("counts a range that covers a sensitive port, and protocol all", () => {
    const range = assessRule(tcp([3000, 3400], v4("0.0.0.0/0")));
    expect(range.level).toBe("critical");
    expect(range.sensitive.map((p) => p.name)).toEqual(["MySQL", "RDP"]);
    const all = assessRule(rule({ protocol: "all", fromPort: null, toPort: null }));
    expect(all).toMatchObject({ level: "critical", allPorts: true });
    expect(all.sensitive.length).toBeGreaterThan(10);
    const msg = approvalMessage(pending(addChange([rule({ protocol: "all", fromPort: null })])));
    expect(rowFor(msg, "All traffic")).toContain("*open to the world on all ports*");
    const udp = assessRule(rule({ protocol: "udp", fromPort: 11211, toPort: 11211 }));
    expect(udp.sensitive).toEqual([{ port: 11211, name: "memcached" }]);
  });

  it("ICMP open to the world is high; a removal is never flagged", () => {
    expect(assessRule({ ...ICMP_ECHO, peer: v4("0.0.0.0/0") }).level).toBe("high");
    const remove: RemoveChange = {
      ...base,
      eventName: "RevokeSecurityGroupIngress",
      kind: "remove",
      direction: "ingress",
      rules: [SSH_WORLD],
      ruleIds: [],
    };
    expect(assessChange(remove).worst).toBe("none");
    const msg = approvalMessage(pending(remove));
    expectValid(msg);
    expect(rowFor(msg, "0.0.0.0/0")).not.toMatch(FLAG);
    expect(allText(msg)).toContain("removes access; opens nothing new");
    expect(allText(msg)).toContain("*Action*\nRemove 1 ingress rule");
  });

  it("lists flagged rules first and keeps their numbers", () => {
    const msg = approvalMessage(pending(addChange([HTTPS_PRIVATE, SSH_WORLD])));
    expect(rows(msg)[0]).toMatch(/^\*2\.\* TCP port 22 from 0\.0\.0\.0\/0/);
    expect(rows(msg)[1]).toMatch(/^\*1\.\* TCP port 443/);
  });
});

describe("modify", () => {
  const before: Rule = { ...tcp(22, v4("10.0.0.0/8"), "ssh from vpn"), ruleId: "sgr-0123abcd" };
  const change: ModifyChange = {
    ...base,
    eventName: "ModifySecurityGroupRules",
    kind: "modify",
    modifications: [
      {
        ruleId: "sgr-0123abcd",
        rule: {
          protocol: "tcp",
          fromPort: 22,
          toPort: 22,
          peer: v4("0.0.0.0/0"),
          description: "x",
        },
        before,
      },
      { ruleId: "sgr-0456efab", rule: HTTPS_PRIVATE },
    ],
  };
  const msg = approvalMessage(pending(change));

  it("shows before → after per rule, flagged by the result", () => {
    expectValid(msg);
    expect(rowFor(msg, "sgr-0123abcd")).toBe(
      "*1.* `sgr-0123abcd` TCP port 22 from 10.0.0.0/8 “ssh from vpn” → TCP port 22 from 0.0.0.0/0 “x” :rotating_light: *open to the world on SSH (22)*",
    );
    expect(rowFor(msg, "sgr-0456efab")).toContain("_previous rule not known_ → TCP port 443");
    expect(allText(msg)).toContain("*Action*\nModify 2 ingress rules");
  });
});

// ---- outcomes ----

describe("outcome messages", () => {
  const change = addChange([SSH_WORLD, HTTPS_PRIVATE]);
  const start = pending(change);
  const approved = transition(start, { type: "approve", by: BOB, at: "2024-11-23T10:41:00Z" });
  const applied = transition(approved, { type: "applied", at: "2024-11-23T10:41:30Z" });
  const failed = transition(approved, {
    type: "failed",
    at: "2024-11-23T10:41:30Z",
    error: { code: "InvalidPermission.Duplicate", message: "the rule already exists" },
  });
  const denied = transition(start, { type: "deny", by: ALICE, at: "2024-11-23T10:42:00Z" });
  const expired = transition(start, { type: "expire", at: "2024-11-24T10:40:05Z" });
  const policy = (status: "auto_approved" | "auto_denied", rule: string, reason: string) =>
    createRequest({
      requestId: REQUEST_ID,
      change,
      verification: VERIFIED,
      requiredApprovals: 1,
      now: CREATED,
      expiresAt: EXPIRES,
      accountAlias: "prod-payments",
      decided: { status, rule, reason },
    });
  const autoDenied = policy("auto_denied", "require-description", "1 rule has no description");
  const autoApproved = policy("auto_approved", "office-cidrs", "only office ranges");
  const autoApplied = transition(autoApproved, { type: "applied", at: "2024-11-23T10:40:09Z" });

  const cases: [string, ApprovalRequest, string[]][] = [
    ["approved", approved, ["Approved by <@U0BOB>, applying…", "2024-11-23 10:41:00 UTC"]],
    ["applied", applied, ["Applied — approved by <@U0BOB> at <!date^", "2024-11-23 10:41:30 UTC"]],
    [
      "failed",
      failed,
      [
        "Apply failed: InvalidPermission.Duplicate: the rule already exists",
        "Approved by <@U0BOB> at",
      ],
    ],
    ["denied", denied, ["Denied by <@U0ALICE>; the change stays reverted"]],
    ["expired", expired, ["Expired at <!date^", "2024-11-24 10:40:05 UTC>; the change stays"]],
    [
      "auto_denied",
      autoDenied,
      ["Auto-denied by policy: 1 rule has no description", "`require-description`"],
    ],
    ["auto_approved", autoApproved, ["Auto-approved by policy: only office ranges"]],
    ["auto-applied", autoApplied, ["Applied — approved by policy (office-cidrs) at"]],
  ];

  it.each(cases)("%s: no buttons, says who and what", (_name, request, expected) => {
    for (const msg of [
      outcomeMessage(request, "approval"),
      outcomeMessage(request, "monitoring"),
      approvalMessage(request),
      monitoringMessage(request),
      requestMessage(request, "approval"),
    ]) {
      expectValid(msg);
      expect(msg.blocks.some(isActions)).toBe(false);
      expect(JSON.stringify(msg)).not.toContain('"type":"button"');
      for (const e of expected) expect(allText(msg)).toContain(e);
      expect(allText(msg)).toContain("TCP port 22 from 0.0.0.0/0");
    }
  });

  it("headers and notification texts follow the status", () => {
    expect(outcomeMessage(denied, "approval").blocks[0]).toMatchObject({
      text: { text: "Security group change denied" },
    });
    expect(outcomeMessage(failed, "monitoring").text).toMatch(/^Apply failed: bob@example.com/);
    expect(outcomeMessage(applied, "approval").text).toMatch(/^Applied: /);
  });

  it("the monitoring message is one compact log entry: status, who, what, where, no buttons", () => {
    const msg = monitoringMessage(start);
    expectValid(msg);
    expect(msg.blocks.some(isActions)).toBe(false);
    expect(msg.blocks.map((b) => b.type)).toEqual(["section", "context"]);
    const first = msg.blocks[0];
    const [line] = (first?.type === "section" ? (first.text?.text ?? "") : "").split("\n");
    expect(line).toMatch(/^:hourglass_flowing_sand: \*Awaiting approval\* — bob@example.com: Add/);
    expect(allText(msg)).toContain("Reverted; waiting for approval");
    expect(allText(msg)).toContain(`Expires <!date^${Date.parse(EXPIRES) / 1000}^`);
    expect(allText(msg)).toContain(`Request \`${start.requestId}\``);
    // A long change shows its first three rules and counts the rest.
    const long = monitoringMessage(pending(addChange(many(40))));
    expect(rows(long)).toHaveLength(3);
    expect(allText(long)).toContain("…and 37 more rules not shown");
    expect(JSON.stringify(long).length).toBeLessThan(JSON.stringify(approvalMessage(start)).length);
    expect(requestMessage(start, "approval").blocks.some(isActions)).toBe(true);
    expect(outcomeMessage(start, "approval").blocks.some(isActions)).toBe(false);
  });

  it("says when a change could not be reverted", () => {
    const live = { ...start, revertError: { code: "UnauthorizedOperation", message: "no" } };
    const text = allText(monitoringMessage(live));
    expect(text).toContain("Could not be reverted (the change is live)");
    expect(text).toContain("*The change could not be reverted and is still in place*");
    // Denied: the member reverts it now, and the message follows.
    const deniedLive = { ...denied, revertError: live.revertError };
    expect(allText(outcomeMessage(deniedLive, "approval"))).toContain(
      "Denied by <@U0ALICE>; reverting the change now…",
    );
    const reverted = { ...deniedLive, followUpRevert: { at: "2024-11-23T10:45:00Z" } };
    expect(allText(outcomeMessage(reverted, "approval"))).toMatch(
      /Denied by <@U0ALICE>; the change was reverted at <!date\^/,
    );
    const stuck = {
      ...deniedLive,
      followUpRevert: {
        at: "2024-11-23T10:45:00Z",
        error: { code: "UnauthorizedOperation", message: "not allowed" },
      },
    };
    expect(allText(outcomeMessage(stuck, "approval"))).toContain(
      "reverting it failed (UnauthorizedOperation: not allowed): the change is still in place",
    );
  });

  it("says when a change was left in place because its event came late", () => {
    const late = {
      ...start,
      revertError: { code: "EventTooLate", message: "the event arrived 412 s after the change" },
    };
    const text = allText(requestMessage(late, "approval"));
    expect(text).toContain("Not reverted: its event arrived late (the change is live)");
    expect(text).toContain("the event arrived 412 s after the change");
    expect(text).toContain("Approve keeps it; Deny reverts it.");
    expect(requestMessage(late, "approval").blocks.some(isActions)).toBe(true);
  });

  it("alreadyDecidedText names who decided and when", () => {
    expect(alreadyDecidedText(approved)).toMatch(
      /^This request was already approved by <@U0BOB> at <!date\^\d+\^\{date_num\} \{time_secs\}\|2024-11-23 10:41:00 UTC>; it is being applied\.$/,
    );
    expect(alreadyDecidedText(applied)).toContain("approved by <@U0BOB> at");
    expect(alreadyDecidedText(failed)).toContain("applying it failed: InvalidPermission.Duplicate");
    expect(alreadyDecidedText(denied)).toContain("already denied by <@U0ALICE> at");
    expect(alreadyDecidedText(expired)).toContain("This request expired at <!date^");
    expect(alreadyDecidedText(autoDenied)).toContain(
      "already denied by policy (require-description) at",
    );
    expect(alreadyDecidedText(autoDenied)).toContain(": 1 rule has no description");
    expect(alreadyDecidedText(autoApplied)).toContain("approved by policy (office-cidrs)");
  });

  it("never turns an actor id into a mention unless it is a Slack user id", () => {
    const forged = { ...approved, decidedBy: { id: "U0BOB>|<!channel" } };
    const text = alreadyDecidedText(forged);
    expect(text).toContain("approved by U0BOB&gt;|&lt;!channel");
    expect(foreignMarkup(text)).toEqual([]);
    expect(alreadyDecidedText({ ...approved, decidedBy: { id: "W0ENTERPRISE" } })).toContain(
      "<@W0ENTERPRISE>",
    );
  });
});

// ---- limits ----

describe("limits", () => {
  it("a 300-rule change stays within the limits and says how many are hidden", () => {
    const rules = [...many(299), SSH_WORLD];
    const msg = approvalMessage(pending(addChange(rules)));
    expectValid(msg);
    expect(msg.blocks.length).toBeLessThanOrEqual(LIMITS.blocksPerMessage);
    const shown = rows(msg).length;
    expect(shown).toBeGreaterThan(20);
    expect(shown).toBeLessThan(300);
    expect(allText(msg)).toContain(
      `…and ${300 - shown} more rules not shown (flagged rules are listed first)`,
    );
    expect(rows(msg)[0]).toMatch(/^\*300\.\* TCP port 22 from 0\.0\.0\.0\/0/);
    expect(msg.blocks.some(isActions)).toBe(true);
    expect(allText(msg)).toContain("*Action*\nAdd 300 ingress rules");
  });

  it("very long descriptions and names are cut, never the limits", () => {
    const long = "x&<".repeat(4000);
    const requester = { ...ssoRequester, name: long, arn: long, userAgent: long, sourceIp: long };
    const change = { ...addChange(many(300, long)), requester, groupId: long, region: long };
    const request = { ...pending(change), groupName: long, accountAlias: long, policyReason: long };
    for (const status of REQUEST_STATUSES) {
      const r = { ...request, status, decidedBy: BOB, error: { code: long, message: long } };
      for (const msg of [approvalMessage(r), monitoringMessage(r)]) {
        expectValid(msg);
        expect(allText(msg)).toMatch(/…and \d+ more rules not shown/);
        expect(foreignMarkup(allText(msg))).toEqual([]);
      }
      expect(alreadyDecidedText(r).length).toBeLessThanOrEqual(1000);
    }
  });

  it("a change without rules still makes a valid message", () => {
    const msg = approvalMessage(pending(addChange([])));
    expectValid(msg);
    expect(allText(msg)).toContain("_No rules in this change._");
  });
});

// ---- escaping ----

describe("mrkdwn escaping", () => {
  const evil =
    "ok <!channel> <@U0EVIL> <https://evil.example|click here> & co\n*Approved by* <@U0BOB>";

  it("a description cannot mention, link or add lines", () => {
    const msg = approvalMessage(pending(addChange([tcp(443, v4("10.0.0.0/8"), evil)])));
    expectValid(msg);
    const row = rowFor(msg, "443");
    expect(row).toContain(
      "“ok &lt;!channel&gt; &lt;@U0EVIL&gt; &lt;https://evil.example|click here&gt; &amp; co *Approved by* &lt;@U0BOB&gt;”",
    );
    expect(allText(msg)).not.toContain("<!channel>");
    expect(allText(msg)).not.toContain("<@U0EVIL>");
    expect(allText(msg)).not.toContain("<https://");
    expect(foreignMarkup(allText(msg))).toEqual([]);
  });

  it("names, ARNs, user agents and groups are escaped too", () => {
    const requester = {
      ...ssoRequester,
      name: "<!here>",
      arn: "arn:<@U0EVIL>",
      userAgent: "<!everyone>",
      invokedBy: "a&b",
    };
    const change = { ...addChange([HTTPS_PRIVATE]), requester };
    const msg = approvalMessage({ ...pending(change), groupName: "<#C0GENERAL>" });
    expectValid(msg);
    const text = allText(msg);
    for (const s of ["&lt;!here&gt;", "arn:&lt;@U0EVIL&gt;", "&lt;!everyone&gt;", "a&amp;b"]) {
      expect(text).toContain(s);
    }
    expect(text).toContain("(&lt;#C0GENERAL&gt;)");
    expect(foreignMarkup(text)).toEqual([]);
    const objects = mrkdwnObjects(msg);
    expect(objects.length).toBeGreaterThan(5);
    expect(objects.every((t) => t.verbatim === true)).toBe(true);
  });

  it("cutting never splits an entity or a token", () => {
    expect(mrkdwnText("&&&&", 12)).toBe("&amp;&amp;…");
    expect(mrkdwnText("<<<", 100)).toBe("&lt;&lt;&lt;");
    expect(clampMrkdwn("abc &amp; def", 8)).toBe("abc …");
    expect(clampMrkdwn("hi <@U0BOB> there", 8)).toBe("hi …");
    expect(clampMrkdwn("short", 8)).toBe("short");
  });

  it("shortens user agents", () => {
    expect(shortUserAgent(ssoRequester.userAgent ?? "")).toBe("aws-cli/2.15.30");
    expect(shortUserAgent("console.ec2.amazonaws.com")).toBe("AWS console");
    expect(
      shortUserAgent(
        "APN/1.0 HashiCorp/1.0 Terraform/1.6.6 (+https://www.terraform.io) terraform-provider-aws/5.31.0",
      ),
    ).toBe("Terraform/1.6.6");
    expect(shortUserAgent("aws-sdk-js/3.600.0 ua/2.1 os/linux#6.5 lang/js")).toBe(
      "aws-sdk-js/3.600.0",
    );
  });
});

// ---- the validator itself ----

describe("validateMessage", () => {
  const text = (n: number) => "x".repeat(n);
  const section = (t: string): Block => ({ type: "section", text: { type: "mrkdwn", text: t } });
  const buttonBlock = (over: Partial<ActionsBlock["elements"][number]>): Block => ({
    type: "actions",
    block_id: "decision:x",
    elements: [
      {
        type: "button",
        action_id: "approve",
        text: { type: "plain_text", text: "Approve" },
        value: "r-1",
        ...over,
      },
    ],
  });
  const paths = (msg: SlackMessage) => validateMessage(msg).map((v) => v.path);

  it("accepts a minimal message", () => {
    expect(validateMessage({ text: "hi", blocks: [section("hi")] })).toEqual([]);
  });

  it("catches each limit", () => {
    expect(
      paths({ text: "t", blocks: Array.from({ length: 51 }, () => ({ type: "divider" })) }),
    ).toEqual(["blocks"]);
    expect(paths({ text: text(4001), blocks: [] })).toEqual(["text"]);
    expect(paths({ text: "", blocks: [] })).toEqual(["text"]);
    expect(
      paths({
        text: "t",
        blocks: [{ type: "header", text: { type: "plain_text", text: text(151) } }],
      }),
    ).toEqual(["blocks[0].text.text"]);
    expect(paths({ text: "t", blocks: [section(text(3001))] })).toEqual(["blocks[0].text.text"]);
    expect(paths({ text: "t", blocks: [section("")] })).toEqual(["blocks[0].text.text"]);
    expect(paths({ text: "t", blocks: [{ type: "section" }] })).toEqual(["blocks[0]"]);
    const field = { type: "mrkdwn" as const, text: "f" };
    expect(
      paths({ text: "t", blocks: [{ type: "section", fields: Array(11).fill(field) }] }),
    ).toEqual(["blocks[0].fields"]);
    expect(
      paths({
        text: "t",
        blocks: [{ type: "section", fields: [field, { type: "mrkdwn", text: text(2001) }] }],
      }),
    ).toEqual(["blocks[0].fields[1].text"]);
    expect(
      paths({ text: "t", blocks: [{ type: "context", elements: Array(11).fill(field) }] }),
    ).toEqual(["blocks[0].elements"]);
    expect(
      paths({ text: "t", blocks: [buttonBlock({ text: { type: "plain_text", text: text(76) } })] }),
    ).toEqual(["blocks[0].elements[0].text.text"]);
    expect(paths({ text: "t", blocks: [buttonBlock({ value: text(2001) })] })).toEqual([
      "blocks[0].elements[0].value",
    ]);
    expect(paths({ text: "t", blocks: [buttonBlock({ action_id: text(256) })] })).toEqual([
      "blocks[0].elements[0].action_id",
    ]);
    const plain = (t: string) => ({ type: "plain_text" as const, text: t });
    const confirm = {
      title: plain(text(101)),
      text: plain("ok"),
      confirm: plain("y"),
      deny: plain("n"),
    };
    expect(paths({ text: "t", blocks: [buttonBlock({ confirm })] })).toEqual([
      "blocks[0].elements[0].confirm.title.text",
    ]);
  });

  it("catches duplicates, a mrkdwn header and too much text in all", () => {
    const twice = [buttonBlock({}), buttonBlock({})];
    expect(paths({ text: "t", blocks: twice })).toEqual(["blocks[1].block_id"]);
    const dup: Block = {
      type: "actions",
      elements: [
        { type: "button", action_id: "a", text: { type: "plain_text", text: "A" }, value: "" },
        { type: "button", action_id: "a", text: { type: "plain_text", text: "B" }, value: "" },
      ],
    };
    expect(paths({ text: "t", blocks: [dup] })).toEqual(["blocks[0].elements[1].action_id"]);
    const header = { type: "header", text: { type: "mrkdwn", text: "*h*" } } as unknown as Block;
    expect(paths({ text: "t", blocks: [header] })).toEqual(["blocks[0].text"]);
    const big = Array.from({ length: 4 }, () => section(text(2900)));
    expect(validateMessage({ text: "t", blocks: big })).toEqual([
      { path: "blocks", message: `blocks hold 11600 chars of text > ${LIMITS.totalBlockText}` },
    ]);
  });
});

// ---- properties ----

describe("properties", () => {
  const longString = fc
    .tuple(
      fc.constantFrom("<", ">", "&", "`", "*", "a", "é", "😀", "\n", "<@U0EVIL>"),
      fc.nat(3000),
    )
    .map(([s, n]) => s.repeat(n));
  const str = fc.oneof(
    { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
    { weight: 1, arbitrary: longString },
    { weight: 1, arbitrary: fc.constantFrom("<!here>", "<@U0EVIL>", "&lt;", "a\r\nb", "") },
  );
  const iso = fc.oneof(
    fc
      .integer({ min: Date.parse("2020-01-01T00:00:00Z"), max: Date.parse("2030-01-01T00:00:00Z") })
      .map((ms) => new Date(ms).toISOString()),
    str,
  );
  const direction = fc.constantFrom<Direction>("ingress", "egress");
  const peer: fc.Arbitrary<Peer> = fc.oneof(
    fc.constantFrom("0.0.0.0/0", "10.0.0.0/8", "203.0.113.7/32").map(v4),
    fc.constantFrom("::/0", "2001:db8::/32").map(v6),
    str.map((cidr) => v4(cidr)),
    str.map((prefixListId) => ({ kind: "prefixList" as const, prefixListId })),
    fc.record(
      {
        kind: fc.constant("group" as const),
        groupId: str,
        userId: str,
        vpcPeeringConnectionId: str,
      },
      { requiredKeys: ["kind", "groupId"] },
    ),
  );
  const ports = fc.oneof(
    fc
      .tuple(fc.constantFrom("tcp", "udp"), fc.nat(65535), fc.nat(65535))
      .map(([protocol, a, b]) => ({ protocol, fromPort: Math.min(a, b), toPort: Math.max(a, b) })),
    fc
      .tuple(
        fc.constantFrom("icmp", "icmpv6"),
        fc.integer({ min: -1, max: 255 }),
        fc.integer({ min: -1, max: 255 }),
      )
      .map(([protocol, fromPort, toPort]) => ({ protocol, fromPort, toPort })),
    fc
      .constantFrom("all", "50", "esp")
      .map((protocol) => ({ protocol, fromPort: null, toPort: null })),
  );
  const rule: fc.Arbitrary<Rule> = fc
    .tuple(
      direction,
      ports,
      peer,
      fc.option(str, { nil: undefined }),
      fc.option(str, { nil: undefined }),
    )
    .map(([d, p, pr, description, ruleId]) => {
      const r: Rule = { direction: d, ...p, peer: pr };
      if (description !== undefined) r.description = description;
      if (ruleId !== undefined) r.ruleId = ruleId;
      return r;
    });
  const rules = fc
    .integer({ min: 0, max: 500 })
    .chain((n) => fc.array(rule, { minLength: n, maxLength: n }));
  const requester: fc.Arbitrary<Requester> = fc.record(
    {
      arn: str,
      type: fc.constantFrom(...IDENTITY_TYPES),
      name: str,
      roleName: fc.oneof(fc.constant(SSO_ROLE), str),
      sso: fc.boolean(),
      sourceIp: str,
      userAgent: str,
      invokedBy: str,
    },
    { requiredKeys: ["arn", "type", "name"] },
  );
  const changeBase = fc.record({
    eventId: str,
    eventTime: iso,
    account: str,
    region: str,
    groupId: str,
    requester,
  });
  const change: fc.Arbitrary<Change> = fc.oneof(
    fc.tuple(changeBase, direction, rules).map(
      ([b, d, rs]): Change => ({
        ...b,
        eventName: "AuthorizeSecurityGroupIngress",
        kind: "add",
        direction: d,
        rules: rs,
      }),
    ),
    fc.tuple(changeBase, direction, rules, fc.array(str, { maxLength: 300 })).map(
      ([b, d, rs, ids]): Change => ({
        ...b,
        eventName: "RevokeSecurityGroupEgress",
        kind: "remove",
        direction: d,
        rules: rs,
        ruleIds: ids,
      }),
    ),
    fc.tuple(changeBase, rules, fc.array(fc.boolean(), { maxLength: 500 })).map(
      ([b, rs, known]): Change => ({
        ...b,
        eventName: "ModifySecurityGroupRules",
        kind: "modify",
        modifications: rs.map((r, i) => ({
          ruleId: r.ruleId ?? `sgr-${i}`,
          rule: { protocol: r.protocol, fromPort: r.fromPort, toPort: r.toPort, peer: r.peer },
          ...(known[i] ? { before: r } : {}),
        })),
      }),
    ),
  );
  const actor: fc.Arbitrary<Actor> = fc.oneof(
    fc.constantFrom(
      { id: "U0BOB" },
      { id: "W0ALICE", name: "alice" },
      { id: "policy:require-description" },
    ),
    fc.record({ id: str, name: fc.option(str, { nil: undefined }) }),
  );
  const applyError = fc.record({ code: str, message: str });
  const request: fc.Arbitrary<ApprovalRequest> = fc
    .record(
      {
        requestId: fc.stringMatching(/^r-[0-9A-HJKMNP-TV-Z]{26}$/),
        status: fc.constantFrom<RequestStatus>(...REQUEST_STATUSES),
        change,
        accountAlias: str,
        groupName: str,
        createdAt: iso,
        updatedAt: iso,
        expiresAt: iso,
        decidedBy: actor,
        decidedAt: iso,
        policyReason: str,
        appliedAt: iso,
        error: applyError,
        revertError: applyError,
      },
      { requiredKeys: ["requestId", "status", "change", "createdAt", "updatedAt", "expiresAt"] },
    )
    .chain((r) =>
      fc
        .record({
          verified: fc.boolean(),
          identity: str,
          reason: str,
          requiredApprovals: fc.integer({ min: 1, max: 3 }),
          approvals: fc.array(fc.record({ by: actor, at: iso }), { maxLength: 3 }),
        })
        .map((x) => ({
          ...r,
          version: 1,
          requiredApprovals: x.requiredApprovals,
          approvals: x.approvals,
          verification: x.verified
            ? ({ verified: true, via: "people", identity: x.identity } as const)
            : ({ verified: false, reason: x.reason } as const),
          history: [],
        })),
    );

  it("every builder output is valid, escaped, and buttons appear only while pending", () => {
    let truncated = 0;
    fc.assert(
      fc.property(request, (r) => {
        const outputs: [SlackMessage, boolean][] = [
          [approvalMessage(r), r.status === "pending"],
          [monitoringMessage(r), false],
          [outcomeMessage(r, "approval"), false],
          [outcomeMessage(r, "monitoring"), false],
        ];
        for (const [msg, buttons] of outputs) {
          expect(validateMessage(msg)).toEqual([]);
          expect(foreignMarkup(allText(msg))).toEqual([]);
          const actions = msg.blocks.filter(isActions);
          expect(actions.length).toBe(buttons ? 1 : 0);
          for (const b of actions.flatMap((a) => a.elements)) expect(b.value).toBe(r.requestId);
          const total = rows(msg).length;
          const more = /…and (\d+) more rules? not shown/.exec(allText(msg));
          const ruleTotal =
            r.change.kind === "modify" || r.change.kind === "drift"
              ? r.change.modifications.length
              : r.change.kind === "remove"
                ? r.change.rules.length || r.change.ruleIds.length
                : r.change.kind === "prefixList"
                  ? 0
                  : r.change.rules.length;
          expect(total + Number(more?.[1] ?? 0)).toBe(ruleTotal);
          if (more) truncated += 1;
        }
        const ephemeral = alreadyDecidedText(r);
        expect(ephemeral.length).toBeLessThanOrEqual(1000);
        expect(foreignMarkup(ephemeral)).toEqual([]);
      }),
      { numRuns: 100 },
    );
    // The generator must reach the "…and N more" path, or the property proves little.
    expect(truncated).toBeGreaterThan(0);
  });
});
