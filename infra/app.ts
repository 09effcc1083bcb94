/**
 * `cdk synth` / `cdk deploy` entry point (cdk.json: "npx tsx infra/app.ts"). Reads the config
 * named by $SECGROUP_APPROVAL_CONFIG, else ./secgroup-approval.config.json, else the committed
 * example (with a warning).
 */
import { ConfigFileError, loadConfigFile, resolveConfigFile } from "./config.js";
import { buildApp } from "./stacks.js";

const { file, warning } = resolveConfigFile(process.cwd(), process.env);
if (warning) process.stderr.write(`[secgroup-approval] warning: ${warning}\n`);

try {
  const config = loadConfigFile(file);
  // cdk.json's context (feature flags) is applied even when this file runs without the CDK CLI.
  const { app } = buildApp(config);
  app.synth();
} catch (err) {
  if (err instanceof ConfigFileError) {
    process.stderr.write(
      `[secgroup-approval] the configuration is not valid:\n${err.message}\n(run: npx secgroup-approval doctor --config ${file})\n`,
    );
    process.exit(1);
  }
  throw err;
}
