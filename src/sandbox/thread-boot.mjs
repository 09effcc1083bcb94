// A worker thread's entry: registers tsx (a worker does not inherit the parent's loader), then
// runs the TypeScript module named by workerData.entry.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.entry);
