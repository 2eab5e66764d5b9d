/**
 * The default Docker healthcheck: an HTTP GET through bash's /dev/tcp, because many model-server
 * images (text-embeddings-inference's among them) ship no curl or wget. Healthy iff the status
 * line says 200.
 */
export function httpHealthcheckTest(port: number, path: string): string[] {
  const request = `GET ${path} HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n`;
  return ["CMD", "bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${port} && printf '${request}' >&3 && head -n1 <&3 | grep -q ' 200 '`];
}
