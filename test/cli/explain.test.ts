import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { BaselineGapError } from "../../src/domain/change.js";
import { runCli, runInProcess } from "../support/cli.js";
import {
  allCloudTrailFixtureNames,
  cloudTrailFixtureNames,
  detailOf,
  fixturePath,
  type Json,
  loadFixture,
  PARTNER_LIST,
  REPO_ROOT,
} from "../support/domain-fixtures.js";

// ---- the --json contract of issue 2 ----

const PEER_KEYS = ["cidrIpv4", "cidrIpv6", "prefixListId", "referencedGroupId"] as const;

const ruleJson = z
  .object({
    protocol: z.string().regex(/^(tcp|udp|icmp|icmpv6|all|\d{1,3})$/),
    fromPort: z.number().int().nullable(),
    toPort: z.number().int().nullable(),
    cidrIpv4: z.string().min(1).optional(),
    cidrIpv6: z.string().min(1).optional(),
    prefixListId: z.string().min(1).optional(),
    referencedGroupId: z.string().regex(/^sg-/).optional(),
    referencedUserId: z
      .string()
      .regex(/^\d{12}$/)
      .optional(),
    description: z.string().min(1).optional(),
    ruleId: z.string().regex(/^sgr-/).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const peers = PEER_KEYS.filter((k) => r[k] !== undefined);
    if (peers.length !== 1) ctx.addIssue({ code: "custom", message: `peers: ${peers.join(",")}` });
    const ported = ["tcp", "udp", "icmp", "icmpv6"].includes(r.protocol);
    if (ported !== (r.fromPort !== null && r.toPort !== null)) {
      ctx.addIssue({
        code: "custom",
        message: `ports ${r.fromPort}-${r.toPort} for ${r.protocol}`,
      });
    }
    if ((r.fromPort === null) !== (r.toPort === null)) {
      ctx.addIssue({ code: "custom", message: "one port null, the other not" });
    }
    if (r.referencedUserId !== undefined && r.referencedGroupId === undefined) {
      ctx.addIssue({ code: "custom", message: "referencedUserId without referencedGroupId" });
    }
  });

const operationJson = z.union([
  z
    .object({
      action: z.enum(["authorize", "revoke", "modify"]),
      groupId: z.string().regex(/^sg-/),
    })
    .catchall(z.unknown()),
  // A prefix list change is reverted on the list, never on a group.
  z
    .object({
      action: z.literal("modifyPrefixList"),
      prefixListId: z.string().regex(/^pl-/),
      addEntries: z.array(z.object({ cidr: z.string(), description: z.string().optional() })),
      removeEntries: z.array(z.object({ cidr: z.string() }).strict()),
    })
    .strict(),
]);

/** A rule naming a prefix list: a contract rule, and its direction. */
const referencedRuleJson = z
  .object({ direction: z.enum(["ingress", "egress"]) })
  .catchall(z.unknown())
  .superRefine(({ direction: _direction, ...rule }, ctx) => {
    const parsed = ruleJson.safeParse(rule);
    if (!parsed.success) ctx.addIssue({ code: "custom", message: parsed.error.message });
  });

const entryJson = z
  .object({ cidr: z.string().min(1), description: z.string().optional() })
  .strict();

/** ModifyManagedPrefixList: the list, its entries, the rules naming it (null: not known offline). */
const prefixListJson = z
  .object({
    prefixListId: z.string().regex(/^pl-/),
    prefixListName: z.string().min(1).optional(),
    added: z.array(entryJson),
    removed: z.array(entryJson),
    references: z
      .array(
        z
          .object({
            groupId: z.string().regex(/^sg-/),
            rules: z.array(referencedRuleJson).min(1),
          })
          .strict(),
      )
      .min(1)
      .nullable(),
    referencesNote: z.string().min(1).optional(),
  })
  .strict()
  .refine((p) => (p.references === null) === (p.referencesNote !== undefined), {
    message: "referencesNote when, and only when, the references are not known",
  });

const explainedJson = z
  .object({
    ignored: z.literal(false),
    change: z
      .object({
        // The kind as the policy sees it: a CreateSecurityGroup's default egress is "create".
        kind: z.enum(["add", "remove", "modify", "create", "prefixList"]),
        direction: z.enum(["ingress", "egress", "unknown"]),
        // null only for a call that named its group by name alone (the member looks the id up),
        // or a prefix list change whose referencing groups are not known offline.
        groupId: z.string().regex(/^sg-/).nullable(),
        account: z.string().regex(/^\d{12}$/),
        region: z.string().regex(/^[a-z]{2}-[a-z]+-\d$/),
        eventId: z.string().min(1),
        eventTime: z.string().refine((t) => !Number.isNaN(Date.parse(t)), "not a time"),
        requester: z
          .object({
            arn: z.string().min(1),
            type: z.string().min(1),
            name: z.string().min(1),
          })
          .strict(),
        rules: z.array(ruleJson),
        prefixList: prefixListJson.optional(),
      })
      .strict(),
    revert: z.array(operationJson),
    revertError: z.string().optional(),
  })
  .strict()
  .superRefine((j, ctx) => {
    const c = j.change;
    // A prefix list change, and only one, says which list; its references may not be known.
    if ((c.kind === "prefixList") !== (c.prefixList !== undefined)) {
      ctx.addIssue({ code: "custom", message: "prefixList with kind prefixList only" });
    }
    const unreferenced = c.prefixList?.references === null;
    if (c.groupId === null && !unreferenced && !/only by name/.test(j.revertError ?? "")) {
      ctx.addIssue({ code: "custom", message: "groupId null without the by-name reason" });
    }
    if (unreferenced && c.groupId !== null) {
      ctx.addIssue({ code: "custom", message: "a group without references" });
    }
    // "unknown" only where the contract cannot be met: a modify whose old rules are not known,
    // a prefix list change whose rules naming the list are not known.
    if (c.direction === "unknown" && !(c.kind === "modify" && j.revertError) && !unreferenced) {
      ctx.addIssue({ code: "custom", message: "direction unknown" });
    }
    // No rules only for a description update by rule id whose rules the baseline did not give,
    // or a prefix list change (rules naming it not known, or it only removed entries).
    if (c.rules.length === 0 && !(c.kind === "modify" && j.revertError) && !c.prefixList) {
      ctx.addIssue({ code: "custom", message: "no rules" });
    }
    if (j.revert.length === 0 && !j.revertError) {
      ctx.addIssue({ code: "custom", message: "no revert and no reason" });
    }
    for (const op of j.revert) {
      if (op.action === "modifyPrefixList") {
        if (op.prefixListId !== c.prefixList?.prefixListId)
          ctx.addIssue({ code: "custom", message: "op prefixListId" });
      } else if (op.groupId !== c.groupId) ctx.addIssue({ code: "custom", message: "op groupId" });
    }
  });

const ignoredJson = z.object({ ignored: z.literal(true), reason: z.string().min(1) }).strict();

type Explained = z.infer<typeof explainedJson>;

function expectContract(json: unknown): asserts json is Explained | z.infer<typeof ignoredJson> {
  const schema = (json as Json).ignored === true ? ignoredJson : explainedJson;
  const result = schema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    expect.fail(`not the --json contract:\n${issues.join("\n")}\n${JSON.stringify(json)}`);
  }
}

// ---- running the CLI ----

const IGNORED_FIXTURES = [
  "AuthorizeSecurityGroupIngress/failed-call.json",
  "RevokeSecurityGroupIngress/failed-not-found.json",
  "other/DescribeSecurityGroups.json",
  "other/iam-CreateAccessKey.json",
];

const MODIFY = "ModifySecurityGroupRules/multi-rule.json";
const MODIFY_GROUP = "sg-0f3a9c2b7d1e4a5b6";

/** The group's rules before the modify, as DescribeSecurityGroupRules returns them. */
const MODIFY_BASELINE = {
  SecurityGroupRules: [
    {
      SecurityGroupRuleId: "sgr-01a2b3c4d5e6f7a81",
      GroupId: MODIFY_GROUP,
      IsEgress: false,
      IpProtocol: "tcp",
      FromPort: 443,
      ToPort: 443,
      CidrIpv4: "10.0.0.0/8",
      Description: "office HTTPS",
    },
    {
      SecurityGroupRuleId: "sgr-01a2b3c4d5e6f7a83",
      GroupId: MODIFY_GROUP,
      IsEgress: false,
      IpProtocol: "tcp",
      FromPort: 5432,
      ToPort: 5432,
      ReferencedGroupInfo: { GroupId: "sg-07e1d2c3b4a596870", UserId: "111122223333" },
    },
    {
      SecurityGroupRuleId: "sgr-01a2b3c4d5e6f7a86",
      GroupId: MODIFY_GROUP,
      IsEgress: false,
      IpProtocol: "tcp",
      FromPort: 8080,
      ToPort: 8090,
      PrefixListId: "pl-0c2d4e6f8a0b1c3d5",
    },
    {
      SecurityGroupRuleId: "sgr-0ffffffffffffffff",
      GroupId: MODIFY_GROUP,
      IsEgress: true,
      IpProtocol: "-1",
      FromPort: -1,
      ToPort: -1,
      CidrIpv4: "0.0.0.0/0",
    },
  ],
};

const MODIFY_REVERT = [
  {
    action: "modify",
    groupId: MODIFY_GROUP,
    securityGroupRules: [
      {
        SecurityGroupRuleId: "sgr-01a2b3c4d5e6f7a81",
        SecurityGroupRule: {
          IpProtocol: "tcp",
          FromPort: 443,
          ToPort: 443,
          CidrIpv4: "10.0.0.0/8",
          Description: "office HTTPS",
        },
      },
      {
        SecurityGroupRuleId: "sgr-01a2b3c4d5e6f7a83",
        SecurityGroupRule: {
          IpProtocol: "tcp",
          FromPort: 5432,
          ToPort: 5432,
          ReferencedGroupId: "sg-07e1d2c3b4a596870",
        },
      },
      {
        SecurityGroupRuleId: "sgr-01a2b3c4d5e6f7a86",
        SecurityGroupRule: {
          IpProtocol: "tcp",
          FromPort: 8080,
          ToPort: 8090,
          PrefixListId: "pl-0c2d4e6f8a0b1c3d5",
        },
      },
    ],
  },
];

function tempFile(name: string, content: string | Uint8Array): string {
  const path = join(mkdtempSync(join(tmpdir(), "sg-explain-")), name);
  writeFileSync(path, content);
  return path;
}

// ---- in process: every fixture ----

describe("explain in process (main), every fixture", () => {
  it("the fixtures folder is not empty, the widening calls' fixtures included", () => {
    expect(allCloudTrailFixtureNames().length).toBeGreaterThanOrEqual(27);
    expect(allCloudTrailFixtureNames()).toEqual(
      expect.arrayContaining([
        "other/CreateSecurityGroup.json",
        "widening/ModifyManagedPrefixList/add-entry-console.json",
        "widening/ModifyManagedPrefixList/add-remove-cli.json",
      ]),
    );
  });

  it.each(allCloudTrailFixtureNames())(
    "--json %s: exit 0, one JSON line, the contract",
    async (name) => {
      const run = await runInProcess(["explain", "--json", fixturePath(name)]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.stdout.endsWith("\n")).toBe(true);
      expect(run.stdout.trimEnd().split("\n")).toHaveLength(1);
      const json: unknown = JSON.parse(run.stdout);
      expectContract(json);
      expect(json.ignored).toBe(IGNORED_FIXTURES.includes(name));
      if (json.ignored) return;

      const detail = detailOf(loadFixture(name));
      expect(json.change.eventId).toBe(detail.eventID);
      expect(json.change.eventTime).toBe(detail.eventTime);
      expect(json.change.account).toBe(detail.recipientAccountId);
      expect(json.change.region).toBe(detail.awsRegion);
      const params = detail.requestParameters as Json;
      const response = (detail.responseElements ?? {}) as Json;
      if (name.startsWith("widening/ModifyManagedPrefixList/")) {
        // Which groups name the list is looked up in the account: not known without --baseline.
        const request = params.ModifyManagedPrefixListRequest as Json;
        expect(json.change).toMatchObject({ kind: "prefixList", groupId: null, rules: [] });
        expect(json.change.prefixList).toMatchObject({
          prefixListId: request.PrefixListId,
          references: null,
        });
        expect(json.revert).toEqual([
          expect.objectContaining({
            action: "modifyPrefixList",
            prefixListId: request.PrefixListId,
          }),
        ]);
        return;
      }
      if (name === "other/CreateSecurityGroup.json") {
        // The new group's default egress, revoked by content when the policy says so.
        expect(json.change).toMatchObject({
          kind: "create",
          direction: "egress",
          groupId: response.groupId,
          rules: [{ protocol: "all", fromPort: null, toPort: null, cidrIpv4: "0.0.0.0/0" }],
        });
        expect(json.revert.map((o) => o.action)).toEqual(["revoke"]);
        return;
      }
      const responseRules = (response.securityGroupRuleSet as { items?: Json[] } | undefined)
        ?.items;
      const groupId =
        params.groupId ??
        (params.ModifySecurityGroupRulesRequest as Json | undefined)?.GroupId ??
        responseRules?.[0]?.groupId ??
        null;
      expect(json.change.groupId).toBe(groupId);
      if (groupId === null) {
        // Named by name and not in the response: the id is looked up by the member, not here.
        expect(json.revert).toEqual([]);
        expect(json.revertError).toMatch(/named its group only by name \("default"\)/);
        return;
      }
      const kind = name.startsWith("Authorize")
        ? "add"
        : name.startsWith("Revoke")
          ? "remove"
          : "modify";
      expect(json.change.kind).toBe(kind);
      if (kind !== "modify") {
        expect(json.change.direction).toBe(name.includes("Egress") ? "egress" : "ingress");
        // The revert undoes the change: an add is revoked, a remove re-authorized.
        expect(json.revert.map((o) => o.action)).toEqual([kind === "add" ? "revoke" : "authorize"]);
      } else {
        // Without a baseline the old rules are unknown: no revert, and a reason telling the CLI
        // user what to pass (not the member's "run the baseline sweep").
        expect(json.revert).toEqual([]);
        // A description update by ipPermissions names its rule by content, not by id.
        const named = name.startsWith("UpdateSecurityGroupRuleDescriptions")
          ? "the call sets only the description of"
          : "sgr-";
        expect(json.revertError).toMatch(
          /^no baseline given for (sg-\S+): .* \(pass --baseline with the group's rules: aws ec2 describe-security-group-rules --filters Name=group-id,Values=\1\)$/,
        );
        expect(json.revertError).toContain(named);
        expect(json.revertError).not.toMatch(/baseline sweep/);
      }
    },
  );

  it.each(allCloudTrailFixtureNames())("text %s: exit 0, a readable summary", async (name) => {
    const run = await runInProcess(["explain", fixturePath(name)]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    if (IGNORED_FIXTURES.includes(name)) expect(run.stdout).toMatch(/^ignored: .+\n$/);
    else
      expect(run.stdout).toMatch(
        /^\w+ by .+\n {2}(add|remove|modify|create|prefixList) [\s\S]*\nrevert:\n/,
      );
  });

  it("an add with rule ids is reverted by those ids", async () => {
    const run = await runInProcess([
      "explain",
      "--json",
      fixturePath("AuthorizeSecurityGroupIngress/multi-item.json"),
    ]);
    const json = JSON.parse(run.stdout) as Explained;
    const ids = json.change.rules.map((r) => r.ruleId);
    expect(ids).toHaveLength(6);
    expect(json.revert).toStrictEqual([
      {
        action: "revoke",
        groupId: "sg-0f3a9c2b7d1e4a5b6",
        direction: "ingress",
        securityGroupRuleIds: ids,
      },
    ]);
  });

  it("a group reference keeps its owner account", async () => {
    const run = await runInProcess([
      "explain",
      "--json",
      fixturePath("AuthorizeSecurityGroupIngress/group-reference-cross-account.json"),
    ]);
    const json = JSON.parse(run.stdout) as Explained;
    expect(json.change.rules).toStrictEqual([
      {
        protocol: "tcp",
        fromPort: 5432,
        toPort: 5432,
        referencedGroupId: "sg-0d9c8b7a6f5e4d3c2",
        referencedUserId: "444455556666",
        description: "reporting app in partner account",
        ruleId: "sgr-052f232f61106d4c4",
      },
    ]);
  });

  it("a baseline lacking a modified rule still answers, with the reason", async () => {
    const partial = { SecurityGroupRules: MODIFY_BASELINE.SecurityGroupRules.slice(1) };
    const baseline = tempFile("partial.json", JSON.stringify(partial));
    const run = await runInProcess([
      "explain",
      "--json",
      "--baseline",
      baseline,
      fixturePath(MODIFY),
    ]);
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout) as Explained;
    expect(json.revert).toEqual([]);
    expect(json.revertError).toMatch(/lacks sgr-01a2b3c4d5e6f7a81:/);
    expect(json.revertError).not.toMatch(/sgr-01a2b3c4d5e6f7a83/);
    expect(json.revertError).toMatch(/give --baseline the group's rules from before the change/);
    expect(json.revertError).not.toMatch(/baseline sweep/);
  });

  it("a modify without --baseline says to pass --baseline; the member's wording is unchanged", async () => {
    const run = await runInProcess(["explain", fixturePath(MODIFY)]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `  cannot plan: no baseline given for ${MODIFY_GROUP}: the call names sgr-01a2b3c4d5e6f7a81, sgr-01a2b3c4d5e6f7a83, sgr-01a2b3c4d5e6f7a86 by id only, so the old rules cannot be known and the change cannot be reverted exactly (pass --baseline with the group's rules: aws ec2 describe-security-group-rules --filters Name=group-id,Values=${MODIFY_GROUP})\n`,
    );
    expect(run.stdout).not.toMatch(/baseline sweep/);
    // The member (Lambda) reports BaselineGapError's own message, which points at its sweep.
    expect(new BaselineGapError(MODIFY_GROUP, ["sgr-01a2b3c4d5e6f7a81"]).message).toMatch(
      /\(run the baseline sweep\)$/,
    );
  });

  it("--baseline counts only the rules of the change's group (GroupId)", async () => {
    const other = {
      SecurityGroupRules: MODIFY_BASELINE.SecurityGroupRules.map((r) => ({
        ...r,
        GroupId: "sg-0aaaaaaaaaaaaaaaa",
      })),
    };
    const baseline = tempFile("other-group.json", JSON.stringify(other));
    const run = await runInProcess([
      "explain",
      "--json",
      "--baseline",
      baseline,
      fixturePath(MODIFY),
    ]);
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout) as Explained;
    expect(json.revert).toEqual([]);
    expect(json.revertError).toMatch(
      new RegExp(
        `^the baseline of ${MODIFY_GROUP} lacks sgr-01a2b3c4d5e6f7a81, sgr-01a2b3c4d5e6f7a83, sgr-01a2b3c4d5e6f7a86:`,
      ),
    );
    // Rules that do not say their group count for any.
    const anyGroup = {
      SecurityGroupRules: MODIFY_BASELINE.SecurityGroupRules.map(({ GroupId: _, ...r }) => r),
    };
    const unlabelled = tempFile("no-group.json", JSON.stringify(anyGroup));
    const resolved = await runInProcess([
      "explain",
      "--json",
      "--baseline",
      unlabelled,
      fixturePath(MODIFY),
    ]);
    expect((JSON.parse(resolved.stdout) as Explained).revert).toStrictEqual(MODIFY_REVERT);
  });

  it.each<[string, string[], RegExp]>([
    ["no FILE", ["explain"], /explain takes one FILE/],
    ["two FILEs", ["explain", "a.json", "b.json"], /explain takes one FILE/],
    ["an unknown option", ["explain", "--yaml", "a.json"], /--yaml/],
    [
      "a baseline that is not a rule list",
      ["explain", "--baseline", "BASELINE", "EVENT"],
      /the baseline must be/,
    ],
    [
      "an event that is JSON but not an event",
      ["explain", "NOT_EVENT"],
      /neither an EventBridge detail/,
    ],
    ["a malformed event", ["explain", "--json", "BAD_PORT"], /fromPort 70000 is out of range/],
  ])("%s: exit 2, one line on stderr", async (_what, args, message) => {
    const files: Record<string, string> = {
      BASELINE: tempFile("b.json", JSON.stringify({ rules: [] })),
      EVENT: fixturePath(MODIFY),
      NOT_EVENT: tempFile("x.json", JSON.stringify({ hello: "world" })),
      BAD_PORT: tempFile(
        "bad.json",
        readFileSync(fixturePath("AuthorizeSecurityGroupIngress/ipv4-tcp-22.json"), "utf8").replace(
          '"fromPort": 22',
          '"fromPort": 70000',
        ),
      ),
    };
    const run = await runInProcess(args.map((a) => files[a] ?? a));
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/^secgroup-approval: [^\n]+\n$/);
  });

  it("a bad option is a usage error, not reported as unreadable input", async () => {
    for (const args of [
      ["explain", "--yaml", "a.json"],
      ["explain", fixturePath(MODIFY), "--baseline"],
    ]) {
      const run = await runInProcess(args);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^secgroup-approval: [^\n]+\n$/);
      expect(run.stderr).not.toMatch(/cannot read input/);
    }
    // A real read failure keeps its prefix.
    const missing = await runInProcess(["explain", "/nonexistent/event.json"]);
    expect(missing.stderr).toMatch(/^secgroup-approval: cannot read input: ENOENT/);
  });

  it("help prints the usage and exits 0; no command prints it and exits 2", async () => {
    const help = await runInProcess(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: secgroup-approval <command>/);
    const none = await runInProcess([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toMatch(/explain FILE/);
  });
});

// ---- the real CLI, spawned ----

describe.concurrent("explain as a child process (node bin/secgroup-approval.mjs)", () => {
  const noStack = (stderr: string) => {
    expect(stderr).toMatch(/^secgroup-approval: [^\n]+\n$/);
    expect(stderr).not.toMatch(/\n\s+at /);
  };

  it("reads a FILE and prints the --json contract", async () => {
    const name = "AuthorizeSecurityGroupIngress/icmp.json";
    const run = await runCli(["explain", "--json", fixturePath(name)]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const json: unknown = JSON.parse(run.stdout);
    expectContract(json);
    expect(json).toMatchObject({
      ignored: false,
      change: {
        kind: "add",
        direction: "ingress",
        requester: { arn: "arn:aws:iam::111122223333:user/alice", type: "IAMUser", name: "alice" },
        rules: [{ protocol: "icmp", fromPort: 8, toPort: -1, cidrIpv4: "192.0.2.0/24" }],
      },
      revert: [
        {
          action: "revoke",
          groupId: "sg-0f3a9c2b7d1e4a5b6",
          direction: "ingress",
          securityGroupRuleIds: ["sgr-0d2e3f4a5b6c7d8e9"],
        },
      ],
    });
  });

  it("reads stdin for -", async () => {
    const text = readFileSync(fixturePath("RevokeSecurityGroupEgress/by-permissions.json"), "utf8");
    const run = await runCli(["explain", "--json", "-"], text);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const json: unknown = JSON.parse(run.stdout);
    expectContract(json);
    expect(json).toMatchObject({
      ignored: false,
      change: {
        kind: "remove",
        direction: "egress",
        rules: [{ protocol: "all", fromPort: null, toPort: null }],
      },
      revert: [
        {
          action: "authorize",
          direction: "egress",
          ipPermissions: [{ IpProtocol: "-1", IpRanges: [{ CidrIp: "0.0.0.0/0" }] }],
        },
      ],
    });
  });

  it("--baseline resolves a modify: its direction and a ModifySecurityGroupRules revert", async () => {
    const baseline = tempFile("baseline.json", JSON.stringify(MODIFY_BASELINE));
    const run = await runCli(["explain", "--json", "--baseline", baseline, fixturePath(MODIFY)]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const json: unknown = JSON.parse(run.stdout);
    expectContract(json);
    if (json.ignored) throw new Error("ignored");
    expect(json.change.direction).toBe("ingress");
    expect(json.revertError).toBeUndefined();
    expect(json.revert).toStrictEqual(MODIFY_REVERT);
    // The rules before the change are in the revert (and in the text view), not in the contract.
    expect(Object.keys(json.change)).not.toContain("before");
    const text = await runCli(["explain", "--baseline", baseline, fixturePath(MODIFY)]);
    expect(text.stdout).toContain(
      'tcp 443-443 10.0.0.0/8 "office HTTPS" [sgr-01a2b3c4d5e6f7a81] -> ',
    );
  });

  it("--baseline resolves a description update by rule id: the approved rules with the new descriptions, the old ones in the revert", async () => {
    const rule = (id: string, port: number, cidr: string, description: string) => ({
      SecurityGroupRuleId: id,
      GroupId: MODIFY_GROUP,
      IsEgress: false,
      IpProtocol: "tcp",
      FromPort: port,
      ToPort: port,
      CidrIpv4: cidr,
      Description: description,
    });
    const baseline = tempFile(
      "baseline.json",
      JSON.stringify([
        rule("sgr-0a1b2c3d4e5f60718", 5432, "10.30.0.0/16", "reporting DB"),
        rule("sgr-0b2c3d4e5f6071829", 443, "10.20.0.0/16", "HTTPS - OPS-1"),
      ]),
    );
    const event = fixturePath("UpdateSecurityGroupRuleDescriptionsIngress/by-rule-ids.json");
    const run = await runInProcess(["explain", "--json", "--baseline", baseline, event]);
    const json: unknown = JSON.parse(run.stdout);
    expectContract(json);
    if (json.ignored) throw new Error("ignored");
    expect(json.change).toMatchObject({ kind: "modify", direction: "ingress" });
    expect(json.change.rules).toStrictEqual([
      {
        protocol: "tcp",
        fromPort: 5432,
        toPort: 5432,
        cidrIpv4: "10.30.0.0/16",
        description: "reporting DB replica - OPS-2231",
        ruleId: "sgr-0a1b2c3d4e5f60718",
      },
      // The second edit clears the description.
      {
        protocol: "tcp",
        fromPort: 443,
        toPort: 443,
        cidrIpv4: "10.20.0.0/16",
        ruleId: "sgr-0b2c3d4e5f6071829",
      },
    ]);
    expect(json.revert).toStrictEqual([
      {
        action: "modify",
        groupId: MODIFY_GROUP,
        securityGroupRules: [
          {
            SecurityGroupRuleId: "sgr-0a1b2c3d4e5f60718",
            SecurityGroupRule: {
              IpProtocol: "tcp",
              FromPort: 5432,
              ToPort: 5432,
              CidrIpv4: "10.30.0.0/16",
              Description: "reporting DB",
            },
          },
          {
            SecurityGroupRuleId: "sgr-0b2c3d4e5f6071829",
            SecurityGroupRule: {
              IpProtocol: "tcp",
              FromPort: 443,
              ToPort: 443,
              CidrIpv4: "10.20.0.0/16",
              Description: "HTTPS - OPS-1",
            },
          },
        ],
      },
    ]);
    // The cleared description is what the example policy's description rule sees.
    const policy = join(REPO_ROOT, "policy.example.json");
    const decided = await runInProcess([
      "explain",
      "--json",
      "--policy",
      policy,
      "--baseline",
      baseline,
      event,
    ]);
    expect((JSON.parse(decided.stdout) as Json).policy).toMatchObject({
      action: "auto_deny",
      rule: "rules-need-description",
    });
  });

  it("malformed JSON on stdin: exit 2, one line on stderr, no stack trace", async () => {
    const run = await runCli(["explain", "--json", "-"], '{"detail": {');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/stdin is not valid JSON/);
    noStack(run.stderr);
  });

  it("a file that is not UTF-8: exit 2, refused rather than read with replacement characters", async () => {
    const event = readFileSync(fixturePath(cloudTrailFixtureNames()[0] ?? ""));
    // A lone continuation byte inside the JSON (a string value): invalid UTF-8.
    const at = event.indexOf('"');
    const bad = Buffer.concat([
      event.subarray(0, at + 1),
      Buffer.from([0x80]),
      event.subarray(at + 1),
    ]);
    const file = tempFile("latin1.json", bad);
    const run = await runCli(["explain", "--json", file]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(`secgroup-approval: ${file} is not valid UTF-8\n`);
    const stdin = await runCli(["explain", "--json", "--baseline", file, "-"], "{}");
    expect(stdin.code).toBe(2);
    expect(stdin.stderr).toMatch(/is not valid UTF-8/);
  });

  it("a missing file: exit 2, one line naming it", async () => {
    const run = await runCli(["explain", "--json", "/nonexistent/event.json"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/cannot read input: .*\/nonexistent\/event\.json/);
    noStack(run.stderr);
  });

  it("an unknown command: exit 2, one line pointing at --help", async () => {
    const run = await runCli(["frobnicate"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      "secgroup-approval: unknown command \"frobnicate\"; run 'secgroup-approval --help'\n",
    );
  });
});

// ---- usage: --help, --version, unknown commands and options ----

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as Json)
  .version as string;

/** Every ' and " in a message has its pair. */
function expectBalancedQuotes(text: string): void {
  for (const q of ["'", '"']) expect(text.split(q).length % 2, `${q} in ${text}`).toBe(1);
}

// ---- the calls that widen rules without naming one ----

const CREATE = "other/CreateSecurityGroup.json";
const CREATED_GROUP = "sg-0f3a9c2b7d1e4a5b6";
const PREFIX_LIST_CLI = "widening/ModifyManagedPrefixList/add-remove-cli.json";

/** The region's rules (describe-security-group-rules): two groups name the partner list. */
const REGION_RULES = {
  SecurityGroupRules: [
    {
      SecurityGroupRuleId: "sgr-0a1b2c3d4e5f60001",
      GroupId: "sg-0aaaaaaaaaaaaaaa1",
      IsEgress: false,
      IpProtocol: "tcp",
      FromPort: 22,
      ToPort: 22,
      PrefixListId: PARTNER_LIST,
      Description: "partner ssh",
    },
    {
      SecurityGroupRuleId: "sgr-0a1b2c3d4e5f60002",
      GroupId: "sg-0bbbbbbbbbbbbbbb2",
      IsEgress: true,
      IpProtocol: "tcp",
      FromPort: 443,
      ToPort: 443,
      PrefixListId: PARTNER_LIST,
    },
    {
      SecurityGroupRuleId: "sgr-0a1b2c3d4e5f60003",
      GroupId: "sg-0bbbbbbbbbbbbbbb2",
      IsEgress: false,
      IpProtocol: "tcp",
      FromPort: 443,
      ToPort: 443,
      CidrIpv4: "10.0.0.0/8",
    },
    {
      SecurityGroupRuleId: "sgr-0a1b2c3d4e5f60004",
      GroupId: "sg-0ccccccccccccccc3",
      IsEgress: false,
      IpProtocol: "tcp",
      FromPort: 80,
      ToPort: 80,
      PrefixListId: "pl-0c3516b0e5630bf3e",
    },
  ],
};

describe("explain CreateSecurityGroup and ModifyManagedPrefixList, as the member reads them", () => {
  it("CreateSecurityGroup: the new group's default egress, revoked by content", async () => {
    const run = await runInProcess(["explain", "--json", fixturePath(CREATE)]);
    expect(JSON.parse(run.stdout)).toStrictEqual({
      ignored: false,
      change: {
        kind: "create",
        direction: "egress",
        groupId: CREATED_GROUP,
        account: "111122223333",
        region: "us-east-1",
        eventId: "f7a8b9c0-d1e2-4f3a-a4b5-c6d7e8f9a0b1",
        eventTime: "2024-11-04T13:58:12Z",
        requester: {
          arn: "arn:aws:iam::111122223333:user/alice",
          type: "IAMUser",
          name: "alice",
        },
        rules: [{ protocol: "all", fromPort: null, toPort: null, cidrIpv4: "0.0.0.0/0" }],
      },
      revert: [
        {
          action: "revoke",
          groupId: CREATED_GROUP,
          direction: "egress",
          ipPermissions: [{ IpProtocol: "-1", IpRanges: [{ CidrIp: "0.0.0.0/0" }] }],
        },
      ],
    });
    const text = await runInProcess(["explain", fixturePath(CREATE)]);
    expect(text.stdout).toBe(
      [
        "CreateSecurityGroup by alice (IAMUser, arn:aws:iam::111122223333:user/alice)",
        `  create egress on ${CREATED_GROUP} in 111122223333 us-east-1 at 2024-11-04T13:58:12Z`,
        '  the new group "prod-webapp-webserver-security" in vpc-0a1b2c3d4e5f60718: its default egress, as EC2 creates it',
        "  - all 0.0.0.0/0",
        "revert:",
        `  {"action":"revoke","groupId":"${CREATED_GROUP}","direction":"egress","ipPermissions":[{"IpProtocol":"-1","IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}`,
        "  (made only when the policy revokes the default egress; in a notify-mode account, on Deny)",
        "",
      ].join("\n"),
    );
  });

  it("CreateSecurityGroup with --baseline holding the new group: its egress rule by id, and nothing else", async () => {
    const live = {
      SecurityGroupRules: [
        {
          SecurityGroupRuleId: "sgr-0eeeeeeeeeeeeeee1",
          GroupId: CREATED_GROUP,
          IsEgress: true,
          IpProtocol: "-1",
          FromPort: -1,
          ToPort: -1,
          CidrIpv4: "0.0.0.0/0",
        },
        {
          SecurityGroupRuleId: "sgr-0eeeeeeeeeeeeeee2",
          GroupId: CREATED_GROUP,
          IsEgress: true,
          IpProtocol: "tcp",
          FromPort: 443,
          ToPort: 443,
          CidrIpv4: "0.0.0.0/0",
        },
      ],
    };
    const baseline = tempFile("created.json", JSON.stringify(live));
    const run = await runInProcess([
      "explain",
      "--json",
      "--baseline",
      baseline,
      fixturePath(CREATE),
    ]);
    const json = JSON.parse(run.stdout) as Explained;
    expect(json.change.rules).toStrictEqual([
      {
        protocol: "all",
        fromPort: null,
        toPort: null,
        cidrIpv4: "0.0.0.0/0",
        ruleId: "sgr-0eeeeeeeeeeeeeee1",
      },
    ]);
    expect(json.revert).toStrictEqual([
      {
        action: "revoke",
        groupId: CREATED_GROUP,
        direction: "egress",
        securityGroupRuleIds: ["sgr-0eeeeeeeeeeeeeee1"],
      },
    ]);
    const text = await runInProcess(["explain", "--baseline", baseline, fixturePath(CREATE)]);
    expect(text.stdout).toContain("its default egress, as the baseline holds it\n");
  });

  it("ModifyManagedPrefixList without --baseline: the list and its entries; the rules naming it are not known", async () => {
    const run = await runInProcess(["explain", "--json", fixturePath(PREFIX_LIST_CLI)]);
    const json = JSON.parse(run.stdout) as Explained;
    expect(json.change).toMatchObject({
      kind: "prefixList",
      direction: "unknown",
      groupId: null,
      rules: [],
    });
    expect(json.change.prefixList).toStrictEqual({
      prefixListId: PARTNER_LIST,
      prefixListName: "partner-ranges",
      added: [{ cidr: "0.0.0.0/0", description: "vendor-a" }, { cidr: "192.0.2.0/24" }],
      removed: [{ cidr: "10.20.0.0/16" }],
      references: null,
      referencesNote: `not known offline: the member finds the rules naming ${PARTNER_LIST} among every rule of 111122223333 us-east-1 when it runs, and ignores the change when none does; pass --baseline with \`aws ec2 describe-security-group-rules --region us-east-1\` output to list them`,
    });
    // The revert is on the list: what was added goes, what was removed comes back.
    expect(json.revert).toStrictEqual([
      {
        action: "modifyPrefixList",
        prefixListId: PARTNER_LIST,
        addEntries: [{ cidr: "10.20.0.0/16" }],
        removeEntries: [{ cidr: "0.0.0.0/0" }, { cidr: "192.0.2.0/24" }],
      },
    ]);
    const text = await runInProcess(["explain", fixturePath(PREFIX_LIST_CLI)]);
    expect(text.stdout).toContain(
      `\n  prefixList unknown on the groups whose rules name ${PARTNER_LIST} in 111122223333 us-east-1 at 2024-11-06T17:05:41Z\n  prefix list ${PARTNER_LIST} "partner-ranges"\n    added: 0.0.0.0/0 "vendor-a", 192.0.2.0/24\n    removed: 10.20.0.0/16\n  rules naming it: not known offline: `,
    );
  });

  it("ModifyManagedPrefixList with --baseline: the groups and rules naming the list, as if they named each added entry", async () => {
    const baseline = tempFile("region.json", JSON.stringify(REGION_RULES));
    const run = await runInProcess([
      "explain",
      "--json",
      "--baseline",
      baseline,
      fixturePath(PREFIX_LIST_CLI),
    ]);
    const json = JSON.parse(run.stdout) as Explained;
    expectContract(json);
    // Held by the first group naming the list; its direction is that rule's.
    expect(json.change).toMatchObject({ groupId: "sg-0aaaaaaaaaaaaaaa1", direction: "ingress" });
    expect(json.change.prefixList?.references).toStrictEqual([
      {
        groupId: "sg-0aaaaaaaaaaaaaaa1",
        rules: [
          {
            protocol: "tcp",
            fromPort: 22,
            toPort: 22,
            prefixListId: PARTNER_LIST,
            description: "partner ssh",
            ruleId: "sgr-0a1b2c3d4e5f60001",
            direction: "ingress",
          },
        ],
      },
      {
        groupId: "sg-0bbbbbbbbbbbbbbb2",
        rules: [
          {
            protocol: "tcp",
            fromPort: 443,
            toPort: 443,
            prefixListId: PARTNER_LIST,
            ruleId: "sgr-0a1b2c3d4e5f60002",
            direction: "egress",
          },
        ],
      },
    ]);
    expect(json.change.prefixList?.referencesNote).toBeUndefined();
    expect(json.change.rules).toStrictEqual([
      {
        protocol: "tcp",
        fromPort: 22,
        toPort: 22,
        cidrIpv4: "0.0.0.0/0",
        description: "partner ssh",
      },
      {
        protocol: "tcp",
        fromPort: 22,
        toPort: 22,
        cidrIpv4: "192.0.2.0/24",
        description: "partner ssh",
      },
      { protocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" },
      { protocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "192.0.2.0/24" },
    ]);
    const text = await runInProcess([
      "explain",
      "--baseline",
      baseline,
      fixturePath(PREFIX_LIST_CLI),
    ]);
    expect(text.stdout).toContain(
      `  rules naming it:\n    sg-0aaaaaaaaaaaaaaa1 ingress tcp 22-22 ${PARTNER_LIST} "partner ssh" [sgr-0a1b2c3d4e5f60001]\n    sg-0bbbbbbbbbbbbbbb2 egress tcp 443-443 ${PARTNER_LIST} [sgr-0a1b2c3d4e5f60002]\n  as if each named each added entry:\n  - tcp 22-22 0.0.0.0/0 "partner ssh"\n`,
    );
  });

  it("ModifyManagedPrefixList with --baseline where no rule names the list: ignored, as the member ignores it", async () => {
    const baseline = tempFile("region.json", JSON.stringify(REGION_RULES));
    // The console fixture's list (pl-0c3516b0e5630bf3e) is named by the fourth rule only.
    const others = tempFile(
      "others.json",
      JSON.stringify(REGION_RULES.SecurityGroupRules.slice(0, 3)),
    );
    const run = await runInProcess([
      "explain",
      "--json",
      "--baseline",
      others,
      fixturePath("widening/ModifyManagedPrefixList/add-entry-console.json"),
    ]);
    expect(JSON.parse(run.stdout)).toStrictEqual({
      ignored: true,
      reason:
        "no governed security group rule names pl-0c3516b0e5630bf3e: its entries widen no governed rule",
    });
    const named = await runInProcess([
      "explain",
      "--json",
      "--baseline",
      baseline,
      fixturePath("widening/ModifyManagedPrefixList/add-entry-console.json"),
    ]);
    expect((JSON.parse(named.stdout) as Explained).change.groupId).toBe("sg-0ccccccccccccccc3");
  });
});

describe("usage in process (main): --help, --version, unknown input", () => {
  it.each([["--help"], ["-h"], ["help"]])(
    "%s: the overall usage on stdout, exit 0",
    async (flag) => {
      const run = await runInProcess([flag]);
      expect(run).toMatchObject({ code: 0, stderr: "" });
      expect(run.stdout).toMatch(/^usage: secgroup-approval <command> \[options\]\n/);
      for (const command of ["explain FILE", "doctor [--config FILE]", "--help", "--version"]) {
        expect(run.stdout).toContain(command);
      }
    },
  );

  it.each([
    ["explain", "--help"],
    ["explain", "-h"],
    ["doctor", "--help"],
    ["doctor", "-h"],
  ])("%s %s: that command's usage on stdout, exit 0", async (command, flag) => {
    const run = await runInProcess([command, flag]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toMatch(new RegExp(`^usage: secgroup-approval ${command} `));
    expect(run.stdout).toContain("-h, --help");
    // `help COMMAND` says the same.
    expect((await runInProcess(["help", command])).stdout).toBe(run.stdout);
  });

  it("explain --help names every input it takes", async () => {
    const run = await runInProcess(["explain", "--help"]);
    for (const text of [
      "EventBridge",
      '{"Records": [...]}',
      "lookup-events",
      "--json",
      "--baseline",
    ]) {
      expect(run.stdout).toContain(text);
    }
  });

  it("--help wins over anything else on the line, before --", async () => {
    for (const args of [
      ["explain", "--yaml", "--help"],
      ["explain", "a.json", "b.json", "-h"],
      ["explain", "--json", "--baseline", "-h"],
      ["doctor", "--config", "missing.json", "--help"],
      ["doctor", "stray", "-h"],
    ]) {
      const run = await runInProcess(args);
      expect(run, args.join(" ")).toMatchObject({ code: 0, stderr: "" });
      expect(run.stdout).toMatch(new RegExp(`^usage: secgroup-approval ${args[0]} `));
    }
    // After --, "--help" is a FILE name like any other.
    const file = await runInProcess(["explain", "--", "--help"]);
    expect(file.code).toBe(2);
    expect(file.stderr).toMatch(/^secgroup-approval: cannot read input: ENOENT.*--help/);
  });

  it("doctor --help does not read any config", async () => {
    const run = await runInProcess(["doctor", "--config", "/nonexistent/config.json", "--help"]);
    expect(run.stdout).not.toMatch(/nonexistent|error:/);
  });

  it.each([["--version"], ["-v"], ["version"]])(
    "%s: package.json's version, exit 0",
    async (flag) => {
      const run = await runInProcess([flag]);
      expect(run).toStrictEqual({ code: 0, stdout: `${VERSION}\n`, stderr: "" });
    },
  );

  it("no arguments: the overall usage, exit 2", async () => {
    const run = await runInProcess([]);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/^usage: secgroup-approval <command>/);
  });

  it.each<[string[], string]>([
    [["frobnicate"], `unknown command "frobnicate"; run 'secgroup-approval --help'`],
    [["--frobnicate"], `unknown option "--frobnicate"; run 'secgroup-approval --help'`],
    [["-x"], `unknown option "-x"; run 'secgroup-approval --help'`],
    [["help", "frobnicate"], `unknown command "frobnicate"; run 'secgroup-approval --help'`],
    [
      ["explain", "--yaml", "a.json"],
      `unknown option "--yaml" for explain; run 'secgroup-approval explain --help'`,
    ],
    [
      ["explain", "-x", "a.json"],
      `unknown option "-x" for explain; run 'secgroup-approval explain --help'`,
    ],
    [
      ["explain", "--constructor", "a.json"],
      `unknown option "--constructor" for explain; run 'secgroup-approval explain --help'`,
    ],
    [["__proto__"], `unknown command "__proto__"; run 'secgroup-approval --help'`],
    [
      ["doctor", "--bogus"],
      `unknown option "--bogus" for doctor; run 'secgroup-approval doctor --help'`,
    ],
    [
      ["explain", "--json=yes", "a.json"],
      "option --json takes no value; run 'secgroup-approval explain --help'",
    ],
    [
      ["explain", "a.json", "--baseline"],
      "option --baseline needs a value (RULES.json); run 'secgroup-approval explain --help'",
    ],
    [
      ["explain", "--baseline", "--json", "a.json"],
      "option --baseline needs a value (RULES.json); run 'secgroup-approval explain --help'",
    ],
    [
      ["doctor", "--config"],
      "option --config needs a value (FILE); run 'secgroup-approval doctor --help'",
    ],
    [
      ["doctor", "my.json"],
      `doctor takes no FILE argument ("my.json"): give the config as --config FILE; run 'secgroup-approval doctor --help'`,
    ],
    [
      ["explain"],
      "explain takes one FILE (or - for stdin); run 'secgroup-approval explain --help'",
    ],
    [
      ["explain", "-", "--baseline", "-"],
      "FILE and --baseline cannot both be - (stdin); run 'secgroup-approval explain --help'",
    ],
    [["what\nnext"], `unknown command "what\\nnext"; run 'secgroup-approval --help'`],
  ])("%j: exit 2, one line on stderr", async (args, message) => {
    const run = await runInProcess(args);
    expect(run).toStrictEqual({ code: 2, stdout: "", stderr: `secgroup-approval: ${message}\n` });
    expectBalancedQuotes(run.stderr);
  });
});

describe.concurrent("usage as a child process (node bin/secgroup-approval.mjs)", () => {
  it.each([["explain"], ["doctor"]])("%s --help and -h: exit 0, its usage", async (command) => {
    for (const flag of ["--help", "-h"]) {
      const run = await runCli([command, flag]);
      expect(run).toMatchObject({ code: 0, stderr: "" });
      expect(run.stdout).toMatch(new RegExp(`^usage: secgroup-approval ${command} `));
    }
  });

  it("--help, -h, help: the overall usage, exit 0", async () => {
    for (const flag of ["--help", "-h", "help"]) {
      const run = await runCli([flag]);
      expect(run).toMatchObject({ code: 0, stderr: "" });
      expect(run.stdout).toMatch(/^usage: secgroup-approval <command>/);
    }
  });

  it("--version, -v, version: package.json's version, exit 0", async () => {
    for (const flag of ["--version", "-v", "version"]) {
      expect(await runCli([flag])).toStrictEqual({ code: 0, stdout: `${VERSION}\n`, stderr: "" });
    }
  });

  it("an unknown option: exit 2, one line with balanced quotes pointing at --help", async () => {
    const run = await runCli(["explain", "--help-me", "x.json"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      "secgroup-approval: unknown option \"--help-me\" for explain; run 'secgroup-approval explain --help'\n",
    );
    expectBalancedQuotes(run.stderr);
  });
});

// ---- many records: a CloudTrail log file (S3) and `aws cloudtrail lookup-events` output ----

/** A log file as a trail delivers it to S3 (gzipped), and the fixtures whose records it holds. */
const LOG_FILE =
  "log-file/111122223333_CloudTrail_us-east-1_20241104T1435Z_Qm7Yt2Rk9Lp4Xw8B.json.gz";
const LOG_FILE_RECORDS = [
  "other/CreateSecurityGroup.json",
  "AuthorizeSecurityGroupIngress/ipv6.json",
  "AuthorizeSecurityGroupIngress/prefix-list.json",
  "other/iam-CreateAccessKey.json",
];
const MODIFY_LOG_FILE =
  "log-file/111122223333_CloudTrail_us-east-1_20241106T1655Z_Hd3Vn8Jc5Tz1Gs6F.json.gz";
const MODIFY_LOG_FILE_RECORDS = ["AuthorizeSecurityGroupIngress/multi-item.json", MODIFY];
/** `aws cloudtrail lookup-events` output (newest first), and the fixtures of its events. */
const LOOKUP = "lookup-events/username-alice-us-east-1.txt";
const LOOKUP_RECORDS = [
  "AuthorizeSecurityGroupIngress/failed-call.json",
  "AuthorizeSecurityGroupEgress/ipv4.json",
  "AuthorizeSecurityGroupIngress/icmp.json",
  "AuthorizeSecurityGroupIngress/all-protocols-no-ports.json",
];

const MULTI: [string, string[], string][] = [
  [LOG_FILE, LOG_FILE_RECORDS, "Records"],
  [MODIFY_LOG_FILE, MODIFY_LOG_FILE_RECORDS, "Records"],
  [LOOKUP, LOOKUP_RECORDS, "Events"],
];

/** A multi-record fixture's JSON text (gunzipped). */
const multiText = (name: string) => {
  const bytes = readFileSync(fixturePath(name));
  return (name.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8");
};

describe("the log-file and lookup-events fixtures", () => {
  it("are not among the EventBridge fixtures that other tests iterate", () => {
    const names = cloudTrailFixtureNames();
    for (const [name] of MULTI) expect(names).not.toContain(name);
    expect(names.some((n) => n.startsWith("log-file/") || n.startsWith("lookup-events/"))).toBe(
      false,
    );
  });

  it("a log file is gzipped JSON, one line, {Records: [the records of the fixtures it names]}", () => {
    for (const [name, records] of MULTI.filter(([, , key]) => key === "Records")) {
      expect([...readFileSync(fixturePath(name)).subarray(0, 2)]).toEqual([0x1f, 0x8b]);
      const text = multiText(name);
      expect(text.includes("\n")).toBe(false);
      expect(JSON.parse(text)).toStrictEqual({
        Records: records.map((r) => detailOf(loadFixture(r))),
      });
    }
  });

  it("lookup-events output: Events (newest first) whose CloudTrailEvent is the fixture's record", () => {
    const { Events } = JSON.parse(multiText(LOOKUP)) as { Events: Json[] };
    expect(Events).toHaveLength(LOOKUP_RECORDS.length);
    Events.forEach((e, i) => {
      const detail = detailOf(loadFixture(LOOKUP_RECORDS[i] ?? ""));
      expect(Object.keys(e)).toEqual([
        "EventId",
        "EventName",
        "ReadOnly",
        "AccessKeyId",
        "EventTime",
        "EventSource",
        "Username",
        "Resources",
        "CloudTrailEvent",
      ]);
      expect(JSON.parse(e.CloudTrailEvent as string)).toStrictEqual(detail);
      expect(e).toMatchObject({
        EventId: detail.eventID,
        EventName: detail.eventName,
        ReadOnly: "false",
        EventSource: "ec2.amazonaws.com",
        Username: "alice",
      });
      expect(Date.parse(e.EventTime as string)).toBe(Date.parse(detail.eventTime as string));
    });
    const times = Events.map((e) => Date.parse(e.EventTime as string));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });
});

describe("explain many records in process (main)", () => {
  it.each(MULTI)(
    "--json %s: JSON Lines, one per record in order, each as for the record's own event",
    async (name, records) => {
      const run = await runInProcess(["explain", "--json", fixturePath(name)]);
      expect(run).toMatchObject({ code: 0, stderr: "" });
      const lines = run.stdout.split("\n");
      expect(lines.pop()).toBe("");
      expect(lines).toHaveLength(records.length);
      for (const [i, line] of lines.entries()) {
        const json: unknown = JSON.parse(line);
        expectContract(json);
        const single = await runInProcess(["explain", "--json", fixturePath(records[i] ?? "")]);
        expect(`${line}\n`).toBe(single.stdout);
        expect(json.ignored).toBe(IGNORED_FIXTURES.includes(records[i] ?? ""));
      }
    },
  );

  it.each(MULTI)(
    "text %s: one block per record, blank-line separated, each headed by where it is",
    async (name, records, key) => {
      const run = await runInProcess(["explain", fixturePath(name)]);
      expect(run).toMatchObject({ code: 0, stderr: "" });
      expect(run.stdout.endsWith("\n")).toBe(true);
      const blocks = run.stdout.slice(0, -1).split("\n\n");
      expect(blocks).toHaveLength(records.length);
      for (const [i, block] of blocks.entries()) {
        const fixture = records[i] ?? "";
        const detail = detailOf(loadFixture(fixture));
        const single = await runInProcess(["explain", fixturePath(fixture)]);
        expect(`${block}\n`).toBe(
          `${key}[${i}]: ${detail.eventName}, eventID ${detail.eventID}\n${single.stdout}`,
        );
      }
    },
  );

  it("the ignored records say why, as for a single event; a group's creation is explained", async () => {
    const run = await runInProcess(["explain", fixturePath(LOG_FILE)]);
    expect(run.stdout).toContain(
      `Records[0]: CreateSecurityGroup, eventID f7a8b9c0-d1e2-4f3a-a4b5-c6d7e8f9a0b1\nCreateSecurityGroup by alice (IAMUser, arn:aws:iam::111122223333:user/alice)\n  create egress on sg-0f3a9c2b7d1e4a5b6 `,
    );
    expect(run.stdout).toContain(
      `Records[3]: CreateAccessKey, eventID b9c0d1e2-f3a4-4b5c-86d7-e8f9a0b1c2d3\nignored: source is "aws.iam", not aws.ec2\n`,
    );
    const json = await runInProcess(["explain", "--json", fixturePath(LOOKUP)]);
    expect(JSON.parse(json.stdout.split("\n")[0] ?? "")).toStrictEqual({
      ignored: true,
      reason: expect.stringMatching(/^the call failed \(Client\.InvalidPermission\.Duplicate: /),
    });
  });

  it("a log file that is not gzipped reads the same", async () => {
    const plain = tempFile("records.json", multiText(LOG_FILE));
    const gz = await runInProcess(["explain", "--json", fixturePath(LOG_FILE)]);
    const run = await runInProcess(["explain", "--json", plain]);
    expect(run).toStrictEqual(gz);
  });

  it("--baseline applies to each record of its group: the modify is resolved, the add unchanged", async () => {
    const baseline = tempFile("baseline.json", JSON.stringify(MODIFY_BASELINE));
    const run = await runInProcess([
      "explain",
      "--json",
      "--baseline",
      baseline,
      fixturePath(MODIFY_LOG_FILE),
    ]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    const [add, modify] = run.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Explained);
    const plainAdd = await runInProcess([
      "explain",
      "--json",
      fixturePath(MODIFY_LOG_FILE_RECORDS[0] ?? ""),
    ]);
    expect(add).toStrictEqual(JSON.parse(plainAdd.stdout));
    expect(modify?.change.direction).toBe("ingress");
    expect(modify?.revert).toStrictEqual(MODIFY_REVERT);
  });

  it("empty lists: no line with --json, a note in text; exit 0", async () => {
    for (const json of [{ Records: [] }, { Events: [] }]) {
      const file = tempFile("empty.json", JSON.stringify(json));
      expect(await runInProcess(["explain", "--json", file])).toStrictEqual({
        code: 0,
        stdout: "",
        stderr: "",
      });
      expect(await runInProcess(["explain", file])).toStrictEqual({
        code: 0,
        stdout: `no records in ${file}\n`,
        stderr: "",
      });
    }
  });

  it.each<[string, unknown, RegExp]>([
    [
      "a malformed record",
      {
        Records: [
          detailOf(loadFixture("AuthorizeSecurityGroupIngress/ipv6.json")),
          {
            ...detailOf(loadFixture("AuthorizeSecurityGroupIngress/icmp.json")),
            eventID: undefined,
          },
        ],
      },
      /^secgroup-approval: Records\[1\]: detail\.eventID is missing\n$/,
    ],
    [
      "Records not a list",
      { Records: { items: [] } },
      /^secgroup-approval: Records is not a list\n$/,
    ],
    [
      "a CloudTrailEvent that is not JSON",
      { Events: [{ EventId: "x", CloudTrailEvent: "{nope" }] },
      /^secgroup-approval: Events\[0\]\.CloudTrailEvent is not valid JSON: [^\n]+\n$/,
    ],
  ])("%s: exit 2, one line naming the record, nothing on stdout", async (_what, json, message) => {
    const file = tempFile("bad.json", JSON.stringify(json));
    for (const args of [
      ["explain", file],
      ["explain", "--json", file],
    ]) {
      const run = await runInProcess(args);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr).toMatch(message);
    }
  });

  it("a corrupt gzip file: exit 2, one line", async () => {
    const bytes = readFileSync(fixturePath(LOG_FILE));
    const file = tempFile("cut.json.gz", bytes.subarray(0, 40));
    const run = await runInProcess(["explain", file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^secgroup-approval: \S+ is gzip but does not decompress: [^\n]+\n$/,
    );
  });
});

describe.concurrent("explain many records as a child process (node bin/secgroup-approval.mjs)", () => {
  const expectedJsonLines = (records: string[]) =>
    Promise.all(records.map((r) => runCli(["explain", "--json", fixturePath(r)]))).then((runs) =>
      runs.map((r) => r.stdout).join(""),
    );

  it.each(MULTI)("--json %s from the file, and from stdin", async (name, records) => {
    const expected = await expectedJsonLines(records);
    expect(expected.split("\n")).toHaveLength(records.length + 1);
    const fromFile = await runCli(["explain", "--json", fixturePath(name)]);
    expect(fromFile).toStrictEqual({ code: 0, stdout: expected, stderr: "" });
    const fromStdin = await runCli(["explain", "--json", "-"], readFileSync(fixturePath(name)));
    expect(fromStdin).toStrictEqual({ code: 0, stdout: expected, stderr: "" });
  });

  it.each(MULTI)("text %s from the file, and from stdin (gunzipped)", async (name, records) => {
    const fromFile = await runCli(["explain", fixturePath(name)]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stderr).toBe("");
    expect(fromFile.stdout.slice(0, -1).split("\n\n")).toHaveLength(records.length);
    const fromStdin = await runCli(["explain", "-"], multiText(name));
    expect(fromStdin).toStrictEqual(fromFile);
  });

  it("a log file gzipped on stdin, with --baseline from a file", async () => {
    const baseline = tempFile("baseline.json", JSON.stringify(MODIFY_BASELINE));
    const gz = gzipSync(Buffer.from(multiText(MODIFY_LOG_FILE)));
    const run = await runCli(["explain", "--json", "--baseline", baseline, "-"], gz);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect((JSON.parse(lines[1] ?? "") as Explained).revert).toStrictEqual(MODIFY_REVERT);
  });
});
