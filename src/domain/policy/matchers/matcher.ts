/**
 * What a matcher is: a key of a rule's `match`, the zod schema of its value, and a pure test.
 * A change-level matcher looks at the change and the facts; a rule-level one at one rule of the
 * change at a time (the rule's quantifier says whether all or any of them must match).
 */
import * as z from "zod";
import { arnGlobMatches } from "../../requester.js";
import type { MatchContext, PolicyFacts, RuleView } from "../types.js";

interface MatcherBase<C> {
  key: string;
  schema: z.ZodType<C>;
  /** A short human summary of the config, for describePolicy ("ports 22, 3389"). */
  describe(config: C): string;
  /** The fact the matcher needs, when the facts may lack it (it does not match without it). */
  fact?: { label: string; known(facts: PolicyFacts): boolean };
}

export interface ChangeMatcher<C> extends MatcherBase<C> {
  level: "change";
  test(config: C, ctx: MatchContext): boolean;
}

export interface RuleMatcher<C> extends MatcherBase<C> {
  level: "rule";
  test(config: C, view: RuleView, ctx: MatchContext): boolean;
  /**
   * Why this config can match a rule wider than what it names (a range that merely overlaps):
   * such a matcher is refused in a permissive rule.
   */
  widening?(config: C): string | undefined;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds matchers of every config type
export type AnyMatcher = ChangeMatcher<any> | RuleMatcher<any>;

/** A value, or a non-empty list of them. */
export type OneOrMany<T> = T | T[];

export function oneOrMany<T extends z.ZodType>(item: T, what: string) {
  return z.union([item, z.array(item).min(1)], {
    error: `expected ${what}, or a non-empty list of them`,
  });
}

export function list<T>(x: OneOrMany<T> | readonly T[]): readonly T[] {
  return (Array.isArray(x) ? x : [x]) as readonly T[];
}

/** A glob as requester.ts reads ARN globs: `*` any run of characters, `?` one. */
export const glob = z.string().min(1, "a glob must not be empty");

export function anyGlob(patterns: OneOrMany<string>, value: string, caseless = false): boolean {
  const v = caseless ? value.toLowerCase() : value;
  return list(patterns).some((p) => arnGlobMatches(caseless ? p.toLowerCase() : p, v));
}

export const joined = (x: OneOrMany<string | number>) => list(x).join(", ");
