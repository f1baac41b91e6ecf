/**
 * The WebSocket server under both kinds of tunnel a gateway accepts: connectors'
 * (tunnel-plane.ts) and other replicas' peer links (peer-links.ts). Both speak the same
 * framed protocol, so both take the same settings: upgrades handed over by the HTTP server,
 * no compression (frames are small and already framed), the protocol's message cap, and
 * only its subprotocol.
 */
import { WebSocketServer } from 'ws';
import { MAX_MESSAGE_BYTES, TUNNEL_SUBPROTOCOL } from '../../shared/tunnel-protocol.js';

export function createTunnelSocketServer(): WebSocketServer {
  return new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: MAX_MESSAGE_BYTES,
    handleProtocols: (protocols) => (protocols.has(TUNNEL_SUBPROTOCOL) ? TUNNEL_SUBPROTOCOL : false),
  });
}
