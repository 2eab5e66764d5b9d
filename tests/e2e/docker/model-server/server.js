// The stand-in model server (see Dockerfile). Fails fast, like TEI, when the snapshot is unreadable.

const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");

const args = process.argv.slice(2);
const arg = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const modelDir = arg("--model-id");
const port = Number(arg("--port") ?? 80);
if (!modelDir) {
  console.error("stand-in: --model-id is required");
  process.exit(2);
}

function walk(dir, rel = "") {
  const out = [];
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${entry.name}` : entry.name;
    const full = path.join(dir, r);
    const st = fs.statSync(full); // follows the snapshot's relative links into blobs/
    if (st.isDirectory()) out.push(...walk(dir, r));
    else {
      const link = fs.lstatSync(full).isSymbolicLink() ? fs.readlinkSync(full) : undefined;
      out.push({ path: r, size: st.size, sha256: crypto.createHash("sha256").update(fs.readFileSync(full)).digest("hex"), link });
    }
  }
  return out;
}

let files;
try {
  files = walk(modelDir);
} catch (err) {
  console.error(`stand-in: cannot read the model at ${modelDir}: ${err.message}`);
  process.exit(1);
}
console.log(`stand-in: loaded ${files.length} files from ${modelDir}`);

function tryWrite(dir) {
  try {
    fs.writeFileSync(path.join(dir, ".stand-in-write-probe"), "x");
    return "written";
  } catch (err) {
    return err.code;
  }
}

function memoryLimit() {
  for (const file of ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]) {
    try {
      return fs.readFileSync(file, "utf8").trim();
    } catch {}
  }
  return undefined;
}

const info = {
  uid: process.getuid(),
  gid: process.getgid(),
  env: Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(HF_|TRANSFORMERS_|XDG_CACHE_HOME)/.test(k))),
  modelDir,
  files,
  write: { cacheRoot: tryWrite(process.env.HF_HUB_CACHE ?? modelDir), snapshot: tryWrite(modelDir) },
  memoryLimit: memoryLimit(),
};

http
  .createServer((req, res) => {
    const status = req.url === "/health" ? 200 : req.url === "/info" ? 200 : 404;
    console.log(`stand-in: ${req.method} ${req.url} ${status}`);
    res.writeHead(status, { "content-type": "application/json" });
    res.end(req.url === "/info" ? JSON.stringify(info) : JSON.stringify({ status }));
  })
  .listen(port, () => console.log(`stand-in: listening on ${port}`));
