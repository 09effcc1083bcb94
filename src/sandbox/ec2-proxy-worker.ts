/** The EC2 proxy's thread (see ec2-proxy-thread.ts): runs the proxy, posts its events back. */
import { parentPort, workerData } from "node:worker_threads";
import { startEc2Proxy } from "./ec2-proxy.js";
import type {
  FromProxyThread,
  ThreadedEc2ProxyOptions,
  ToProxyThread,
} from "./ec2-proxy-thread.js";

const port = parentPort;
if (!port) throw new Error("ec2-proxy-worker.ts runs as a worker thread");
const send = (message: FromProxyThread) => port.postMessage(message);
const options = (workerData as { options: Omit<ThreadedEc2ProxyOptions, "onEvent" | "onError"> })
  .options;

try {
  const proxy = await startEc2Proxy({
    ...options,
    onEvent: (event) => send({ type: "event", event }),
    onError: (error) => send({ type: "error", message: String(error) }),
  });
  port.on("message", async (m: ToProxyThread) => {
    if (m.type === "sync") send({ type: "synced", id: m.id });
    else if (m.type === "stop") {
      await proxy.stop();
      send({ type: "stopped" });
    }
  });
  send({ type: "listening", url: proxy.url, port: proxy.port });
} catch (err) {
  send({ type: "failed", message: err instanceof Error ? err.message : String(err) });
}
