/**
 * What `npm start` checks before it starts anything, so that a clash is one plain sentence
 * instead of a stack trace after the set-up: another sandbox already using the data folder, and
 * ports already taken (naming the variable that moves each).
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";

export class PreflightError extends Error {
  override readonly name = "PreflightError";
}

export const LOCK_FILE = "sandbox.pid";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Claims `dataDir` for this process (its pid in dataDir/sandbox.pid). A lock left by a process
 * that is gone is taken over. Returns the release function.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = join(dataDir, LOCK_FILE);
  const held = Number.parseInt(await readFile(file, "utf8").catch(() => ""), 10);
  if (Number.isInteger(held) && held !== process.pid && alive(held)) {
    throw new PreflightError(
      `another sandbox (pid ${held}) is running from ${dataDir}/: stop it first (Ctrl-C in its terminal, or kill ${held})`,
    );
  }
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, String(process.pid));
  return () => rm(file, { force: true });
}

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** Fails with one line per taken port, each naming its variable. Port 0 (any) is never taken. */
export async function checkPorts(
  ports: readonly { variable: string; port: number }[],
  host = "127.0.0.1",
): Promise<void> {
  const taken: string[] = [];
  for (const { variable, port } of ports) {
    if (port !== 0 && !(await portFree(port, host))) {
      taken.push(
        `port ${port} (${variable}) is in use: set ${variable} to a free port, or 0 for any`,
      );
    }
  }
  if (taken.length > 0) throw new PreflightError(taken.join("\n"));
}
