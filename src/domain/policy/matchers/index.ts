/**
 * Every matcher a rule's `match` may name, in the order describePolicy lists them. One small
 * file each (as cdk-nag keeps one rule per file), each with its own table test under
 * test/domain/policy/matchers/.
 */
import { account } from "./account.js";
import { descriptionMissing } from "./description-missing.js";
import { direction } from "./direction.js";
import { eventAgeOverSeconds } from "./event-age.js";
import { groupId } from "./group-id.js";
import { groupName } from "./group-name.js";
import { groupTags } from "./group-tags.js";
import { identityCenterUser } from "./identity-center-user.js";
import { kind } from "./kind.js";
import type { AnyMatcher } from "./matcher.js";
import { peer } from "./peer.js";
import { ports } from "./ports.js";
import { portsOverlap } from "./ports-overlap.js";
import { principal } from "./principal.js";
import { protocol } from "./protocol.js";
import { region } from "./region.js";
import { risk } from "./risk.js";
import { verified } from "./verified.js";
import { vpc } from "./vpc.js";

export const MATCHERS = {
  principal,
  identityCenterUser,
  verified,
  account,
  region,
  vpc,
  groupId,
  groupName,
  groupTags,
  kind,
  risk,
  eventAgeOverSeconds,
  direction,
  protocol,
  ports,
  portsOverlap,
  peer,
  descriptionMissing,
} as const;

export type MatcherKey = keyof typeof MATCHERS;

export const MATCHER_KEYS = Object.keys(MATCHERS) as MatcherKey[];

export function matcherFor(key: string): AnyMatcher | undefined {
  return Object.hasOwn(MATCHERS, key) ? (MATCHERS[key as MatcherKey] as AnyMatcher) : undefined;
}
