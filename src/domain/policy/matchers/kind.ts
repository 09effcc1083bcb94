/**
 * `kind`: the change is an add, a remove, a modify (in place), a drift (no event), a `create`
 * (CreateSecurityGroup: the new group's default egress rule, kept unless a rule revokes it) or a
 * `prefixList` (ModifyManagedPrefixList: every rule naming the list widens or narrows).
 */
import * as z from "zod";
import type { Change } from "../../change.js";
import { CREATE_GROUP_EVENT_NAME } from "../../cloudtrail.js";
import { type ChangeMatcher, joined, list, type OneOrMany, oneOrMany } from "./matcher.js";

export const KINDS = ["add", "remove", "modify", "drift", "create", "prefixList"] as const;
type Kind = (typeof KINDS)[number];

/**
 * The kind a policy sees: a group's creation is `create`, not `add`, so that a rule about added
 * rules never revokes every new group's default egress by surprise. A rule naming no kind still
 * matches a creation (a descriptionMissing rule does: the default egress has no description), so
 * such a rule names the kinds it is about, as policy.example.json's rules-need-description and
 * the description switch (legacy.ts) do.
 */
export function policyKind(change: Change): Kind {
  return change.eventName === CREATE_GROUP_EVENT_NAME ? "create" : change.kind;
}

export const kind: ChangeMatcher<OneOrMany<Kind>> = {
  key: "kind",
  level: "change",
  schema: oneOrMany(
    z.enum(KINDS, {
      error: 'expected "add", "remove", "modify", "drift", "create" or "prefixList"',
    }),
    "a change kind",
  ),
  test: (kinds, { change }) => list(kinds).includes(policyKind(change)),
  describe: (kinds) => `kind ${joined(kinds)}`,
};
