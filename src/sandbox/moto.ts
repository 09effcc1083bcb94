/**
 * moto server (the Python AWS emulator) as a child process: the sandbox's and the tests' EC2.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { resolve as absolute } from "node:path";

export interface MotoServer {
  /** http://127.0.0.1:PORT, for an SDK client's `endpoint`. */
  endpoint: string;
  port: number;
  /** Requests replayed from `recording` at start (0: EC2 starts empty). */
  replayed: number;
  /** Kills the server and waits for it to exit. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartMotoOptions {
  /** The port to listen on; a free one is picked when absent. */
  port?: number;
  /** How long to wait for the server to answer HTTP, in milliseconds. Default 15 000. */
  startTimeoutMs?: number;
  /** The Python to run moto with. Default "python3" (from PATH). */
  python?: string;
  /**
   * Keep EC2 across restarts: moto's request recorder appends every request to this file, and a
   * start replays it, with moto's ids made deterministic first (`/moto-api/seed`), so each
   * resource comes back under the id it had.
   */
  recording?: string;
}

/** The seed of moto's ids when it records: the same before every replay, so ids repeat. */
const RECORDING_SEED = 20190101;

const HOST = "127.0.0.1";
const NOT_INSTALLED = "moto server is not installed: pip install 'moto[server]'";
const OUTPUT_LINES_KEPT = 20;

/**
 * `python3 -m moto.server ARGS`, plus a thread that ends the server when its stdin closes: that
 * is, when this process is gone, even killed by a signal that runs no exit handler.
 */
const RUN_MOTO_SERVER = `
import os, runpy, sys, threading
def exit_with_parent():
    while os.read(0, 4096):
        pass
    os._exit(0)
threading.Thread(target=exit_with_parent, daemon=True).start()
sys.argv[0] = "moto.server"
runpy.run_module("moto.server", run_name="__main__", alter_sys=True)
`;

function motoInstalled(python: string): boolean {
  // moto.server needs the [server] extras (flask, ...), which a bare `pip install moto` lacks.
  const r = spawnSync(python, ["-c", "import moto, moto.server"], { stdio: "ignore" });
  return r.error === undefined && r.status === 0;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("could not pick a free port"));
      });
    });
  });
}

async function answersHttp(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1_000) });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts moto as `python3 -m moto.server -H 127.0.0.1 -p PORT` would, and resolves once it
 * answers HTTP. The server is killed by `stop()`, and ends with this process however it ends. Rejects with "moto server is not
 * installed: ..." when Python cannot import moto's server.
 */
export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const python = options.python ?? "python3";
  if (!motoInstalled(python)) throw new Error(NOT_INSTALLED);
  const port = options.port ?? (await freePort());
  const endpoint = `http://${HOST}:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);

  const child = spawn(python, ["-c", RUN_MOTO_SERVER, "-H", HOST, "-p", String(port)], {
    stdio: ["pipe", "pipe", "pipe"],
    env: {
      ...process.env,
      // Recording starts only once the replay is done (see replayRecording).
      ...(options.recording ? { MOTO_RECORDER_FILEPATH: absolute(options.recording) } : {}),
    },
  });
  // moto logs every request: keep draining its output (a full pipe would block it) and keep the
  // last lines to explain a failed start.
  const lastLines: string[] = [];
  const keep = (chunk: Buffer) => {
    lastLines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    lastLines.splice(0, Math.max(0, lastLines.length - OUTPUT_LINES_KEPT));
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.stdin?.on("error", () => {}); // EPIPE when the server is already gone: nothing to do
  let spawnError: Error | undefined;
  child.on("error", (e) => {
    spawnError = e;
  });

  const killOnExit = () => {
    if (!exited(child)) child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.removeListener("exit", killOnExit);
      if (exited(child)) return;
      child.stdin?.end(); // the quickest way out: see RUN_MOTO_SERVER
      child.kill("SIGTERM");
      if (!(await waitForExit(child, 5_000))) {
        child.kill("SIGKILL");
        await waitForExit(child, 5_000);
      }
    })();
    return stopping;
  };

  const failure = (why: string): Error => {
    const output = lastLines.length ? `\n${lastLines.join("\n")}` : "";
    return new Error(`moto server on port ${port} ${why}${output}`);
  };

  while (true) {
    if (spawnError) {
      await stop();
      throw failure(`could not start: ${spawnError.message}`);
    }
    if (exited(child)) {
      await stop();
      throw failure(`exited with ${child.exitCode ?? child.signalCode} before answering`);
    }
    // Checked again after the probe: another process on a given port could have answered.
    if ((await answersHttp(endpoint)) && !exited(child)) break;
    if (Date.now() > deadline) {
      await stop();
      throw failure(`did not answer HTTP within ${options.startTimeoutMs ?? 15_000} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  let replayed = 0;
  if (options.recording) {
    try {
      replayed = await replayRecording(endpoint, options.recording);
    } catch (err) {
      await stop();
      throw failure(`could not replay ${options.recording}: ${String(err)}`);
    }
  }
  return { endpoint, port, replayed, stop };
}

async function motoApi(endpoint: string, path: string): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/${path}`, { method: "POST" });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`POST /moto-api/${path} answered ${res.status}`);
}

/**
 * Seeds moto's ids, replays what the file recorded (moto sends each request to itself again, in
 * order; the replay itself is not recorded), then records from here on. Returns how many
 * requests were replayed.
 */
async function replayRecording(endpoint: string, file: string): Promise<number> {
  await motoApi(endpoint, `seed?a=${RECORDING_SEED}`);
  const recorded = existsSync(file)
    ? (await readFile(file, "utf8")).split("\n").filter(Boolean)
    : [];
  if (recorded.length > 0) await motoApi(endpoint, "recorder/replay-recording");
  await motoApi(endpoint, "recorder/start-recording");
  return recorded.length;
}
