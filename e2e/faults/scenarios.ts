import { httpAbuse, tunnelGarbage } from './abuse.js';
import { rogueConnector, rogueGateway } from './hostile-peers.js';
import { canarySecrets, configFolderAbuse, crashLoop } from './app-faults.js';
import { costlyClients, idleConnections, lyingConnector, poisoningGateway, translatedRoutes } from './data-path-abuse.js';
import type { FaultReport, Scale } from './fault-report.js';
import { degradedTunnel, drains, gatewayKills, upstreamKilled } from './network-faults.js';
import { replicaFaults } from './replica-faults.js';

/** Every fault and abuse scenario, in the order the report lists them. */
export const SCENARIOS: Array<[string, (report: FaultReport, scale: Scale) => Promise<void>]> = [
  ['gateway kills', gatewayKills],
  ['degraded tunnel', degradedTunnel],
  ['upstream killed', upstreamKilled],
  ['drains', (report) => drains(report)],
  ['replicas', replicaFaults],
  ['crash loop', (report) => crashLoop(report)],
  ['tunnel garbage', tunnelGarbage],
  ['http abuse', httpAbuse],
  ['rogue gateway', rogueGateway],
  ['rogue connector', rogueConnector],
  ['lying connector', lyingConnector],
  ['costly clients', costlyClients],
  ['idle connections', idleConnections],
  ['translated routes', translatedRoutes],
  ['poisoning gateway', poisoningGateway],
  ['config folder abuse', configFolderAbuse],
  ['canary secrets', (report) => canarySecrets(report)],
];

