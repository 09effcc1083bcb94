/**
 * dynalite in a process of its own, for the sandbox (see dynamodb.ts): like DynamoDB, it runs
 * beside the handlers rather than on their thread, so its work (every call's parsing, the
 * expression grammar, LevelDB) takes the machine's other core instead of theirs.
 *
 *   node dynalite-server.mjs [--port N] [--path DIR]
 *
 * Listens on 127.0.0.1 (port 0: a free one), prints one line `{"port":N}` once listening, and
 * stops — closing its LevelDB, so nothing written is lost — when its parent closes its stdin
 * (the parent ended, however it ended) or on SIGTERM / SIGINT.
 */
import dynalite from "dynalite";

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const path = option("--path");
const server = dynalite(path ? { path } : {});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(1), 5_000).unref();
  server.close(() => process.exit(0));
  server.closeAllConnections();
};

server.once("error", (err) => {
  process.stderr.write(`dynalite: ${err.message}\n`);
  process.exit(1);
});
server.listen(Number(option("--port") ?? 0), "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.stdin.on("close", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
