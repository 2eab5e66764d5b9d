/**
 * The fake hub behind a fixed loopback port that can be switched off and on again ("the hub is
 * down"), so the same program, with the same hubEndpoint, sees an outage and then a working hub.
 * A TCP relay in front of tests/downloader/support/hub-server.ts, which it wraps, not changes.
 */
import * as net from "node:net";
import type { FakeHub } from "../../../downloader/support/hub-server";

export class HubSwitch {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private constructor(
    private readonly hub: FakeHub,
    readonly port: number,
  ) {}

  static async start(hub: FakeHub): Promise<HubSwitch> {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const relay = new HubSwitch(hub, port);
    await relay.up();
    return relay;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    const target = new URL(this.hub.endpoint);
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.server = server;
  }

  /** Connections to the hub are refused until `up()`. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}
