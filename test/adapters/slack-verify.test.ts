import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  readSlackHeaders,
  SlackVerificationError,
  type SlackVerificationReason,
  signSlackRequest,
  type VerifySlackRequestInput,
  verifySlackRequest,
} from "../../src/adapters/slack/verify.js";

const SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const NOW_MS = 1_732_363_200_000;
const TS = String(NOW_MS / 1000);
const BODY = `payload=${encodeURIComponent(JSON.stringify({ type: "block_actions", user: { id: "U0BOB" } }))}`;

function signed(overrides: Partial<VerifySlackRequestInput> = {}): VerifySlackRequestInput {
  return {
    signingSecret: SECRET,
    rawBody: BODY,
    timestamp: TS,
    signature: signSlackRequest({ signingSecret: SECRET, rawBody: BODY, timestamp: TS }),
    nowMs: NOW_MS,
    ...overrides,
  };
}

function reasonOf(input: VerifySlackRequestInput): SlackVerificationReason | "ok" {
  try {
    verifySlackRequest(input);
    return "ok";
  } catch (error) {
    if (error instanceof SlackVerificationError) return error.reason;
    throw error;
  }
}

describe("verifySlackRequest", () => {
  it("accepts a correctly signed, fresh request", () => {
    expect(() => verifySlackRequest(signed())).not.toThrow();
  });

  it("matches Slack's documented example signature", () => {
    // docs.slack.dev/authentication/verifying-requests-from-slack: the worked example.
    const rawBody =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V" +
      "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=" +
      "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN" +
      "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const input = { signingSecret: SECRET, rawBody, timestamp: 1531420618 };
    expect(signSlackRequest(input)).toBe(
      "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    );
    expect(() =>
      verifySlackRequest({ ...input, signature: signSlackRequest(input), nowMs: 1531420618_000 }),
    ).not.toThrow();
  });

  it("accepts the body as bytes", () => {
    expect(reasonOf(signed({ rawBody: Buffer.from(BODY, "utf8") }))).toBe("ok");
  });

  it("rejects a signature made with another secret", () => {
    const signature = signSlackRequest({
      signingSecret: "not-the-secret",
      rawBody: BODY,
      timestamp: TS,
    });
    expect(reasonOf(signed({ signature }))).toBe("bad_signature");
  });

  it("tolerates 300 s of skew either way and no more", () => {
    expect(reasonOf(signed({ nowMs: NOW_MS + 300_000 }))).toBe("ok");
    expect(reasonOf(signed({ nowMs: NOW_MS - 300_000 }))).toBe("ok");
    expect(reasonOf(signed({ nowMs: NOW_MS + 301_000 }))).toBe("stale");
    expect(reasonOf(signed({ nowMs: NOW_MS - 301_000 }))).toBe("stale");
  });

  it("says how stale, past or future", () => {
    expect(() => verifySlackRequest(signed({ nowMs: NOW_MS + 301_000 }))).toThrow(/301 s old/);
    expect(() => verifySlackRequest(signed({ nowMs: NOW_MS - 301_000 }))).toThrow(
      /301 s in the future/,
    );
  });

  it("rejects missing headers, naming them", () => {
    expect(reasonOf(signed({ signature: undefined }))).toBe("missing_headers");
    expect(reasonOf(signed({ timestamp: "" }))).toBe("missing_headers");
    expect(() => verifySlackRequest(signed({ signature: null, timestamp: null }))).toThrow(
      "missing header x-slack-signature and x-slack-request-timestamp",
    );
  });

  it("rejects a body altered after signing", () => {
    expect(reasonOf(signed({ rawBody: BODY.replace("U0BOB", "U0EVE") }))).toBe("bad_signature");
    expect(reasonOf(signed({ rawBody: `${BODY}&x=1` }))).toBe("bad_signature");
  });

  it("rejects a timestamp other than the one signed", () => {
    expect(reasonOf(signed({ timestamp: String(Number(TS) + 1) }))).toBe("bad_signature");
  });

  it("rejects a signature with another version prefix", () => {
    const v0 = signSlackRequest({ signingSecret: SECRET, rawBody: BODY, timestamp: TS });
    expect(reasonOf(signed({ signature: v0.replace(/^v0=/, "v1=") }))).toBe("bad_signature");
    expect(() => verifySlackRequest(signed({ signature: v0.replace(/^v0=/, "v1=") }))).toThrow(
      /version "v1"/,
    );
  });

  it("rejects malformed headers", () => {
    const hex = signSlackRequest({ signingSecret: SECRET, rawBody: BODY, timestamp: TS }).slice(3);
    expect(reasonOf(signed({ signature: hex }))).toBe("malformed");
    expect(reasonOf(signed({ signature: "v0=abc" }))).toBe("malformed");
    expect(reasonOf(signed({ signature: `v0=${"z".repeat(64)}` }))).toBe("malformed");
    expect(reasonOf(signed({ timestamp: "1732363200.5" }))).toBe("malformed");
    expect(reasonOf(signed({ timestamp: "-1" }))).toBe("malformed");
    expect(reasonOf(signed({ timestamp: "soon" }))).toBe("malformed");
  });

  it("accepts upper-case hex", () => {
    const signature = signSlackRequest({ signingSecret: SECRET, rawBody: BODY, timestamp: TS });
    expect(reasonOf(signed({ signature: `v0=${signature.slice(3).toUpperCase()}` }))).toBe("ok");
  });

  it("refuses to verify with an empty secret (a configuration error, not a bad request)", () => {
    const error = (() => {
      try {
        verifySlackRequest(signed({ signingSecret: "" }));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(SlackVerificationError);
  });

  it("property: what is signed verifies; any single-byte change to the body fails", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.string({ minLength: 1, maxLength: 64 }),
        fc.integer({ min: 1_000_000_000, max: 9_999_999_999 }),
        fc.integer({ min: -300, max: 300 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (body, secret, ts, skew, at, flip) => {
          const rawBody = Buffer.from(body);
          const signature = signSlackRequest({ signingSecret: secret, rawBody, timestamp: ts });
          const input = {
            signingSecret: secret,
            rawBody,
            signature,
            timestamp: String(ts),
            nowMs: (ts + skew) * 1000,
          };
          expect(reasonOf(input)).toBe("ok");

          const altered = Buffer.from(rawBody);
          const i = at % altered.length;
          altered[i] = (altered[i] ?? 0) ^ flip;
          expect(reasonOf({ ...input, rawBody: altered })).toBe("bad_signature");
        },
      ),
      { numRuns: 500 },
    );
  });

  it("property: string bodies round-trip too (UTF-8, as Slack sends them)", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 200 }),
        fc.string({ minLength: 1 }),
        (body, secret) => {
          const signature = signSlackRequest({
            signingSecret: secret,
            rawBody: body,
            timestamp: TS,
          });
          expect(
            reasonOf({
              signingSecret: secret,
              rawBody: body,
              signature,
              timestamp: TS,
              nowMs: NOW_MS,
            }),
          ).toBe("ok");
          expect(
            reasonOf({
              signingSecret: secret,
              rawBody: Buffer.from(body, "utf8"),
              signature,
              timestamp: TS,
              nowMs: NOW_MS,
            }),
          ).toBe("ok");
        },
      ),
    );
  });
});

describe("readSlackHeaders", () => {
  it("finds the headers in any letter case", () => {
    expect(
      readSlackHeaders({
        "X-Slack-Signature": "v0=ab",
        "x-slack-request-timestamp": "1",
        Host: "h",
      }),
    ).toEqual({ signature: "v0=ab", timestamp: "1" });
    expect(readSlackHeaders({ "X-SLACK-SIGNATURE": ["v0=cd", "v0=ef"] })).toEqual({
      signature: "v0=cd",
      timestamp: undefined,
    });
    expect(readSlackHeaders(null)).toEqual({ signature: undefined, timestamp: undefined });
  });
});
