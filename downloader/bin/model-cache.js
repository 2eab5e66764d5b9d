#!/usr/bin/env node

// The `model-cache` bin: runs the bundled downloader, dist/model-cache.cjs, built by
// `npm run build:downloader` (which `npm ci` runs through the `prepare` script, and the image's build stage).
//
// The warm path (a complete cache) is mostly Node start-up and module initialisation, so the bundle is
// compiled with the V8 code cache the build writes beside it (dist/model-cache.cjs.v8-cache, keyed by the
// bundle's sha256; ignored when stale or from another Node version).
// Room in libuv's pool for parallel file writes next to fsyncs and stats (read when the pool starts).
process.env.UV_THREADPOOL_SIZE ??= "8";
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const { wrap } = require("node:module");

const bundle = path.join(__dirname, "..", "..", "dist", "model-cache.cjs");
const codeCache = `${bundle}.v8-cache`;

let source;
try {
  source = fs.readFileSync(bundle, "utf8");
} catch (error) {
  if (error?.code !== "ENOENT") throw error;
  process.stderr.write("model-cache: not built yet: run `npm run build:downloader` (npm ci runs it through the prepare script)\n");
  process.exit(1);
}
const key = crypto.createHash("sha256").update(source).digest("hex");
let cachedData;
try {
  const stored = fs.readFileSync(codeCache);
  if (stored.subarray(0, 64).toString("latin1") === key) cachedData = stored.subarray(65);
} catch {
  // No cache: compile from source.
}
const script = new vm.Script(wrap(source), { filename: bundle, cachedData });
const mod = { exports: {} };
// The bundle requires Node built-ins only, which this file's `require` resolves as well as any.
script.runInThisContext().call(mod.exports, mod.exports, require, mod, bundle, path.dirname(bundle));

if (process.env.MODEL_CACHE_WRITE_CODE_CACHE === "1") {
  // Written after the run, so the functions it compiled are in the cache too.
  process.on("exit", () => {
    fs.writeFileSync(codeCache, Buffer.concat([Buffer.from(`${key}\n`, "latin1"), script.createCachedData()]));
  });
}

mod.exports.runFromProcess(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`model-cache: unexpected error: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
});
