import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { z } from "zod";
import { main } from "../../src/cli/main.js";
import {
  cloudTrailFixtureNames,
  detailOf,
  fixturePath,
  type Json,
  loadFixture,
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

const operationJson = z
  .object({
    action: z.enum(["authorize", "revoke", "modify"]),
    groupId: z.string().regex(/^sg-/),
  })
  .catchall(z.unknown());

const explainedJson = z
  .object({
    ignored: z.literal(false),
    change: z
      .object({
        kind: z.enum(["add", "remove", "modify"]),
        direction: z.enum(["ingress", "egress", "unknown"]),
        // null only for a call that named its group by name alone (the member looks the id up).
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
        rules: z.array(ruleJson).min(1),
      })
      .strict(),
    revert: z.array(operationJson),
    revertError: z.string().optional(),
  })
  .strict()
  .superRefine((j, ctx) => {
    if (j.change.groupId === null && !/only by name/.test(j.revertError ?? "")) {
      ctx.addIssue({ code: "custom", message: "groupId null without the by-name reason" });
    }
    // "unknown" only where the contract cannot be met: a modify whose old rules are not known.
    if (j.change.direction === "unknown" && !(j.change.kind === "modify" && j.revertError)) {
      ctx.addIssue({ code: "custom", message: "direction unknown" });
    }
    if (j.revert.length === 0 && !j.revertError) {
      ctx.addIssue({ code: "custom", message: "no revert and no reason" });
    }
    for (const op of j.revert) {
      if (op.groupId !== j.change.groupId) ctx.addIssue({ code: "custom", message: "op groupId" });
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

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let out: MockInstance<typeof process.stdout.write>;
let err: MockInstance<typeof process.stderr.write>;
const written = (spy: MockInstance<(chunk: string | Uint8Array) => boolean>) =>
  spy.mock.calls.map((c) => String(c[0])).join("");

async function runInProcess(args: string[]): Promise<Run> {
  out.mockClear();
  err.mockClear();
  const code = await main(args);
  return { code, stdout: written(out), stderr: written(err) };
}

/** The real CLI, as a user runs it: `node bin/secgroup-approval.mjs ...`. */
function runCli(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["bin/secgroup-approval.mjs", ...args], {
      cwd: REPO_ROOT,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}

const IGNORED_FIXTURES = [
  "AuthorizeSecurityGroupIngress/failed-call.json",
  "RevokeSecurityGroupIngress/failed-not-found.json",
  "other/CreateSecurityGroup.json",
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

function tempFile(name: string, content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "sg-explain-")), name);
  writeFileSync(path, content);
  return path;
}

// ---- in process: every fixture ----

describe("explain in process (main), every fixture", () => {
  beforeEach(() => {
    out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("the fixtures folder is not empty", () => {
    expect(cloudTrailFixtureNames().length).toBeGreaterThanOrEqual(25);
  });

  it.each(cloudTrailFixtureNames())(
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
        // Without a baseline the old rules are unknown: no revert, and a reason.
        expect(json.revert).toEqual([]);
        expect(json.revertError).toMatch(/baseline of sg-\S+ lacks sgr-/);
      }
    },
  );

  it.each(cloudTrailFixtureNames())("text %s: exit 0, a readable summary", async (name) => {
    const run = await runInProcess(["explain", fixturePath(name)]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    if (IGNORED_FIXTURES.includes(name)) expect(run.stdout).toMatch(/^ignored: .+\n$/);
    else expect(run.stdout).toMatch(/^\w+ by .+\n {2}(add|remove|modify) [\s\S]*\nrevert:\n/);
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

  it("malformed JSON on stdin: exit 2, one line on stderr, no stack trace", async () => {
    const run = await runCli(["explain", "--json", "-"], '{"detail": {');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/stdin is not valid JSON/);
    noStack(run.stderr);
  });

  it("a missing file: exit 2, one line naming it", async () => {
    const run = await runCli(["explain", "--json", "/nonexistent/event.json"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/cannot read input: .*\/nonexistent\/event\.json/);
    noStack(run.stderr);
  });

  it("an unknown command: exit 2", async () => {
    const run = await runCli(["frobnicate"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('secgroup-approval: unknown command "frobnicate"\n');
  });
});
