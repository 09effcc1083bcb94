import { clearCaches } from "@aws-lambda-powertools/parameters";
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadSlackSecret, SlackSecretsError } from "../../src/adapters/slack/secrets.js";

const sm = mockClient(SecretsManagerClient);
let n = 0;
/** A fresh ARN per test: the module remembers secrets that need reading again. */
const arn = () => `arn:aws:secretsmanager:eu-west-1:111122223333:secret:slack-${++n}-AbCdEf`;
const client = () => new SecretsManagerClient({ region: "eu-west-1" });
const TOKEN = "xoxb-1-2-3";
const SIGNING = "8f742231b10e8888abcd99e1f2a385a5";

beforeEach(() => {
  sm.reset();
});
afterEach(() => {
  clearCaches();
});

async function failure(promise: Promise<unknown>): Promise<SlackSecretsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SlackSecretsError);
  return error as SlackSecretsError;
}

describe("loadSlackSecret: one secret, one string", () => {
  it("reads the bot token and the signing secret, trimmed", async () => {
    const [t, s] = [arn(), arn()];
    sm.on(GetSecretValueCommand, { SecretId: t }).resolves({ SecretString: ` ${TOKEN}\n` });
    sm.on(GetSecretValueCommand, { SecretId: s }).resolves({ SecretString: SIGNING });
    expect(await loadSlackSecret(t, "bot token", { client: client() })).toBe(TOKEN);
    expect(await loadSlackSecret(s, "signing secret", { client: client() })).toBe(SIGNING);
  });

  it("caches: a second call makes no SDK call; forceFetch reads again", async () => {
    const id = arn();
    const c = client();
    sm.on(GetSecretValueCommand).resolves({ SecretString: TOKEN });
    await loadSlackSecret(id, "bot token", { client: c });
    expect(await loadSlackSecret(id, "bot token", { client: c })).toBe(TOKEN);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    await loadSlackSecret(id, "bot token", { client: c, forceFetch: true });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it("works through Powertools' default provider too", async () => {
    const id = arn();
    sm.on(GetSecretValueCommand).resolves({ SecretString: TOKEN });
    expect(await loadSlackSecret(id, "bot token")).toBe(TOKEN);
    expect(await loadSlackSecret(id, "bot token")).toBe(TOKEN);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it.each([
    ["an empty secret", "bot token", "  ", "is empty"],
    ["a signing secret in the token's place", "bot token", SIGNING, "is not a bot token"],
    ["a token in the signing secret's place", "signing secret", TOKEN, "is not a signing secret"],
    ["the old JSON shape", "bot token", JSON.stringify({ botToken: TOKEN }), "is not a bot token"],
  ] as const)("names %s", async (_what, kind, value, problem) => {
    const id = arn();
    sm.on(GetSecretValueCommand).resolves({ SecretString: value });
    const error = await failure(loadSlackSecret(id, kind, { client: client() }));
    expect(error.message).toBe(
      `the Slack ${kind} secret ${id} ${problem}${problem.startsWith("is not a") ? ` (${kind === "bot token" ? "Bot User OAuth Token, xoxb-…" : "hex, from Basic Information"})` : ""}: fill it as docs/DEPLOY.md says`,
    );
    expect(error.secretArn).toBe(id);
  });

  it("does not keep serving an unusable value once the secret is fixed", async () => {
    const id = arn();
    const c = client();
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: "" })
      .resolves({ SecretString: TOKEN });
    await failure(loadSlackSecret(id, "bot token", { client: c }));
    expect(await loadSlackSecret(id, "bot token", { client: c })).toBe(TOKEN);
    expect(await loadSlackSecret(id, "bot token", { client: c })).toBe(TOKEN);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it("reports a secret that cannot be read, with the SDK's error as the cause", async () => {
    const id = arn();
    sm.on(GetSecretValueCommand).rejects(
      new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret.",
        $metadata: {},
      }),
    );
    const error = await failure(loadSlackSecret(id, "signing secret", { client: client() }));
    expect(error.message).toBe(
      `could not read the Slack signing secret from ${id}: ResourceNotFoundException: Secrets Manager can't find the specified secret.`,
    );
    expect(error.cause).toBeInstanceOf(Error);
  });
});
