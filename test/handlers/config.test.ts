import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApplyHandler } from "../../src/handlers/applySecurityGroupChange.js";
import { createButtonClickHandler } from "../../src/handlers/buttonClick.js";
import {
  ConfigError,
  hubConfigSchema,
  loadConfig,
  memberApplyTopicArn,
  memberConfigSchema,
} from "../../src/handlers/config.js";
import { createDenyHandler } from "../../src/handlers/denySecurityGroupChange.js";
import { createResultHandler } from "../../src/handlers/errorHandlerSecurityGroupChange.js";
import { createExpireHandler } from "../../src/handlers/expireRequests.js";
import { log, logger } from "../../src/handlers/logging.js";
import { createRevertFailedHandler } from "../../src/handlers/revertFailed.js";
import { createRevertHandler } from "../../src/handlers/revertSecurityGroup.js";
import { createStoreHandler } from "../../src/handlers/storeSecurityGroupRequest.js";
import { createSweepHandler } from "../../src/handlers/sweepBaseline.js";

const member = {
  BASELINE_TABLE: "securityGroupBaselines",
  MEMBER_ACCOUNT_ID: "111122223333",
  AWS_REGION: "us-east-1",
  MEMBER_BUS_NAME: "secgroup-approval-member",
};
const hub = {
  REQUESTS_TABLE: "securityGroupRequests",
  SLACK_BOT_TOKEN_SECRET_ARN:
    "arn:aws:secretsmanager:us-east-1:999988887777:secret:secgroup-approval/slack-bot-token-AbCdEf",
  SLACK_APPROVAL_CHANNEL: "C0APPROVAL",
  SLACK_MONITORING_CHANNEL: "C0MONITORING",
  DENY_TOPIC_ARN: "arn:aws:sns:us-east-1:999988887777:denySecurityGroupChange",
};

describe("handler configuration", () => {
  it("reads lists, booleans, numbers and defaults", () => {
    const config = loadConfig(memberConfigSchema, {
      ...member,
      SYSTEM_ROLE_ARNS: "arn:aws:iam::1:role/a, arn:aws:iam::1:role/b",
      AUTO_DENY_WITHOUT_DESCRIPTION: "true",
      MAX_EVENT_AGE_SECONDS: "0",
    });
    expect(config.SYSTEM_ROLE_ARNS).toEqual(["arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b"]);
    expect(config.EXEMPT_PRINCIPALS).toEqual([]);
    expect(config.AUTO_DENY_WITHOUT_DESCRIPTION).toBe(true);
    expect(config.MAX_EVENT_AGE_SECONDS).toBe(0);
    expect(config.DRIFT_GRACE_SECONDS).toBe(900);
    expect(config.PEOPLE).toEqual([]);
  });

  it("names every missing or wrong variable at once", () => {
    const wrong = { BASELINE_TABLE: "t", MEMBER_ACCOUNT_ID: "abc", AWS_REGION: "../../etc" };
    expect(() => loadConfig(memberConfigSchema, wrong)).toThrow(ConfigError);
    try {
      loadConfig(memberConfigSchema, wrong);
    } catch (err) {
      expect((err as Error).message).toMatch(/MEMBER_ACCOUNT_ID: must be a 12-digit account id/);
      expect((err as Error).message).toMatch(/AWS_REGION: must be a region/);
      expect((err as Error).message).toMatch(/MEMBER_BUS_NAME/);
    }
  });

  it("reads the people mapping and the governed accounts as JSON, refusing what is not", () => {
    const people =
      '[{"slackUserId":"U0ALICE","principals":["arn:aws:iam::111122223333:user/alice"]}]';
    expect(loadConfig(memberConfigSchema, { ...member, PEOPLE: people }).PEOPLE).toEqual([
      { slackUserId: "U0ALICE", principals: ["arn:aws:iam::111122223333:user/alice"] },
    ]);
    expect(() => loadConfig(memberConfigSchema, { ...member, PEOPLE: "alice" })).toThrow(
      /PEOPLE: must be JSON/,
    );
    const config = loadConfig(hubConfigSchema, {
      ...hub,
      GOVERNED_ACCOUNTS: '{"111122223333":["us-east-1"]}',
      ON_EXPIRY: "leave",
    });
    expect(config.GOVERNED_ACCOUNTS).toEqual({ "111122223333": ["us-east-1"] });
    expect(config.ON_EXPIRY).toBe("leave");
    expect(config.SLACK_SIGNING_SECRET_ARN).toBeUndefined();
    expect(() => loadConfig(hubConfigSchema, { ...hub, GOVERNED_ACCOUNTS: '{"abc":[]}' })).toThrow(
      /GOVERNED_ACCOUNTS/,
    );
  });

  it("rejects account aliases that are not a JSON object, and builds member topic ARNs", () => {
    expect(() => loadConfig(hubConfigSchema, { ...hub, ACCOUNT_ALIASES: "prod" })).toThrow(
      /ACCOUNT_ALIASES: must be a JSON object/,
    );
    const config = loadConfig(hubConfigSchema, {
      ...hub,
      ACCOUNT_ALIASES: '{"111122223333":"prod"}',
    });
    expect(config.ACCOUNT_ALIASES).toEqual({ "111122223333": "prod" });
    expect(memberApplyTopicArn(config, "111122223333", "eu-west-1")).toBe(
      "arn:aws:sns:eu-west-1:111122223333:applySecurityGroupChange",
    );
  });
});

/** A Lambda context as the runtime passes it. */
const context = (awsRequestId: string): Context => ({
  awsRequestId,
  functionName: "f",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:us-east-1:999988887777:function:f",
  memoryLimitInMB: "256",
  logGroupName: "/aws/lambda/f",
  logStreamName: "s",
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 1000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
});

describe("logging", () => {
  afterEach(() => vi.restoreAllMocks());

  it("writes JSON lines carrying the Lambda request id once the context is added", () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    logger.addContext(context("c6af9ac6-7b61-11e6-9a41-93e812345678"));
    log.info("request approved", { requestId: "r-01JD0000000000000000000001", by: "U0BOB" });
    const line = JSON.parse(lines.join("").trim().split("\n").at(-1) ?? "{}");
    expect(line).toMatchObject({
      level: "INFO",
      message: "request approved",
      function_request_id: "c6af9ac6-7b61-11e6-9a41-93e812345678",
      requestId: "r-01JD0000000000000000000001",
    });
  });
});

describe("every handler logs with its invocation's request id", () => {
  afterEach(() => vi.restoreAllMocks());

  // Deps that log one line and stop: what matters is that the context was added first.
  const stopping = () => {
    log.info("deps requested");
    throw new Error("stop here");
  };
  const sns = { Records: [] };
  const bus = {
    version: "0",
    id: "e",
    "detail-type": "Security Group Change",
    source: "secgroup-approval.member",
    account: "111122223333",
    time: "2026-11-23T10:00:00Z",
    region: "us-east-1",
    resources: [],
    detail: {},
  };
  const handlers: [string, (id: string) => Promise<unknown>][] = [
    ["revertSecurityGroup", (id) => createRevertHandler(stopping)({}, context(id))],
    ["applySecurityGroupChange", (id) => createApplyHandler(stopping)(sns, context(id))],
    ["sweepBaseline", (id) => createSweepHandler(stopping)(undefined, context(id))],
    ["storeSecurityGroupRequest", (id) => createStoreHandler(stopping)(bus, context(id))],
    ["denySecurityGroupChange", (id) => createDenyHandler(stopping)(sns, context(id))],
    ["errorHandlerSecurityGroupChange", (id) => createResultHandler(stopping)(bus, context(id))],
    ["revertFailed", (id) => createRevertFailedHandler(stopping)({}, context(id))],
    ["expireRequests", (id) => createExpireHandler(stopping)(undefined, context(id))],
    [
      "buttonClick",
      (id) =>
        createButtonClickHandler({ hub: stopping, signingSecret: async () => stopping() })(
          { body: "", headers: {}, isBase64Encoded: false },
          context(id),
        ),
    ],
  ];

  it.each(handlers)("%s", async (_name, invoke) => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const id = randomUUID();
    await invoke(id).catch(() => undefined);
    const logged = lines
      .join("")
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(logged.length).toBeGreaterThan(0);
    for (const line of logged) expect(line.function_request_id).toBe(id);
  });
});
