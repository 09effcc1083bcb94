/**
 * `cdk synth` / `cdk deploy` entry point (cdk.json: "npx tsx infra/app.ts"). Reads the config
 * named by $SECGROUP_APPROVAL_CONFIG, else ./secgroup-approval.config.json, else the committed
 * example (with a warning).
 */
import {
  ConfigFileError,
  loadConfigFile,
  placeholderWarnings,
  resolveConfigFile,
} from "./config.js";
import { buildApp, listingOnly } from "./stacks.js";

const { file, warning } = resolveConfigFile(process.cwd(), process.env);
if (warning) process.stderr.write(`[secgroup-approval] warning: ${warning}\n`);

try {
  const config = loadConfigFile(file);
  // The same placeholder warnings as doctor's, on stderr: the synth goes on (a fresh clone synths
  // the example), but nobody deploys example values without being told.
  const examples = placeholderWarnings(config);
  for (const line of examples) process.stderr.write(`[secgroup-approval] warning: ${line}\n`);
  if (examples.length > 0) {
    process.stderr.write(
      `[secgroup-approval] warning: ${file} still holds example values (${examples.length} placeholder warning${examples.length === 1 ? "" : "s"}): replace them before you deploy (npx secgroup-approval doctor --config ${file})\n`,
    );
  }
  // cdk.json's context (feature flags) is applied even when this file runs without the CDK CLI.
  // `cdk ls` and the like (no bundling asked): no cdk-nag, no template validation.
  const { app } = buildApp(config, { listing: listingOnly() });
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
