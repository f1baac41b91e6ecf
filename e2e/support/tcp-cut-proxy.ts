import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A loopback TCP proxy the test controls: it can cut every connection at once (a dead
 * Wi-Fi), stall them, add latency, or pass data on in tiny slices.
 */
export class TcpCutProxy {
  private readonly server: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  port = 0;
  /** When each connection was accepted (ms since epoch): connection attempts over time. */
  readonly accepted: number[] = [];
  /** Added one-way delay per chunk (ms). */
  delayMs = 0;
  /** When set, data is passed on in slices of this many bytes. */
  sliceBytes = 0;
  /** While true, nothing is forwarded (the link is silent but open). */
  stalled = false;
  private readonly stalledQueue: Array<() => void> = [];

  constructor(private readonly targetPort: number, private readonly targetHost = '127.0.0.1') {
    this.server = createServer((client) => this.accept(client));
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get connections(): number {
    return this.pairs.size;
  }

  /** Resets every open connection. */
  cut(): void {
    for (const [a, b] of this.pairs) {
      a.resetAndDestroy();
      b.resetAndDestroy();
    }
    this.pairs.clear();
  }

  stall(on: boolean): void {
    this.stalled = on;
    if (!on) for (const send of this.stalledQueue.splice(0)) send();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.accepted.push(Date.now());
    const upstream = connect(this.targetPort, this.targetHost);
    // Like the peers it stands between: no Nagle (or every small write waits for an ACK).
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const forward = (from: Socket, to: Socket): void => {
      from.on('data', (chunk: Buffer) => {
        const send = (): void => {
          if (to.destroyed) return;
          if (this.sliceBytes > 0) for (let i = 0; i < chunk.length; i += this.sliceBytes) to.write(chunk.subarray(i, i + this.sliceBytes));
          else to.write(chunk);
        };
        const go = (): void => (this.delayMs > 0 ? void setTimeout(send, this.delayMs) : send());
        if (this.stalled) this.stalledQueue.push(go);
        else go();
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    const done = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', done);
    upstream.on('close', done);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  }
}
