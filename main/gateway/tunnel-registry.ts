import { EventEmitter } from 'node:events';
import type { DeploymentState, HostedDeployment } from '../../shared/hosted-api.js';
import { CloseCode, type HelloPayload } from '../../shared/tunnel-protocol.js';
import { peerText, type Logger } from '../logging/logger.js';
import type { TunnelSession } from '../tunnel/tunnel-session.js';

/**
 * Which live tunnels serve which deployment name, and the make-before-break swap.
 *
 * A name is bound to one token. While a re-registration waits for the new token's first
 * tunnel, the old token's tunnels keep serving the name; the moment a new one is ready,
 * new requests go to it and the old ones drain (go-away, finish in flight, then close so
 * their connectors come back unbound and wait).
 */

export interface TunnelEntry {
  id: string;
  /** The account the token belongs to; the entry lives in that account's registry. */
  accountId: string;
  tokenId: string;
  session: TunnelSession;
  hello: HelloPayload | null;
  connectedAt: number;
  remoteAddress: string;
  /** Drained tunnels finish what they have and take nothing new. */
  retired: boolean;
}

interface Binding {
  tokenId: string;
  /** The token that keeps serving until `tokenId` has a ready tunnel. */
  fallbackTokenId: string | null;
}

export type DeploymentStatus = DeploymentState;

/** A deployment's live view; the control API adds its binding and traffic to it. */
export type DeploymentView = Pick<HostedDeployment, 'name' | 'status' | 'tunnels' | 'inFlight' | 'upstreamKind' | 'upstreamModel' | 'connectedSince' | 'rttMs'>;

export interface TunnelRegistryEvents {
  /** A tunnel finished its handshake: requests waiting for its deployment may go now. */
  ready: [entry: TunnelEntry];
}

export class TunnelRegistry extends EventEmitter<TunnelRegistryEvents> {
  private readonly tunnelsByToken = new Map<string, Set<TunnelEntry>>();
  private readonly bindings = new Map<string, Binding>();
  private readonly nameByToken = new Map<string, string>();
  /**
   * When a token's tunnel last dropped (or, after a restart, when this gateway started):
   * requests wait a little for a connector that is on its way back.
   */
  private readonly lastOnline = new Map<string, number>();
  private readonly startedAt = Date.now();
  /** Names registered before this gateway started: their connectors may be reconnecting. */
  private readonly boundAtStart = new Set<string>();
  private loaded = false;

  constructor(
    private readonly log: Logger,
    private readonly onSettingsChange: (entry: TunnelEntry) => void,
  ) {
    super();
    this.setMaxListeners(0);
  }

  /** Replaces all bindings (at start, and after the store changed on disk). */
  loadBindings(records: ReadonlyArray<{ name: string; tokenId: string }>): void {
    if (!this.loaded) {
      this.loaded = true;
      for (const record of records) this.boundAtStart.add(record.name);
    }
    const next = new Map(records.map((r) => [r.name, r.tokenId]));
    for (const [name, binding] of this.bindings) {
      const tokenId = next.get(name);
      if (tokenId === undefined) this.unbind(name);
      else if (tokenId !== binding.tokenId) this.bind(name, tokenId);
    }
    for (const [name, tokenId] of next) if (!this.bindings.has(name)) this.bind(name, tokenId);
  }

  /** The deployment a tunnel currently serves (null while unbound or retired). */
  servingName(entry: TunnelEntry): string | null {
    if (entry.retired) return null;
    const own = this.nameByToken.get(entry.tokenId);
    if (own) return own;
    for (const [name, binding] of this.bindings) if (binding.fallbackTokenId === entry.tokenId) return name;
    return null;
  }

  /** Binds `name` to `tokenId`, starting a swap when it was bound to another token. */
  bind(name: string, tokenId: string): void {
    const current = this.bindings.get(name);
    if (current?.tokenId === tokenId) return;
    // A token serves one name: renaming releases the old name.
    const oldName = this.nameByToken.get(tokenId);
    if (oldName !== undefined && oldName !== name) this.unbind(oldName);

    let fallback: string | null = null;
    if (current) {
      this.nameByToken.delete(current.tokenId);
      if (this.readyTunnels(current.tokenId).length > 0) fallback = current.tokenId;
      else if (current.fallbackTokenId && this.readyTunnels(current.fallbackTokenId).length > 0) fallback = current.fallbackTokenId;
    }
    this.bindings.set(name, { tokenId, fallbackTokenId: fallback });
    this.nameByToken.set(tokenId, name);
    this.log.info(`deployment '${peerText(name)}' bound to token ${tokenId}${fallback ? ` (token ${fallback} serves until it is online)` : ''}`);
    for (const entry of this.tunnelsByToken.get(tokenId) ?? []) this.onSettingsChange(entry);
    this.completeSwap(name);
  }

  unbind(name: string): void {
    const binding = this.bindings.get(name);
    if (!binding) return;
    this.bindings.delete(name);
    this.nameByToken.delete(binding.tokenId);
    for (const tokenId of [binding.tokenId, binding.fallbackTokenId]) {
      if (!tokenId) continue;
      for (const entry of this.tunnelsByToken.get(tokenId) ?? []) this.onSettingsChange(entry);
    }
    if (binding.fallbackTokenId) this.retire(binding.fallbackTokenId, `deployment '${name}' was removed`);
  }

  add(entry: TunnelEntry): void {
    let set = this.tunnelsByToken.get(entry.tokenId);
    if (!set) this.tunnelsByToken.set(entry.tokenId, (set = new Set()));
    set.add(entry);
  }

  /** The tunnel finished its handshake and can take streams. */
  markReady(entry: TunnelEntry): void {
    this.onSettingsChange(entry);
    const name = this.nameByToken.get(entry.tokenId);
    if (name) this.completeSwap(name);
    this.emit('ready', entry);
  }

  remove(entry: TunnelEntry): void {
    const set = this.tunnelsByToken.get(entry.tokenId);
    if (!set?.delete(entry)) return;
    if (entry.hello && !entry.retired && !entry.session.peerDraining) this.lastOnline.set(entry.tokenId, Date.now());
    if (set.size === 0) this.tunnelsByToken.delete(entry.tokenId);
  }

  /**
   * The tunnel a new request for `name` should use: the least busy ready tunnel of the
   * bound token, else of the token it is swapping away from.
   */
  pick(name: string): TunnelEntry | null {
    const binding = this.bindings.get(name);
    if (!binding) return null;
    return leastBusy(this.readyTunnels(binding.tokenId)) ?? (binding.fallbackTokenId ? leastBusy(this.readyTunnels(binding.fallbackTokenId)) : null);
  }

  isBound(name: string): boolean {
    return this.bindings.has(name);
  }

  /**
   * True when `name`'s tunnel dropped within the last `withinMs`, or this gateway started
   * that recently (its connectors are reconnecting). A tunnel draining on purpose does not
   * count: its deployment is going away, and requests should hear so at once.
   */
  recentlyOnline(name: string, withinMs: number): boolean {
    const binding = this.bindings.get(name);
    if (!binding) return false;
    const now = Date.now();
    if (now - this.startedAt <= withinMs && this.boundAtStart.has(name)) return true;
    const last = Math.max(this.lastOnline.get(binding.tokenId) ?? 0, binding.fallbackTokenId ? (this.lastOnline.get(binding.fallbackTokenId) ?? 0) : 0);
    return now - last <= withinMs;
  }

  names(): string[] {
    return [...this.bindings.keys()].sort();
  }

  view(name: string): DeploymentView | null {
    const binding = this.bindings.get(name);
    if (!binding) return null;
    const own = this.readyTunnels(binding.tokenId);
    const fallback = binding.fallbackTokenId ? this.readyTunnels(binding.fallbackTokenId) : [];
    const serving = own.length > 0 ? own : fallback;
    const first = serving[0];
    return {
      name,
      status: own.length > 0 ? 'online' : fallback.length > 0 ? 'swapping' : 'offline',
      tunnels: serving.length,
      inFlight: serving.reduce((sum, e) => sum + e.session.streamCount, 0),
      upstreamKind: first?.hello?.upstreamKind ?? null,
      upstreamModel: first?.hello?.model ?? null,
      connectedSince: serving.length ? Math.min(...serving.map((e) => e.connectedAt)) : null,
      rttMs: meanRtt(serving),
    };
  }

  /** Names with at least one tunnel able to take a request. */
  onlineNames(): string[] {
    return this.names().filter((name) => this.pick(name) !== null);
  }

  allTunnels(): TunnelEntry[] {
    return [...this.tunnelsByToken.values()].flatMap((set) => [...set]);
  }

  private readyTunnels(tokenId: string): TunnelEntry[] {
    const set = this.tunnelsByToken.get(tokenId);
    if (!set) return [];
    const out: TunnelEntry[] = [];
    for (const entry of set) if (entry.hello && !entry.retired && entry.session.canOpenStream) out.push(entry);
    return out;
  }

  /** Once the bound token has a ready tunnel, the fallback token's tunnels drain. */
  private completeSwap(name: string): void {
    const binding = this.bindings.get(name);
    if (!binding?.fallbackTokenId || this.readyTunnels(binding.tokenId).length === 0) return;
    const old = binding.fallbackTokenId;
    binding.fallbackTokenId = null;
    this.log.info(`deployment '${peerText(name)}' moved to token ${binding.tokenId}; draining the tunnels of token ${old}`);
    this.retire(old, `deployment '${name}' moved to another tunnel`);
  }

  /** Go-away to every tunnel of `tokenId` not bound to a name; once idle they close. */
  private retire(tokenId: string, reason: string): void {
    if (this.nameByToken.has(tokenId)) return;
    for (const entry of this.tunnelsByToken.get(tokenId) ?? []) {
      if (entry.retired) continue;
      entry.retired = true;
      this.onSettingsChange(entry);
      void entry.session.goAway(reason).then(() => entry.session.close(CloseCode.Replaced, reason));
    }
  }
}

function meanRtt(entries: TunnelEntry[]): number | null {
  const rtts = entries.map((e) => e.session.rttMs).filter((rtt): rtt is number => rtt !== null);
  return rtts.length ? rtts.reduce((a, b) => a + b, 0) / rtts.length : null;
}

function leastBusy(entries: TunnelEntry[]): TunnelEntry | null {
  let best: TunnelEntry | null = null;
  for (const entry of entries) if (!best || entry.session.streamCount < best.session.streamCount) best = entry;
  return best;
}
