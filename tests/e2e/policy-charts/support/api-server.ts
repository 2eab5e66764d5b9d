/**
 * A loopback API server from the real binaries: etcd and kube-apiserver, TLS from a throwaway CA
 * (openssl), one static admin token, AlwaysAllow. Enough for the provider to read the cluster's
 * OpenAPI schema, which yaml/v2 ConfigGroup and helm v4 Chart need to render their objects.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import type { Tools } from "./tools";

export interface ApiServer {
  kubeconfig: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
    server.on("error", reject);
  });
}

function openssl(cwd: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd, stdio: "ignore" });
}

export async function startApiServer(t: Tools, dir: string): Promise<ApiServer> {
  mkdirSync(dir, { recursive: true });
  openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=e2e-ca");
  openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "apiserver.key", "-out", "apiserver.csr", "-subj", "/CN=kube-apiserver");
  writeFileSync(path.join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl(
    dir,
    "x509",
    "-req",
    "-in",
    "apiserver.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "apiserver.crt",
    "-days",
    "1",
    "-extfile",
    "san.ext",
  );
  openssl(dir, "genrsa", "-out", "sa.key", "2048");
  openssl(dir, "rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub");
  writeFileSync(path.join(dir, "tokens.csv"), "e2e-admin-token,admin,admin,system:masters\n");
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const children: ChildProcess[] = [];
  const start = (bin: string, args: string[], log: string) => {
    const child = spawn(bin, args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    const lines: string[] = [];
    child.stderr?.on("data", (d: Buffer) => lines.push(d.toString()));
    child.on("exit", (code) => {
      if (code !== null && code !== 0) writeFileSync(path.join(dir, log), lines.join(""));
    });
    children.push(child);
  };
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  start(
    t.etcd,
    [
      "--name",
      "e2e",
      "--data-dir",
      "etcd",
      "--listen-client-urls",
      etcdUrl,
      "--advertise-client-urls",
      etcdUrl,
      "--listen-peer-urls",
      `http://127.0.0.1:${peerPort}`,
      "--initial-advertise-peer-urls",
      `http://127.0.0.1:${peerPort}`,
      "--initial-cluster",
      `e2e=http://127.0.0.1:${peerPort}`,
      "--unsafe-no-fsync",
      "--log-level",
      "warn",
    ],
    "etcd.log",
  );
  start(
    t.kubeApiserver,
    [
      "--etcd-servers",
      etcdUrl,
      "--bind-address",
      "127.0.0.1",
      "--advertise-address",
      "127.0.0.1",
      "--secure-port",
      String(apiPort),
      "--tls-cert-file",
      "apiserver.crt",
      "--tls-private-key-file",
      "apiserver.key",
      "--client-ca-file",
      "ca.crt",
      "--token-auth-file",
      "tokens.csv",
      "--authorization-mode",
      "AlwaysAllow",
      "--service-account-issuer",
      "https://kubernetes.default.svc",
      "--api-audiences",
      "https://kubernetes.default.svc",
      "--service-account-key-file",
      "sa.pub",
      "--service-account-signing-key-file",
      "sa.key",
      "--service-cluster-ip-range",
      "10.96.0.0/16",
      "--enable-priority-and-fairness=false",
      "--profiling=false",
      "--endpoint-reconciler-type",
      "none",
    ],
    "apiserver.log",
  );
  const stop = async () => {
    await Promise.all(
      children.reverse().map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const timer = setTimeout(() => c.kill("SIGKILL"), 5_000);
            c.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
            c.kill("SIGTERM");
          }),
      ),
    );
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    const ready = await fetchReady(apiPort, path.join(dir, "ca.crt"));
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`kube-apiserver not ready within 90 s (logs in ${dir})`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const kubeconfig = path.join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "e2e", cluster: { server: `https://127.0.0.1:${apiPort}`, "certificate-authority": path.join(dir, "ca.crt") } }],
      users: [{ name: "admin", user: { token: "e2e-admin-token" } }],
      contexts: [{ name: "e2e", context: { cluster: "e2e", user: "admin" } }],
      "current-context": "e2e",
    }),
  );
  return { kubeconfig, stop };
}

async function fetchReady(port: number, ca: string): Promise<boolean> {
  const https = await import("node:https");
  const { readFileSync } = await import("node:fs");
  return new Promise((resolve) => {
    const req = https.get(
      {
        host: "127.0.0.1",
        port,
        path: "/readyz",
        ca: readFileSync(ca),
        headers: { authorization: "Bearer e2e-admin-token" },
        timeout: 2_000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
  });
}
