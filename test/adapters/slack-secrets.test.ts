import { clearCaches } from "@aws-lambda-powertools/parameters";
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadSlackSecrets, SlackSecretsError } from "../../src/adapters/slack/secrets.js";

const sm = mockClient(SecretsManagerClient);
let n = 0;
/** A fresh ARN per test: the module remembers secrets that need reading again. */
const arn = () => `arn:aws:secretsmanager:eu-west-1:111122223333:secret:slack-${++n}-AbCdEf`;
const client = () => new SecretsManagerClient({ region: "eu-west-1" });
const good = { botToken: "xoxb-1-2-3", signingSecret: "8f742231b10e8888abcd99yyyzzz85a5" };

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

describe("loadSlackSecrets", () => {
  it("parses the JSON secret", async () => {
    const id = arn();
    sm.on(GetSecretValueCommand, { SecretId: id }).resolves({ SecretString: JSON.stringify(good) });
    expect(await loadSlackSecrets(id, { client: client() })).toEqual(good);
  });

  it("ignores extra fields and trims whitespace", async () => {
    const id = arn();
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ botToken: " xoxb-1 \n", signingSecret: "s", note: "x" }),
    });
    expect(await loadSlackSecrets(id, { client: client() })).toEqual({
      botToken: "xoxb-1",
      signingSecret: "s",
    });
  });

  it("caches: a second call makes no SDK call", async () => {
    const id = arn();
    const c = client();
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(good) });
    await loadSlackSecrets(id, { client: c });
    expect(await loadSlackSecrets(id, { client: c })).toEqual(good);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    await loadSlackSecrets(id, { client: c, forceFetch: true });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it("maxAgeSeconds 0 reads every time", async () => {
    const id = arn();
    const c = client();
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(good) });
    await loadSlackSecrets(id, { client: c, maxAgeSeconds: 0 });
    await loadSlackSecrets(id, { client: c, maxAgeSeconds: 0 });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it("works through Powertools' default provider too", async () => {
    const id = arn();
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(good) });
    expect(await loadSlackSecrets(id)).toEqual(good);
    expect(await loadSlackSecrets(id)).toEqual(good);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it("names a missing field", async () => {
    const id = arn();
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ botToken: "xoxb-1" }) });
    const error = await failure(loadSlackSecrets(id, { client: client() }));
    expect(error.message).toBe(
      `the Slack secret ${id} has no signingSecret: fill it as the README says`,
    );
    expect(error.secretArn).toBe(id);
  });

  it("names empty and missing fields together", async () => {
    const id = arn();
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ botToken: "  " }) });
    const error = await failure(loadSlackSecrets(id, { client: client() }));
    expect(error.message).toBe(
      `the Slack secret ${id} has an empty botToken and no signingSecret: fill it as the README says`,
    );
  });

  it("names a field of the wrong type", async () => {
    const id = arn();
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ ...good, signingSecret: 42 }),
    });
    const error = await failure(loadSlackSecrets(id, { client: client() }));
    expect(error.message).toContain("has a non-string signingSecret");
  });

  it("rejects a value that is not a JSON object", async () => {
    const id = arn();
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: "xoxb-just-a-token" })
      .resolvesOnce({ SecretString: '["xoxb-1"]' });
    const c = client();
    expect((await failure(loadSlackSecrets(id, { client: c }))).message).toBe(
      `the Slack secret ${id} is not valid JSON: fill it as the README says`,
    );
    expect((await failure(loadSlackSecrets(id, { client: c }))).message).toContain(
      "is not a JSON object",
    );
  });

  it("does not keep serving an unusable value once the secret is fixed", async () => {
    const id = arn();
    const c = client();
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: JSON.stringify({ botToken: "xoxb-1" }) })
      .resolves({ SecretString: JSON.stringify(good) });
    await failure(loadSlackSecrets(id, { client: c }));
    expect(await loadSlackSecrets(id, { client: c })).toEqual(good);
    expect(await loadSlackSecrets(id, { client: c })).toEqual(good);
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
    const error = await failure(loadSlackSecrets(id, { client: client() }));
    expect(error.message).toBe(
      `could not read the Slack secret ${id}: ResourceNotFoundException: Secrets Manager can't find the specified secret.`,
    );
    expect(error.cause).toBeInstanceOf(Error);
  });
});
