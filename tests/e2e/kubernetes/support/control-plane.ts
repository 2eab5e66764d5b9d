/**
 * A loopback Kubernetes control plane from the real binaries: etcd, kube-apiserver (TLS with a
 * generated CA, a static token for an admin user, PodSecurity admission on), kube-controller-
 * manager (Job, Deployment, ReplicaSet, namespace, service-account, garbage-collector, TTL and PV
 * binder controllers; service-account tokens signed with a generated key), kube-scheduler, and
 * kwok for fake nodes and pod lifecycles (there is no kubelet: kwok marks scheduled pods Running
 * and Ready, and the suite's own stages mark Job pods Succeeded or Failed, see kwok-stages.ts).
 * Everything listens on 127.0.0.1 on free ports and lives in one temp dir; `stop()` ends every
 * process it started and removes the dir.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { FAKE_NODES, kwokStages } from "./kwok-stages";
import type { E2eTools } from "./tools";

const run = promisify(execFile);

export interface ControlPlane {
  dir: string;
  server: string;
  kubeconfigPath: string;
  kubeconfig: string;
  /** kubectl against this cluster; rejects with its stderr on a non-zero exit. */
  kubectl(args: string[], input?: string): Promise<string>;
  /** kubectl get … -o json, parsed. */
  getJson(args: string[]): Promise<any>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run("openssl", args, { cwd: dir });
}

/** A CA, the API server's serving certificate, and the service-account signing key. */
async function generateCertificates(dir: string): Promise<void> {
  await openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-subj",
    "/CN=model-cache-e2e-ca",
    "-days",
    "2",
  ]);
  await openssl(dir, [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "apiserver.key",
    "-out",
    "apiserver.csr",
    "-subj",
    "/CN=kube-apiserver",
  ]);
  writeFileSync(
    path.join(dir, "apiserver.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n",
  );
  await openssl(dir, [
    ...["x509", "-req", "-in", "apiserver.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"],
    ...["-out", "apiserver.crt", "-days", "2", "-extfile", "apiserver.ext"],
  ]);
  await openssl(dir, ["genrsa", "-out", "sa.key", "2048"]);
  await openssl(dir, ["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
}

function kubeconfigYaml(server: string, caPem: string, token: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "e2e", cluster: { server, "certificate-authority-data": Buffer.from(caPem).toString("base64") } }],
    users: [{ name: "admin", user: { token } }],
    contexts: [{ name: "e2e", context: { cluster: "e2e", user: "admin" } }],
    "current-context": "e2e",
  });
}

export async function startControlPlane(tools: E2eTools): Promise<ControlPlane> {
  const dir = mkdtempSync(path.join(tmpdir(), "model-cache-e2e-k8s-"));
  const children: ChildProcess[] = [];
  const start = (name: string, bin: string, args: string[]) => {
    const log = openSync(path.join(dir, `${name}.log`), "a");
    const child = spawn(bin, args, { cwd: dir, stdio: ["ignore", log, log] });
    closeSync(log);
    children.push(child);
    child.on("exit", (code, signal) => {
      if (!stopping) process.stderr.write(`control plane: ${name} exited (${code ?? signal}); see ${path.join(dir, `${name}.log`)}\n`);
    });
    return child;
  };
  let stopping = false;
  // If the test process ends without calling stop() (a timeout, an interrupt), still end them.
  const killAll = () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  process.once("exit", killAll);
  const stop = async () => {
    stopping = true;
    process.removeListener("exit", killAll);
    // Reverse order: clients before the API server, the API server before etcd.
    for (const child of [...children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    }
    if (!process.env["E2E_KEEP_DIR"]) rmSync(dir, { recursive: true, force: true });
  };

  try {
    await generateCertificates(dir);
    const token = randomBytes(24).toString("hex");
    writeFileSync(path.join(dir, "tokens.csv"), `${token},admin,admin,"system:masters"\n`);

    const [etcdClient, etcdPeer, apiPort, cmPort, schedPort, kwokPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    start("etcd", tools.etcd, [
      ...["--name", "e2e", "--data-dir", path.join(dir, "etcd")],
      ...["--listen-client-urls", etcdUrl, "--advertise-client-urls", etcdUrl],
      ...["--listen-peer-urls", `http://127.0.0.1:${etcdPeer}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${etcdPeer}`],
      ...["--initial-cluster", `e2e=http://127.0.0.1:${etcdPeer}`, "--unsafe-no-fsync", "--log-level", "warn"],
    ]);

    const server = `https://127.0.0.1:${apiPort}`;
    start("kube-apiserver", tools.kubeApiserver, [
      ...["--etcd-servers", etcdUrl, "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1"],
      ...["--secure-port", String(apiPort), "--cert-dir", path.join(dir, "apiserver-certs")],
      ...["--tls-cert-file", "apiserver.crt", "--tls-private-key-file", "apiserver.key", "--client-ca-file", "ca.crt"],
      ...["--token-auth-file", "tokens.csv", "--authorization-mode", "RBAC"],
      ...[
        "--service-account-issuer",
        "https://kubernetes.default.svc.cluster.local",
        "--api-audiences",
        "https://kubernetes.default.svc.cluster.local",
      ],
      ...["--service-account-key-file", "sa.pub", "--service-account-signing-key-file", "sa.key"],
      // Addresses handed out to Service objects only (TEST-NET-2, never routed): no proxy runs,
      // nothing is ever sent to them.
      ...["--service-cluster-ip-range", "198.51.100.0/24"],
      // PodSecurity is on by default; named so a change of defaults cannot silently drop it.
      ...["--enable-admission-plugins", "NamespaceLifecycle,ServiceAccount,PodSecurity,DefaultStorageClass,StorageObjectInUseProtection"],
      ...["--enable-priority-and-fairness=false", "--profiling=false", "--endpoint-reconciler-type", "none"],
    ]);

    const caPem = readFileSync(path.join(dir, "ca.crt"), "utf8");
    const kubeconfig = kubeconfigYaml(server, caPem, token);
    const kubeconfigPath = path.join(dir, "kubeconfig");
    writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });

    const kubectl = async (args: string[], input?: string): Promise<string> => {
      return new Promise((resolve, reject) => {
        const child = spawn(tools.kubectl, ["--kubeconfig", kubeconfigPath, ...args], { stdio: ["pipe", "pipe", "pipe"] });
        let out = "";
        let err = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (err += d));
        child.on("close", (code) =>
          code === 0 ? resolve(out) : reject(new Error(`kubectl ${args.join(" ")}: ${err.trim() || `exit ${code}`}`)),
        );
        child.stdin.end(input ?? "");
      });
    };
    const getJson = async (args: string[]): Promise<any> => JSON.parse(await kubectl(["get", ...args, "-o", "json"]));

    await waitFor("kube-apiserver /readyz", async () => (await kubectl(["get", "--raw", "/readyz"])).trim() === "ok", 90_000);

    const common = [
      "--kubeconfig",
      kubeconfigPath,
      "--authentication-kubeconfig",
      kubeconfigPath,
      "--authorization-kubeconfig",
      kubeconfigPath,
    ];
    start("kube-controller-manager", tools.kubeControllerManager, [
      ...common,
      ...["--bind-address", "127.0.0.1", "--secure-port", String(cmPort), "--leader-elect=false"],
      ...[
        "--controllers",
        [
          "job-controller",
          "deployment-controller",
          "replicaset-controller",
          "namespace-controller",
          "serviceaccount-controller",
          "serviceaccount-token-controller",
          "garbage-collector-controller",
          "ttl-after-finished-controller",
          "persistentvolume-binder-controller",
          "persistentvolume-protection-controller",
          "persistentvolumeclaim-protection-controller",
          "disruption-controller",
          "endpointslice-controller",
          "endpoints-controller",
          // Lifts the not-ready taint the API server puts on a new node once kwok reports it Ready.
          "node-lifecycle-controller",
        ].join(","),
      ],
      ...["--service-account-private-key-file", "sa.key", "--root-ca-file", "ca.crt", "--use-service-account-credentials=false"],
    ]);
    start("kube-scheduler", tools.kubeScheduler, [
      ...common,
      "--bind-address",
      "127.0.0.1",
      "--secure-port",
      String(schedPort),
      "--leader-elect=false",
    ]);

    const stagesFile = path.join(dir, "kwok.yaml");
    writeFileSync(stagesFile, kwokStages(tools.kwokStagesDir));
    start("kwok", tools.kwok, [
      ...["--kubeconfig", kubeconfigPath, "--config", stagesFile, "--server-address", `127.0.0.1:${kwokPort}`],
      ...["--manage-all-nodes=false", "--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake"],
      // Pod IPs are status values only (no container, no proxy: nothing ever connects to them);
      // EndpointSlices refuse loopback ones, so they come from TEST-NET-1 (RFC 5737), which is
      // never routed. The node's IP, where the API server would reach a kubelet, is loopback.
      ...["--cidr", "192.0.2.0/24", "--node-ip", "127.0.0.1"],
    ]);

    await kubectl(["apply", "-f", "-"], FAKE_NODES.map((n) => JSON.stringify(n)).join("\n"));
    await waitFor(
      "the fake nodes Ready and schedulable",
      async () => {
        const nodes = (await getJson(["nodes"])) as {
          items: { spec?: { taints?: { key: string }[] }; status?: { conditions?: { type: string; status: string }[] } }[];
        };
        return (
          nodes.items.length === FAKE_NODES.length &&
          nodes.items.every(
            (n) =>
              n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") &&
              !n.spec?.taints?.some((t) => t.key.startsWith("node.kubernetes.io/")),
          )
        );
      },
      60_000,
    );
    // The namespace controller and the service-account admission need the default account.
    await waitFor(
      "the default service account",
      async () => (await kubectl(["get", "serviceaccount", "default", "-n", "default", "-o", "name"])).includes("default"),
      60_000,
    );

    return { dir, server, kubeconfigPath, kubeconfig, kubectl, getJson, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Polls `check` (errors count as "not yet") until it holds; rejects with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`);
}
