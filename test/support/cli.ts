/** Running the operator CLI in tests: in this process (its `main`), or as a user runs it. */
import { spawn } from "node:child_process";
import { type MockInstance, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { REPO_ROOT } from "./domain-fixtures.js";

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const written = (spy: MockInstance<(chunk: string | Uint8Array) => boolean>) =>
  spy.mock.calls.map((c) => String(c[0])).join("");

/** `main(args)` with stdout and stderr captured for this call. */
export async function runInProcess(args: string[]): Promise<Run> {
  const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    const code = await main(args);
    return { code, stdout: written(out), stderr: written(err) };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** The real CLI, as a user runs it: `node bin/secgroup-approval.mjs ...`. */
export function runCli(args: string[], stdin?: string | Uint8Array): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["bin/secgroup-approval.mjs", ...args], {
      cwd: REPO_ROOT,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}
