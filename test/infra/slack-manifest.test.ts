import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../infra/handler.js";
import { API_STAGE, SLACK_ACTIONS_PATH } from "../../infra/names.js";

const manifest = readFileSync(join(REPO_ROOT, "slack", "manifest.yaml"), "utf8");

/** The indented block under a "key:" line, without comments (enough YAML for this file). */
function block(key: string): string[] {
  const lines = manifest
    .split("\n")
    .filter((l) => !l.trimStart().startsWith("#") && l.trim() !== "");
  const start = lines.findIndex((l) => l.trim() === `${key}:`);
  if (start < 0) throw new Error(`no ${key}: in the manifest`);
  const indent = (lines[start] ?? "").search(/\S/);
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.search(/\S/) <= indent) break;
    out.push(line.trim());
  }
  return out;
}

describe("slack/manifest.yaml", () => {
  it("asks for exactly the bot scopes the app uses, and no user scopes", () => {
    expect(block("bot")).toEqual([
      "- chat:write",
      "- users:read",
      "- users:read.email",
      "- usergroups:read",
    ]);
    expect(manifest).not.toMatch(/^\s+user:/m);
  });

  it("enables interactivity at the API's stage and route, and subscribes to no events", () => {
    expect(block("interactivity")).toEqual([
      "is_enabled: true",
      `request_url: https://<api-id>.execute-api.<region>.amazonaws.com/${API_STAGE}/${SLACK_ACTIONS_PATH.join("/")}`,
    ]);
    expect(manifest).not.toMatch(/event_subscriptions|slash_commands|socket_mode_enabled: true/);
  });

  it("keeps the bot token from expiring and names the bot within Slack's limits", () => {
    expect(manifest).toMatch(/^\s+token_rotation_enabled: false$/m);
    const name = /^\s+name: (.+)$/m.exec(manifest)?.[1] ?? "";
    expect(name.length).toBeLessThanOrEqual(35);
    const display = /^\s+display_name: (.+)$/m.exec(manifest)?.[1] ?? "";
    expect(display).toMatch(/^[a-z0-9._-]{1,80}$/);
    const description = /^\s+description: (.+)$/m.exec(manifest)?.[1] ?? "";
    expect(description.length).toBeLessThanOrEqual(140);
  });
});
