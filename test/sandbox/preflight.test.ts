import { spawn } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkPorts, LOCK_FILE, lockDataDir, PreflightError } from "../../src/sandbox/preflight.js";

const listening = (): Promise<Server> =>
  new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => resolve(server));
  });

describe("npm start's preflight", () => {
  it("a second sandbox on the same data folder is told which process holds it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "preflight-"));
    const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
    try {
      await writeFile(join(dir, LOCK_FILE), String(other.pid));
      const refused = lockDataDir(dir);
      await expect(refused).rejects.toBeInstanceOf(PreflightError);
      await expect(refused).rejects.toThrow(
        `another sandbox (pid ${other.pid}) is running from ${dir}/: stop it first`,
      );
    } finally {
      other.kill();
    }
  });

  it("a lock left by a process that is gone is taken over, and released", async () => {
    const dir = await mkdtemp(join(tmpdir(), "preflight-"));
    const gone = spawn(process.execPath, ["-e", "0"]);
    await new Promise((r) => gone.once("exit", r));
    await writeFile(join(dir, LOCK_FILE), String(gone.pid));
    const release = await lockDataDir(dir);
    expect(await readFile(join(dir, LOCK_FILE), "utf8")).toBe(String(process.pid));
    await release();
    await expect(readFile(join(dir, LOCK_FILE), "utf8")).rejects.toThrow(/ENOENT/);
  });

  it("a taken port is named with the variable that moves it; port 0 is never taken", async () => {
    const server = await listening();
    const port = (server.address() as { port: number }).port;
    try {
      await expect(
        checkPorts([
          { variable: "SANDBOX_PORT", port },
          { variable: "EC2_PORT", port: 0 },
        ]),
      ).rejects.toThrow(
        `port ${port} (SANDBOX_PORT) is in use: set SANDBOX_PORT to a free port, or 0 for any`,
      );
    } finally {
      server.close();
    }
    await expect(checkPorts([{ variable: "SANDBOX_PORT", port }])).resolves.toBeUndefined();
  });
});
