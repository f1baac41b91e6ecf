import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { DEFAULT_LIMITS, MAX_MESSAGE_BYTES, type TunnelLimits } from '../../shared/tunnel-protocol.js';
import { TunnelSession, type TunnelStream } from '../../main/tunnel/tunnel-session.js';

/**
 * A gateway-side and a connector-side TunnelSession joined by a real WebSocket on
 * loopback, for tests of the multiplexer itself.
 */
export interface SessionPair {
  gateway: TunnelSession;
  connector: TunnelSession;
  /** The raw sockets, for tests that misbehave on purpose. */
  gatewaySocket: WebSocket;
  connectorSocket: WebSocket;
  close(): Promise<void>;
}

export async function createSessionPair(options: { gatewayLimits?: Partial<TunnelLimits>; connectorLimits?: Partial<TunnelLimits>; heartbeatMs?: number } = {}): Promise<SessionPair> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: MAX_MESSAGE_BYTES });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
  const connectorSocket = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false, maxPayload: MAX_MESSAGE_BYTES });
  await new Promise<void>((resolve, reject) => {
    connectorSocket.once('open', () => resolve());
    connectorSocket.once('error', reject);
  });
  const gatewaySocket = await accepted;
  const heartbeatMs = options.heartbeatMs ?? 60_000;
  const gateway = new TunnelSession(gatewaySocket, { role: 'gateway', limits: { ...DEFAULT_LIMITS, ...options.gatewayLimits }, heartbeatMs });
  const connector = new TunnelSession(connectorSocket, { role: 'connector', limits: { ...DEFAULT_LIMITS, ...options.connectorLimits }, heartbeatMs });
  // The handshake each side would do: the connector announces its limits, the gateway its own.
  const helloSeen = new Promise<void>((resolve) => gateway.once('hello', () => resolve()));
  const settingsSeen = new Promise<void>((resolve) => connector.once('settings', () => resolve()));
  connector.sendHello({ version: 'test', upstreamKind: 'unknown', models: [], model: null, limits: { ...DEFAULT_LIMITS, ...options.connectorLimits } });
  await helloSeen;
  gateway.sendSettings({ deployment: 'test', serving: true, limits: { ...DEFAULT_LIMITS, ...options.gatewayLimits }, heartbeatMs, tunnelId: 't' });
  await settingsSeen;
  return {
    gateway,
    connector,
    gatewaySocket,
    connectorSocket,
    close: async () => {
      gateway.destroy();
      connector.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The next `n` streams the connector end accepts, in order, each with no handler yet. */
export function acceptStreams(pair: SessionPair, n: number): Promise<TunnelStream[]> {
  return new Promise((resolve) => {
    const accepted: TunnelStream[] = [];
    const onStream = (stream: TunnelStream): void => {
      accepted.push(stream);
      if (accepted.length === n) {
        pair.connector.off('stream', onStream);
        resolve(accepted);
      }
    };
    pair.connector.on('stream', onStream);
  });
}
