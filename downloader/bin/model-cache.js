#!/usr/bin/env node

// The `model-cache` bin: runs the bundled downloader (dist/model-cache.cjs, built by `npm run build:downloader`,
// which `npm ci` runs through the `prepare` script, and by the image's build stage).
const path = require("node:path");

const entry = path.join(__dirname, "..", "..", "dist", "model-cache.cjs");
let cli;
try {
  cli = require(entry);
} catch (error) {
  if (error && error.code === "MODULE_NOT_FOUND" && String(error.message).includes(entry)) {
    process.stderr.write("model-cache: not built yet: run `npm run build:downloader` (npm ci runs it through the prepare script)\n");
    process.exit(1);
  }
  throw error;
}
cli.runFromProcess(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`model-cache: unexpected error: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
});
