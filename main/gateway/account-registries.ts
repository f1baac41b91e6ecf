import type { Logger } from '../logging/logger.js';
import type { DeploymentRecord } from './gateway-store.js';
import { TunnelRegistry, type TunnelEntry } from './tunnel-registry.js';

/**
 * One TunnelRegistry per account: names are unique within an account, so each account's
 * bindings, tunnels and swaps live apart, and nothing one account does can pick another's
 * tunnel. Registries are made on first use.
 */
export class AccountRegistries {
  private readonly registries = new Map<string, TunnelRegistry>();
  /** Past the first load: registries made from now on had nothing bound when the gateway started. */
  private started = false;

  constructor(
    private readonly log: Logger,
    private readonly onSettingsChange: (entry: TunnelEntry) => void,
  ) {}

  forAccount(accountId: string): TunnelRegistry {
    let registry = this.registries.get(accountId);
    if (!registry) {
      registry = new TunnelRegistry(this.log, this.onSettingsChange);
      this.registries.set(accountId, registry);
      // A registry's first load says which names were bound at start (their connectors may
      // be on their way back, so requests wait for them briefly); for an account that had
      // no deployments at start, that is none.
      if (this.started) registry.loadBindings([]);
    }
    return registry;
  }

  /**
   * Replaces the bindings of `accountId` (null: of every account) with `records`, which
   * hold that account's (or every account's) deployments.
   */
  loadBindings(records: readonly DeploymentRecord[], accountId: string | null = null): void {
    const byAccount = new Map<string, DeploymentRecord[]>();
    for (const record of records) {
      if (accountId !== null && record.accountId !== accountId) continue;
      let list = byAccount.get(record.accountId);
      if (!list) byAccount.set(record.accountId, (list = []));
      list.push(record);
    }
    const targets = accountId === null ? new Set([...this.registries.keys(), ...byAccount.keys()]) : new Set([accountId]);
    for (const id of targets) this.forAccount(id).loadBindings(byAccount.get(id) ?? []);
    this.started = true;
  }

  allTunnels(): TunnelEntry[] {
    return [...this.registries.values()].flatMap((registry) => registry.allTunnels());
  }

  tunnelsOfToken(tokenId: string): TunnelEntry[] {
    return this.allTunnels().filter((entry) => entry.tokenId === tokenId);
  }
}
