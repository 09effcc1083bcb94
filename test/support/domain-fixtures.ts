/**
 * CloudTrail fixtures for the domain and CLI tests: the list of files, loading one, and parsing one
 * into the change it must be.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Change } from "../../src/domain/change.js";
import {
  GroupNamedOnlyError,
  type ParseResult,
  parseCloudTrailEvent,
  withGroupId,
} from "../../src/domain/cloudtrail.js";

export type Json = Record<string, unknown>;

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLOUDTRAIL_FIXTURES = join(REPO_ROOT, "test", "fixtures", "cloudtrail");

/** Every CloudTrail fixture, as "<folder>/<file>.json" relative to the fixtures folder, sorted. */
export function cloudTrailFixtureNames(): string[] {
  const names: string[] = [];
  for (const dir of readdirSync(CLOUDTRAIL_FIXTURES, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const file of readdirSync(join(CLOUDTRAIL_FIXTURES, dir.name))) {
      if (file.endsWith(".json")) names.push(`${dir.name}/${file}`);
    }
  }
  return names.sort();
}

/**
 * Every CloudTrail event fixture at any depth, as paths relative to the fixtures folder, sorted:
 * cloudTrailFixtureNames' and the calls that widen rules without naming one
 * (widening/ModifyManagedPrefixList/…), which the rule parser does not read. What `explain` runs on.
 */
export function allCloudTrailFixtureNames(): string[] {
  return readdirSync(CLOUDTRAIL_FIXTURES, { recursive: true, encoding: "utf8" })
    .map((path) => path.split(sep).join("/"))
    .filter((path) => path.endsWith(".json"))
    .sort();
}

export function fixturePath(name: string): string {
  return join(CLOUDTRAIL_FIXTURES, name);
}

/** A fresh copy of a fixture (tests may mutate it). */
export function loadFixture(name: string): Json {
  return JSON.parse(readFileSync(fixturePath(name), "utf8")) as Json;
}

/** The fixture's CloudTrail record (the envelope's `detail`). */
export function detailOf(event: Json): Json {
  return event.detail as Json;
}

/** The change a fixture parses to; fails the test when the parser ignored it. */
export function fixtureChange(name: string): Change {
  const result = parseFixture(name);
  if (result.ignored) throw new Error(`${name} was ignored: ${result.reason}`);
  return result.change;
}

/** The id a member finds for the default VPC's group named "default" in these tests. */
export const DEFAULT_GROUP_ID = "sg-0d1e2f3a4b5c6d7e8";

/** Parses a fixture as a member would: a group named only by name is looked up (as DEFAULT_GROUP_ID). */
export function parseFixture(name: string): ParseResult {
  const event = loadFixture(name);
  try {
    return parseCloudTrailEvent(event);
  } catch (err) {
    if (!(err instanceof GroupNamedOnlyError)) throw err;
    return parseCloudTrailEvent(withGroupId(event, DEFAULT_GROUP_ID));
  }
}

/** The customer-managed prefix list of the ModifyManagedPrefixList fixtures (add-remove-cli.json). */
export const PARTNER_LIST = "pl-04b7e2c9a1d3f5e68";

/**
 * Two rules of the region naming the partner list, as describe-security-group-rules lists them:
 * SSH in to one group, HTTPS out of another.
 */
export const PARTNER_LIST_RULES = [
  {
    SecurityGroupRuleId: "sgr-0a1b2c3d4e5f60001",
    GroupId: "sg-0aaaaaaaaaaaaaaa1",
    IsEgress: false,
    IpProtocol: "tcp",
    FromPort: 22,
    ToPort: 22,
    PrefixListId: PARTNER_LIST,
    Description: "partner ssh",
  },
  {
    SecurityGroupRuleId: "sgr-0a1b2c3d4e5f60002",
    GroupId: "sg-0bbbbbbbbbbbbbbb2",
    IsEgress: true,
    IpProtocol: "tcp",
    FromPort: 443,
    ToPort: 443,
    PrefixListId: PARTNER_LIST,
    Description: "partner api",
  },
] as const;
