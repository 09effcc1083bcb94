export * from "./notifier.js";
export * from "./secrets.js";
export * from "./verify.js";
