/**
 * The EC2 proxy (ec2-proxy.ts) in a worker thread of its own, as the sandbox runs it: its HTTP
 * work, moto's answers and the CloudTrail events it builds stay off the thread that runs the
 * handlers, as CloudTrail is not in the functions' way in AWS. The proxy is the same code; its
 * events come back over the thread's port in the order it emitted them.
 */
import { Worker } from "node:worker_threads";
import type { Ec2Proxy, Ec2ProxyOptions, EventBridgeEvent } from "./ec2-proxy.js";

/** What the thread can be given: the options without functions, which cannot cross to it. */
export type ThreadedEc2ProxyOptions = Omit<Ec2ProxyOptions, "clock" | "onEvent" | "onError"> & {
  onEvent: (event: EventBridgeEvent) => void;
  onError?: (error: unknown) => void;
};

export interface ThreadedEc2Proxy extends Ec2Proxy {
  /** Resolves once every event the proxy emitted before this call has been handed to onEvent. */
  sync(): Promise<void>;
}

/** Messages from the thread (ec2-proxy-worker.ts). */
export type FromProxyThread =
  | { type: "listening"; url: string; port: number }
  | { type: "failed"; message: string }
  | { type: "event"; event: EventBridgeEvent }
  | { type: "error"; message: string }
  | { type: "synced"; id: number }
  | { type: "stopped" };

/** Messages to the thread. */
export type ToProxyThread = { type: "sync"; id: number } | { type: "stop" };

const WORKER = new URL("./ec2-proxy-worker.ts", import.meta.url).href;

export function startEc2ProxyThread(options: ThreadedEc2ProxyOptions): Promise<ThreadedEc2Proxy> {
  const { onEvent, onError = (e: unknown) => console.error("ec2-proxy:", e), ...data } = options;
  const worker = new Worker(new URL("./thread-boot.mjs", import.meta.url), {
    workerData: { entry: WORKER, options: data },
  });
  const synced = new Map<number, () => void>();
  let nextSync = 0;
  let stopped: (() => void) | undefined;
  let failure: Error | undefined;
  const post = (message: ToProxyThread) => worker.postMessage(message);

  return new Promise((resolve, reject) => {
    const proxy = (url: string, port: number): ThreadedEc2Proxy => ({
      url,
      port,
      sync: () =>
        failure
          ? Promise.reject(failure)
          : new Promise<void>((done) => {
              const id = nextSync++;
              synced.set(id, done);
              post({ type: "sync", id });
            }),
      stop: async () => {
        if (failure) return;
        await new Promise<void>((done) => {
          stopped = done;
          post({ type: "stop" });
        });
        await worker.terminate();
      },
    });
    worker.on("message", (m: FromProxyThread) => {
      switch (m.type) {
        case "listening":
          resolve(proxy(m.url, m.port));
          break;
        case "failed":
          reject(new Error(m.message));
          void worker.terminate();
          break;
        case "event":
          try {
            onEvent(m.event);
          } catch (err) {
            onError(err);
          }
          break;
        case "error":
          onError(new Error(m.message));
          break;
        case "synced":
          synced.get(m.id)?.();
          synced.delete(m.id);
          break;
        case "stopped":
          stopped?.();
          break;
      }
    });
    worker.on("error", (err) => {
      // The thread died: no call reaches moto through it any more; say so at every turn.
      failure = err instanceof Error ? err : new Error(String(err));
      onError(failure);
      reject(failure);
      for (const done of synced.values()) done();
      synced.clear();
      stopped?.();
    });
  });
}
