/**
 * The hub's two Slack secrets, each its own Secrets Manager secret holding one string, so each is
 * readable only by the functions that need it:
 *
 *   secgroup-approval/slack-bot-token        "xoxb-…"  every function that posts or updates
 *   secgroup-approval/slack-signing-secret   "…"       buttonClick alone
 *
 * Read through Powertools Parameters, which caches a value for `maxAgeSeconds` across warm
 * invocations; a value found unusable is read again next time instead of from the cache.
 */
import { GetParameterError } from "@aws-lambda-powertools/parameters";
import { getSecret, SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

export type SlackSecretKind = "bot token" | "signing secret";

export interface LoadSecretOptions {
  /** How long a value read is reused, in seconds. Default 300. */
  maxAgeSeconds?: number;
  /** Read from Secrets Manager even when a cached value is fresh. */
  forceFetch?: boolean;
  /** A client of your own (another region or endpoint, or a mocked one in tests). */
  client?: SecretsManagerClient;
}

export const DEFAULT_SECRET_MAX_AGE_SECONDS = 300;

/** The secret could not be read, or it does not hold what it should. */
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

/** One provider per injected client, so each keeps its own cache across calls. */
const providers = new WeakMap<SecretsManagerClient, SecretsProvider>();
/** Secrets whose last value was unusable: read them again rather than from the cache. */
const refetch = new Set<string>();

const CHECKS: Record<SlackSecretKind, (value: string) => string | undefined> = {
  "bot token": (v) =>
    v.startsWith("xoxb-") ? undefined : "is not a bot token (Bot User OAuth Token, xoxb-…)",
  "signing secret": (v) =>
    /^[0-9a-f]{16,}$/i.test(v)
      ? undefined
      : "is not a signing secret (hex, from Basic Information)",
};

/**
 * Reads one Slack secret. Throws SlackSecretsError naming the secret and what is wrong with it
 * ("… is empty: fill it as docs/DEPLOY.md says").
 */
export async function loadSlackSecret(
  secretArn: string,
  kind: SlackSecretKind,
  opts: LoadSecretOptions = {},
): Promise<string> {
  const options = {
    maxAge: opts.maxAgeSeconds ?? DEFAULT_SECRET_MAX_AGE_SECONDS,
    forceFetch: opts.forceFetch === true || refetch.has(secretArn),
  };
  let value: unknown;
  try {
    value = opts.client
      ? await providerFor(opts.client).get(secretArn, options)
      : await getSecret(secretArn, options);
  } catch (error) {
    throw new SlackSecretsError(secretArn, readFailure(secretArn, kind, error), { cause: error });
  }
  const text = typeof value === "string" ? value.trim() : "";
  const problem =
    typeof value !== "string"
      ? "is not a string secret"
      : text === ""
        ? "is empty"
        : CHECKS[kind](text);
  if (problem) {
    refetch.add(secretArn);
    throw new SlackSecretsError(
      secretArn,
      `the Slack ${kind} secret ${secretArn} ${problem}: fill it as docs/DEPLOY.md says`,
    );
  }
  refetch.delete(secretArn);
  return text;
}

function providerFor(client: SecretsManagerClient): SecretsProvider {
  let provider = providers.get(client);
  if (!provider) {
    provider = new SecretsProvider({ awsSdkV3Client: client });
    providers.set(client, provider);
  }
  return provider;
}

function readFailure(secretArn: string, kind: SlackSecretKind, error: unknown): string {
  const cause =
    error instanceof GetParameterError && error.cause instanceof Error ? error.cause : error;
  const detail =
    cause instanceof Error
      ? `${cause.name === "Error" ? "" : `${cause.name}: `}${cause.message}`
      : String(cause);
  return `could not read the Slack ${kind} from ${secretArn}: ${detail}`;
}
