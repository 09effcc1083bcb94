/**
 * CloudTrail fixtures for the domain and CLI tests: the list of files, loading one, and parsing one
 * into the change it must be.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Change } from "../../src/domain/change.js";
import { parseCloudTrailEvent } from "../../src/domain/cloudtrail.js";

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
  const result = parseCloudTrailEvent(loadFixture(name));
  if (result.ignored) throw new Error(`${name} was ignored: ${result.reason}`);
  return result.change;
}
