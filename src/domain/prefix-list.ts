/**
 * ModifyManagedPrefixList: a customer-managed prefix list's entries changed, and every
 * security-group rule naming the list changed with it, though no group's rules did. Pure: the
 * event is parsed here, the list's facts and the rules that name it are handed in, and the change
 * to file (or why it is ignored) comes out. The revert and the apply are plan.ts's
 * (`modifyPrefixList`: remove what was added, add back what was removed).
 *
 * The event (CloudTrail keeps this API's request in its PascalCase wrapper, as for
 * ModifySecurityGroupRules):
 *   requestParameters.ModifyManagedPrefixListRequest = {
 *     PrefixListId, CurrentVersion?, PrefixListName?, MaxEntries?,
 *     AddEntry?: {Cidr|cidr, Description?, tag} | [...],   one entry an object, several an array
 *     RemoveEntry?: {Cidr|cidr, tag} | [...]
 *   }
 * A plain camelCase form (`prefixListId`, `addEntries`/`addEntrySet`, `{items: [...]}`) is read
 * too. See test/fixtures/cloudtrail/PROVENANCE.md for what was seen in real records.
 */
import type { PrefixListChange, PrefixListEntry, PrefixListReference } from "./change.js";
import { MalformedEventError, PREFIX_LIST_EVENT_NAME, validateChange } from "./cloudtrail.js";
import { readRecordHeader } from "./cloudtrail-record.js";
import { isObject, type Json, str } from "./json.js";
import { type Requester, requesterFromCloudTrail } from "./requester.js";
import type { Rule } from "./rule.js";

/** What the event says: the list and the entries it added and removed. */
export interface PrefixListModification {
  eventName: typeof PREFIX_LIST_EVENT_NAME;
  eventId: string;
  eventTime: string;
  account: string;
  region: string;
  requester: Requester;
  prefixListId: string;
  fromVersion?: number;
  added: PrefixListEntry[];
  removed: PrefixListEntry[];
}

export type PrefixListParse =
  | { ignored: true; reason: string; eventId?: string }
  | { ignored: false; modification: PrefixListModification };

/** The list as DescribeManagedPrefixLists shows it. */
export interface PrefixListFacts {
  prefixListId: string;
  name?: string;
  /** The owning account's id, or "AWS" for an AWS-managed list. */
  ownerId?: string;
  version?: number;
  state?: string;
}

/** AWS-managed lists (com.amazonaws.*, owner "AWS") cannot be changed by a customer at all. */
export function isAwsManaged(list: Pick<PrefixListFacts, "name" | "ownerId">): boolean {
  return list.ownerId === "AWS" || (list.name ?? "").startsWith("com.amazonaws.");
}

/** A list CloudTrail wrote as one object, an array, `{items: [...]}` or `{}`. */
function entriesOf(value: unknown, where: string): Json[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value)
    ? value
    : isObject(value) && Array.isArray(value.items)
      ? value.items
      : isObject(value) && Object.keys(value).length === 0
        ? []
        : [value];
  return list.map((v, i) => {
    if (!isObject(v)) throw new MalformedEventError(`${where}[${i}] is not an object`);
    return v;
  });
}

function entry(item: Json, where: string, withDescription: boolean): PrefixListEntry {
  const cidr = str(item.Cidr) ?? str(item.cidr);
  if (!cidr) throw new MalformedEventError(`${where} has no Cidr`);
  const description = str(item.Description) ?? str(item.description);
  return withDescription && description !== undefined ? { cidr, description } : { cidr };
}

function version(v: unknown): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new MalformedEventError(`CurrentVersion is ${JSON.stringify(v)}: not a version number`);
  return n;
}

/**
 * The entries moved by a ModifyManagedPrefixList event, or why it is ignored (another call, a
 * failed call, a rename or resize that moves no entry). A bare CloudTrail record is accepted too.
 */
export function parsePrefixListEvent(event: unknown): PrefixListParse {
  const read = readRecordHeader(event, PREFIX_LIST_EVENT_NAME, "nothing changed");
  if (read.ignored) return read;
  const { detail, eventName, eventId, eventTime, account, region } = read.header;
  const ignore = (reason: string): PrefixListParse => ({ ignored: true, reason, eventId });
  const params = detail.requestParameters;
  if (!isObject(params)) throw new MalformedEventError(`${eventName} has no requestParameters`);
  const req = isObject(params.ModifyManagedPrefixListRequest)
    ? params.ModifyManagedPrefixListRequest
    : params;
  const prefixListId = str(req.PrefixListId) ?? str(req.prefixListId);
  if (!prefixListId) throw new MalformedEventError(`${eventName} has no PrefixListId`);
  const added = entriesOf(
    req.AddEntry ?? req.AddEntries ?? req.addEntries ?? req.addEntrySet,
    "AddEntry",
  ).map((e, i) => entry(e, `AddEntry[${i}]`, true));
  const removed = entriesOf(
    req.RemoveEntry ?? req.RemoveEntries ?? req.removeEntries ?? req.removeEntrySet,
    "RemoveEntry",
  ).map((e, i) => entry(e, `RemoveEntry[${i}]`, false));
  if (added.length === 0 && removed.length === 0)
    return ignore(`${eventName} on ${prefixListId} moved no entry (a rename or a resize)`);
  const fromVersion = version(req.CurrentVersion ?? req.currentVersion);
  return {
    ignored: false,
    modification: {
      eventName: PREFIX_LIST_EVENT_NAME,
      eventId,
      eventTime,
      account,
      region,
      requester: requesterFromCloudTrail(detail),
      prefixListId,
      ...(fromVersion !== undefined ? { fromVersion } : {}),
      added,
      removed,
    },
  };
}

/** Every rule of `rules` (one group's or many) that names the list. */
export function referencesTo(
  prefixListId: string,
  rules: readonly { groupId: string; rule: Rule }[],
  groupNames: ReadonlyMap<string, string> = new Map(),
): PrefixListReference[] {
  const byGroup = new Map<string, Rule[]>();
  for (const { groupId, rule } of rules) {
    if (rule.peer.kind !== "prefixList" || rule.peer.prefixListId !== prefixListId) continue;
    byGroup.set(groupId, [...(byGroup.get(groupId) ?? []), rule]);
  }
  return [...byGroup.keys()].sort().map((groupId) => {
    const name = groupNames.get(groupId);
    return { groupId, ...(name ? { groupName: name } : {}), rules: byGroup.get(groupId) ?? [] };
  });
}

export type PrefixListDecision =
  | { ignored: true; reason: string }
  | { ignored: false; change: PrefixListChange };

/** Why nothing is filed for the list whatever names it (gone, AWS-managed), or undefined. */
export function unfitPrefixList(
  prefixListId: string,
  list: PrefixListFacts | undefined,
): string | undefined {
  if (!list) return `prefix list ${prefixListId} no longer exists`;
  if (isAwsManaged(list))
    return `${prefixListId} is an AWS-managed prefix list, not the customer's`;
  return undefined;
}

/** Why a list that no governed group's rule names is not filed. */
export function unreferencedReason(prefixListId: string): string {
  return `no governed security group rule names ${prefixListId}: its entries widen no governed rule`;
}

/**
 * The change to file, or why there is none: the list is gone, AWS-managed, or named by no
 * governed group's rule (then it widens nothing this member governs). The event's entries are
 * taken as they are: the request names only entries it moves (a CIDR already in the list, or
 * not in it, makes EC2 refuse the call, which is then ignored as failed).
 */
export function prefixListChange(
  modification: PrefixListModification,
  list: PrefixListFacts | undefined,
  references: readonly PrefixListReference[],
): PrefixListDecision {
  const id = modification.prefixListId;
  const unfit = unfitPrefixList(id, list);
  if (unfit) return { ignored: true, reason: unfit };
  const governed = references.filter((r) => r.rules.length > 0);
  const first = governed[0];
  if (!first) return { ignored: true, reason: unreferencedReason(id) };
  return {
    ignored: false,
    change: prefixListChangeOf(modification, list, governed, first.groupId),
  };
}

/**
 * The change as filed: the list's entries moved, naming `references`, held by `groupId` (the
 * first referencing group's). prefixListChange decides whether there is one; `explain` also
 * builds it before it knows the references.
 */
export function prefixListChangeOf(
  modification: PrefixListModification,
  list: Pick<PrefixListFacts, "name"> | undefined,
  references: readonly PrefixListReference[],
  groupId: string,
): PrefixListChange {
  const change: PrefixListChange = {
    eventName: modification.eventName,
    eventId: modification.eventId,
    eventTime: modification.eventTime,
    account: modification.account,
    region: modification.region,
    requester: modification.requester,
    groupId,
    kind: "prefixList",
    prefixListId: modification.prefixListId,
    ...(list?.name ? { prefixListName: list.name } : {}),
    ...(modification.fromVersion !== undefined ? { fromVersion: modification.fromVersion } : {}),
    added: modification.added,
    removed: modification.removed,
    references: references.map((r) => ({ ...r, rules: [...r.rules] })),
  };
  validateChange(change);
  return change;
}

/**
 * The list as the call's response reports it (ModifyManagedPrefixListResponse.prefixList: its
 * name and owner), or undefined when the record has none. The member asks EC2 instead
 * (DescribeManagedPrefixLists); `explain`, offline, has only this.
 */
export function reportedPrefixList(event: unknown): PrefixListFacts | undefined {
  if (!isObject(event)) return undefined;
  const detail = isObject(event.detail) ? event.detail : event;
  const response = isObject(detail.responseElements) ? detail.responseElements : undefined;
  const wrapped = isObject(response?.ModifyManagedPrefixListResponse)
    ? response.ModifyManagedPrefixListResponse
    : response;
  const list = isObject(wrapped?.prefixList) ? wrapped.prefixList : undefined;
  const prefixListId = list && (str(list.prefixListId) ?? str(list.PrefixListId));
  if (!list || !prefixListId) return undefined;
  const name = str(list.prefixListName) ?? str(list.PrefixListName);
  const ownerId = str(list.ownerId) ?? str(list.OwnerId);
  return { prefixListId, ...(name ? { name } : {}), ...(ownerId ? { ownerId } : {}) };
}
