/**
 * Text for Slack mrkdwn: escaping user-controlled strings, cutting to a length without breaking an
 * entity or a `<…>` token, dates, and who did something.
 */
import type { Actor } from "../request.js";

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;" };
export const ELLIPSIS = "…";
const UNLIMITED = Number.POSITIVE_INFINITY;

/**
 * One line of display text: whitespace runs (newlines included) become one space; control and
 * format characters (bidi overrides, zero-width) go, so a string cannot fake extra lines.
 */
export function oneLine(raw: string): string {
  return raw
    .replace(/\s+/gu, " ")
    .replace(/[\p{Cc}\p{Cf}]/gu, "")
    .trim();
}

/**
 * A user-controlled string made safe for mrkdwn: one line, `&`, `<` and `>` escaped (so it cannot
 * form a mention, a link or a `<!here>`), and at most `max` characters once escaped, ending in "…"
 * when cut. An entity is never cut in half.
 */
export function mrkdwnText(raw: string, max: number = UNLIMITED): string {
  const clean = oneLine(raw);
  const whole = clean.replace(/[&<>]/g, (c) => ENTITIES[c] ?? c);
  if (whole.length <= max) return whole;
  let out = "";
  for (const ch of clean) {
    const piece = ENTITIES[ch] ?? ch;
    if (out.length + piece.length > max - ELLIPSIS.length) break;
    out += piece;
  }
  return `${out}${ELLIPSIS}`;
}

/** A user-controlled string as inline code: backticks cannot close it early. */
export function mrkdwnCode(raw: string, max: number = UNLIMITED): string {
  return `\`${mrkdwnText(raw.replaceAll("`", "'"), max - 2)}\``;
}

/**
 * Cuts already-built mrkdwn to `max` characters, ending in "…", without leaving half an entity
 * (`&amp;`), half a `<…>` token (mention, date) or half a surrogate pair.
 */
export function clampMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - ELLIPSIS.length));
  const amp = cut.lastIndexOf("&");
  if (amp > cut.lastIndexOf(";")) cut = cut.slice(0, amp);
  const lt = cut.lastIndexOf("<");
  if (lt > cut.lastIndexOf(">")) cut = cut.slice(0, lt);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `${cut}${ELLIPSIS}`;
}

/** Plain text (header, button) cut to `max` characters. */
export function clampPlain(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max - ELLIPSIS.length);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `${cut}${ELLIPSIS}`;
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** Epoch milliseconds of an ISO-8601 timestamp from 1970 on; undefined for anything else. */
function isoMillis(iso: string): number | undefined {
  if (!ISO_8601.test(iso)) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) || ms < 0 ? undefined : ms;
}

/** "2024-11-23 10:40:05 UTC", or undefined when `iso` is not an ISO-8601 timestamp. */
export function utcText(iso: string): string | undefined {
  const ms = isoMillis(iso);
  if (ms === undefined) return undefined;
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/**
 * A time for mrkdwn: Slack's date token, shown in each reader's own time zone, falling back to UTC.
 * A string that is not a date is shown escaped, as given.
 */
export function slackDate(iso: string): string {
  const ms = isoMillis(iso);
  const utc = utcText(iso);
  if (ms === undefined || utc === undefined) return mrkdwnText(iso, 64);
  const seconds = Math.floor(ms / 1000);
  return `<!date^${seconds}^{date_num} {time_secs}|${utc}>`;
}

/** A time for plain contexts (the notification text): UTC, or the escaped string. */
export function plainDate(iso: string): string {
  return utcText(iso) ?? mrkdwnText(iso, 64);
}

const SLACK_USER_ID = /^[UW][A-Z0-9]{2,30}$/;
const POLICY_PREFIX = "policy:";

export function isSlackUser(actor: Actor): boolean {
  return SLACK_USER_ID.test(actor.id);
}

/** The policy rule name of a "policy:<rule>" actor. */
export function policyRule(actor: Actor | undefined): string | undefined {
  return actor?.id.startsWith(POLICY_PREFIX) ? actor.id.slice(POLICY_PREFIX.length) : undefined;
}

/**
 * Who, in mrkdwn: `<@U123>` for a Slack user (the id is checked, so it cannot carry a token of its
 * own), "policy (<rule>)" for a policy decision, otherwise the escaped name or id.
 */
export function actorText(actor: Actor | undefined): string {
  if (!actor) return "someone";
  if (isSlackUser(actor)) return `<@${actor.id}>`;
  const rule = policyRule(actor);
  if (rule !== undefined) return `policy (${mrkdwnText(rule, 100)})`;
  return mrkdwnText(actor.name ?? actor.id, 100);
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
