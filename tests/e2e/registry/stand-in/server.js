// A stand-in model server for `model-cache measure`: it "loads" by allocating a known amount of
// memory (every page touched, kept referenced) and sleeping a known time, then answers GET /health.

const http = require("node:http");

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const mib = Number(arg("--allocate-mib", "0"));
const sleepSeconds = Number(arg("--sleep-seconds", "0"));
const port = Number(arg("--port", "8080"));
const exitEarly = args.includes("--exit-before-healthy");

const weights = [];
for (let i = 0; i < mib; i++) weights.push(Buffer.alloc(1024 * 1024, 1));
console.log(`stand-in: holding ${weights.length} MiB; loading for ${sleepSeconds} s`);
setTimeout(() => {
  if (exitEarly) {
    console.error("stand-in: cannot load the model (as asked)");
    process.exit(3);
  }
  http
    .createServer((req, res) => {
      res.writeHead(req.url === "/health" ? 200 : 404, { "content-type": "text/plain" });
      res.end(req.url === "/health" ? `ok ${weights.length}\n` : "not found\n");
    })
    .listen(port, "127.0.0.1", () => console.log(`stand-in: healthy on ${port}`));
}, sleepSeconds * 1000);
