/**
 * The hub's Slack secrets, read from one Secrets Manager secret holding JSON:
 *
 *   { "botToken": "xoxb-…", "signingSecret": "…" }
 *
 * Read through Powertools Parameters, which caches the value for `maxAgeSeconds` across warm
 * invocations of a Lambda.
 */
import { GetParameterError, TransformParameterError } from "@aws-lambda-powertools/parameters";
import { getSecret, SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { z } from "zod";

export interface SlackSecrets {
  botToken: string;
  signingSecret: string;
}

export interface LoadSlackSecretsOptions {
  /** How long a value read is reused, in seconds. Default 300. */
  maxAgeSeconds?: number;
  /** Read from Secrets Manager even when a cached value is fresh. */
  forceFetch?: boolean;
  /** A client of your own (another region or endpoint, or a mocked one in tests). */
  client?: SecretsManagerClient;
}

export const DEFAULT_SECRET_MAX_AGE_SECONDS = 300;

/** The secret could not be read, or it does not hold both fields. */
export class SlackSecretsError extends Error {
  override readonly name = "SlackSecretsError";
  constructor(
    readonly secretArn: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const FIELDS = ["botToken", "signingSecret"] as const;

const field = z
  .string({ error: (issue) => (issue.input === undefined ? "no" : "a non-string") })
  .trim()
  .min(1, { error: "an empty" });

const SlackSecretsSchema = z.object({ botToken: field, signingSecret: field });

/** One provider per injected client, so each keeps its own cache across calls. */
const providers = new WeakMap<SecretsManagerClient, SecretsProvider>();
/** Secrets whose last value was unusable: read them again rather than from the cache. */
const refetch = new Set<string>();

/**
 * Reads and validates the Slack secret. Throws SlackSecretsError naming the secret and what is
 * wrong with it ("… has no signingSecret: fill it as the README says").
 */
export async function loadSlackSecrets(
  secretArn: string,
  opts: LoadSlackSecretsOptions = {},
): Promise<SlackSecrets> {
  const options = {
    transform: "json" as const,
    maxAge: opts.maxAgeSeconds ?? DEFAULT_SECRET_MAX_AGE_SECONDS,
    forceFetch: opts.forceFetch === true || refetch.has(secretArn),
  };
  let value: unknown;
  try {
    value = opts.client
      ? await providerFor(opts.client).get(secretArn, options)
      : await getSecret(secretArn, options);
  } catch (error) {
    throw new SlackSecretsError(secretArn, readFailure(secretArn, error), { cause: error });
  }

  const parsed = parseSecrets(secretArn, value);
  if (parsed instanceof SlackSecretsError) {
    refetch.add(secretArn);
    throw parsed;
  }
  refetch.delete(secretArn);
  return parsed;
}

function providerFor(client: SecretsManagerClient): SecretsProvider {
  let provider = providers.get(client);
  if (!provider) {
    provider = new SecretsProvider({ awsSdkV3Client: client });
    providers.set(client, provider);
  }
  return provider;
}

function parseSecrets(secretArn: string, value: unknown): SlackSecrets | SlackSecretsError {
  if (value === undefined || value === null) {
    return new SlackSecretsError(
      secretArn,
      `the Slack secret ${secretArn} has no value: fill it as the README says`,
    );
  }
  if (typeof value !== "object" || Array.isArray(value)) {
    return new SlackSecretsError(
      secretArn,
      `the Slack secret ${secretArn} is not a JSON object with ${FIELDS.join(" and ")}: ` +
        "fill it as the README says",
    );
  }
  const result = SlackSecretsSchema.safeParse(value);
  if (result.success) return result.data;
  // "has no botToken and an empty signingSecret", in field order.
  const problems = FIELDS.flatMap((name) => {
    const issue = result.error.issues.find((i) => i.path[0] === name);
    return issue ? [`${issue.message} ${name}`] : [];
  });
  return new SlackSecretsError(
    secretArn,
    `the Slack secret ${secretArn} has ${problems.join(" and ")}: fill it as the README says`,
  );
}

function readFailure(secretArn: string, error: unknown): string {
  if (error instanceof TransformParameterError) {
    return `the Slack secret ${secretArn} is not valid JSON: fill it as the README says`;
  }
  const cause =
    error instanceof GetParameterError && error.cause instanceof Error ? error.cause : error;
  const detail =
    cause instanceof Error
      ? `${cause.name === "Error" ? "" : `${cause.name}: `}${cause.message}`
      : String(cause);
  return `could not read the Slack secret ${secretArn}: ${detail}`;
}
