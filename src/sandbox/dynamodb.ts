/**
 * DynamoDB for the sandbox and the tests: dynalite on 127.0.0.1, in this process, or in a process
 * of its own (dynalite-server.mjs) as the sandbox runs it, so that DynamoDB's work does not take
 * the handlers' thread.
 */
import { spawn } from "node:child_process";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import dynalite from "dynalite";
import { documentClient } from "../adapters/dynamodb/client.js";

export interface DynaliteOptions {
  /** LevelDB folder, for data that outlives the process; in memory when absent. */
  path?: string;
  /** 0 or absent: a free port. */
  port?: number;
  /** Run it in a child process (stopped with this one); default: in this process. */
  ownProcess?: boolean;
}

export interface RunningDynalite {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startDynalite(options: DynaliteOptions = {}): Promise<RunningDynalite> {
  if (options.ownProcess) return startDynaliteProcess(options);
  const server = dynalite(options.path ? { path: options.path } : {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const stop = () =>
    new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeIdleConnections();
    });
  return { endpoint: `http://127.0.0.1:${port}`, stop };
}

const SERVER_SCRIPT = fileURLToPath(new URL("./dynalite-server.mjs", import.meta.url));

/** dynalite-server.mjs as a child: ready once it prints its port; it ends when its stdin closes. */
async function startDynaliteProcess(options: DynaliteOptions): Promise<RunningDynalite> {
  const args = [SERVER_SCRIPT, "--port", String(options.port ?? 0)];
  if (options.path) args.push("--path", options.path);
  const child = spawn(process.execPath, args, {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once("error", reject);
    exited.then((code) =>
      reject(new Error(`dynalite exited (${code}) before listening: ${stderr.trim()}`)),
    );
  });
  const stop = async () => {
    if (child.exitCode === null) child.stdin.end();
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return { endpoint: `http://127.0.0.1:${port}`, stop };
}

export interface DynamoClients {
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
}

/** Clients for a local endpoint: us-east-1 and dummy credentials (dynalite checks neither). */
export function dynamoClients(endpoint: string): DynamoClients {
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  return { client, doc: documentClient(client) };
}
