/** Reading untyped JSON (CloudTrail records, events): the few guards every parser here shares. */

export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A non-empty string, or undefined. */
export const str = (v: unknown): string | undefined =>
  typeof v === "string" && v !== "" ? v : undefined;
