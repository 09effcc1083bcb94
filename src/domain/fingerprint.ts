/**
 * A change's content as one canonical text: the same for the same change however its JSON was
 * ordered on the way (SNS, DynamoDB), different when anything that reaches EC2 differs. Who made
 * the change is left out, as the hub may learn it later (a drift joined by its event).
 */
import type { Change } from "./change.js";

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function canonicalChange(change: Change): string {
  const { requester: _who, ...content } = change;
  return canonical(content);
}
