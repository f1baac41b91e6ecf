import { EventEmitter } from 'node:events';
import type { DeploymentMember, DeploymentState, HostedDeployment } from '../../shared/hosted-api.js';
import { CloseCode, type HelloPayload } from '../../shared/tunnel-protocol.js';
import { peerText, type Logger } from '../logging/logger.js';
import type { TunnelSession } from '../tunnel/tunnel-session.js';
import { deploymentTokens } from './gateway-store.js';

/**
 * Which live tunnels serve which deployment name, and the make-before-break swap.
 *
 * A name is bound to one token or, as a pool, to several; every ready tunnel of those tokens
 * is a member (the same tokios.json on two machines is two members of one token). A request
 * goes to the usable member with the fewest requests outstanding: one whose connector says
 * its upstream is down, or that is draining, gets none while another can take it; members on
 * this gateway come before members other replicas hold (those cost a hop).
 *
 * While a re-registration (the swap) waits for a new token's first tunnel, the old tokens'
 * tunnels keep serving the name; the moment a new one is ready, new requests go to it and
 * the old ones drain (go-away, finish in flight, then close so their connectors come back
 * unbound and wait).
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
  /** The connector reported its upstream down (it fails its health checks): it gets no requests while another member can take them. */
  upstreamDown?: boolean;
  /**
   * The replica holding this tunnel when another one does (its session is then the peer
   * link to that replica, which relays the streams); absent for this gateway's own tunnels.
   */
  replica?: string;
  /** Requests this gateway has open through the peer link to this member (remote members only). */
  hops?: number;
}

interface Binding {
  tokenIds: string[];
  /** Tokens that keep serving until one of `tokenIds` has a ready tunnel (the swap). */
  fallbackTokenIds: string[];
}

export type DeploymentStatus = DeploymentState;

/** A deployment's live view; the control API adds its binding and traffic to it. */
export type DeploymentView = Pick<HostedDeployment, 'name' | 'status' | 'tunnels' | 'inFlight' | 'upstreamKind' | 'upstreamModel' | 'connectedSince' | 'rttMs' | 'members'>;

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

  /** Replaces all bindings (at start, and whenever the store changed). */
  loadBindings(records: ReadonlyArray<{ name: string; tokenId: string; pool?: string[] }>): void {
    if (!this.loaded) {
      this.loaded = true;
      for (const record of records) this.boundAtStart.add(record.name);
    }
    const next = new Map(records.map((r) => [r.name, deploymentTokens(r)]));
    for (const name of [...this.bindings.keys()]) if (!next.has(name)) this.unbind(name);
    for (const [name, tokenIds] of next) this.bind(name, tokenIds);
  }

  /** The deployment a tunnel currently serves (null while unbound or retired). */
  servingName(entry: TunnelEntry): string | null {
    if (entry.retired) return null;
    const own = this.nameByToken.get(entry.tokenId);
    if (own) return own;
    for (const [name, binding] of this.bindings) if (binding.fallbackTokenIds.includes(entry.tokenId)) return name;
    return null;
  }

  /**
   * Binds `name` to `tokens` (one token, or a pool). Tokens that leave a name that still has
   * a ready member drain at once; when none of the new tokens has a ready tunnel yet, the
   * leaving ones keep serving until one has (the swap).
   */
  bind(name: string, tokens: string | readonly string[]): void {
    const tokenIds = typeof tokens === 'string' ? [tokens] : [...tokens];
    const current = this.bindings.get(name);
    if (current && sameSet(current.tokenIds, tokenIds)) return;
    // A token serves one name: joining this one releases it from another.
    for (const tokenId of tokenIds) {
      const oldName = this.nameByToken.get(tokenId);
      if (oldName !== undefined && oldName !== name) this.release(oldName, tokenId);
    }
    const leaving = current ? [...current.tokenIds, ...current.fallbackTokenIds].filter((t) => !tokenIds.includes(t)) : [];
    const staying = tokenIds.some((t) => this.readyTunnels(t).length > 0);
    const fallbackTokenIds = staying ? [] : leaving.filter((t) => this.readyTunnels(t).length > 0);
    for (const tokenId of current?.tokenIds ?? []) if (!tokenIds.includes(tokenId)) this.nameByToken.delete(tokenId);
    this.bindings.set(name, { tokenIds, fallbackTokenIds });
    for (const tokenId of tokenIds) this.nameByToken.set(tokenId, name);
    this.log.info(`deployment '${peerText(name)}' bound to token${tokenIds.length > 1 ? 's' : ''} ${tokenIds.join(', ')}${fallbackTokenIds.length ? ` (token ${fallbackTokenIds.join(', ')} serves until it is online)` : ''}`);
    for (const tokenId of tokenIds) for (const entry of this.tunnelsByToken.get(tokenId) ?? []) this.onSettingsChange(entry);
    for (const tokenId of leaving) if (!fallbackTokenIds.includes(tokenId)) this.retire(tokenId, `deployment '${name}' moved to another tunnel`);
    this.completeSwap(name);
  }

  unbind(name: string): void {
    const binding = this.bindings.get(name);
    if (!binding) return;
    this.bindings.delete(name);
    for (const tokenId of binding.tokenIds) this.nameByToken.delete(tokenId);
    for (const tokenId of [...binding.tokenIds, ...binding.fallbackTokenIds]) {
      for (const entry of this.tunnelsByToken.get(tokenId) ?? []) this.onSettingsChange(entry);
    }
    for (const tokenId of binding.fallbackTokenIds) this.retire(tokenId, `deployment '${name}' was removed`);
  }

  add(entry: TunnelEntry): void {
    let set = this.tunnelsByToken.get(entry.tokenId);
    if (!set) this.tunnelsByToken.set(entry.tokenId, (set = new Set()));
    set.add(entry);
  }

  /** The tunnel finished its handshake (or, for a remote member, became reachable) and can take streams. */
  markReady(entry: TunnelEntry): void {
    if (!entry.replica) this.onSettingsChange(entry);
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
   * The member a new request for `name` should use, other than those in `exclude` (members
   * that already failed it): by least outstanding requests among the usable members of the
   * bound tokens (else of the tokens it is swapping away from); healthy before failing,
   * this gateway's own before other replicas'.
   */
  pick(name: string, exclude?: ReadonlySet<TunnelEntry>): TunnelEntry | null {
    const binding = this.bindings.get(name);
    if (!binding) return null;
    return bestMember(binding.tokenIds.flatMap((t) => this.readyTunnels(t)), exclude) ?? bestMember(binding.fallbackTokenIds.flatMap((t) => this.readyTunnels(t)), exclude);
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
    const last = Math.max(0, ...[...binding.tokenIds, ...binding.fallbackTokenIds].map((t) => this.lastOnline.get(t) ?? 0));
    return now - last <= withinMs;
  }

  names(): string[] {
    return [...this.bindings.keys()].sort();
  }

  view(name: string): DeploymentView | null {
    const binding = this.bindings.get(name);
    if (!binding) return null;
    const own = binding.tokenIds.flatMap((t) => this.readyTunnels(t));
    const fallback = binding.fallbackTokenIds.flatMap((t) => this.readyTunnels(t));
    const serving = own.length > 0 ? own : fallback;
    const first = serving.find((e) => !e.upstreamDown) ?? serving[0];
    const draining = [...binding.tokenIds, ...binding.fallbackTokenIds].flatMap((t) => [...(this.tunnelsByToken.get(t) ?? [])]).filter((e) => e.hello && !serving.includes(e));
    return {
      name,
      status: own.length > 0 ? 'online' : fallback.length > 0 ? 'swapping' : 'offline',
      tunnels: serving.length,
      inFlight: serving.reduce((sum, e) => sum + outstanding(e), 0),
      upstreamKind: first?.hello?.upstreamKind ?? null,
      upstreamModel: first?.hello?.model ?? null,
      connectedSince: serving.length ? Math.min(...serving.map((e) => e.connectedAt)) : null,
      rttMs: meanRtt(serving.filter((e) => !e.replica)),
      members: [...serving, ...draining].map((e) => memberView(e, serving.includes(e))),
    };
  }

  /** Names with at least one tunnel able to take a request. */
  onlineNames(): string[] {
    return this.names().filter((name) => this.pick(name) !== null);
  }

  /** This gateway's own tunnels (members other replicas hold are not included). */
  allTunnels(): TunnelEntry[] {
    return [...this.tunnelsByToken.values()].flatMap((set) => [...set]).filter((e) => !e.replica);
  }

  private readyTunnels(tokenId: string): TunnelEntry[] {
    const set = this.tunnelsByToken.get(tokenId);
    if (!set) return [];
    const out: TunnelEntry[] = [];
    for (const entry of set) if (entry.hello && !entry.retired && entry.session.canOpenStream) out.push(entry);
    return out;
  }

  /** `tokenId` leaves `name` (it joined another); the rest of the pool keeps the name. */
  private release(name: string, tokenId: string): void {
    const binding = this.bindings.get(name);
    if (!binding) return;
    const rest = binding.tokenIds.filter((t) => t !== tokenId);
    if (rest.length === 0) return this.unbind(name);
    this.nameByToken.delete(tokenId);
    binding.tokenIds = rest;
  }

  /** Once a bound token has a ready tunnel, the fallback tokens' tunnels drain. */
  private completeSwap(name: string): void {
    const binding = this.bindings.get(name);
    if (!binding?.fallbackTokenIds.length || !binding.tokenIds.some((t) => this.readyTunnels(t).length > 0)) return;
    const old = binding.fallbackTokenIds;
    binding.fallbackTokenIds = [];
    this.log.info(`deployment '${peerText(name)}' moved to token ${binding.tokenIds.join(', ')}; draining the tunnels of token ${old.join(', ')}`);
    for (const tokenId of old) this.retire(tokenId, `deployment '${name}' moved to another tunnel`);
  }

  /** Go-away to every own tunnel of `tokenId` not bound to a name; once idle they close. */
  private retire(tokenId: string, reason: string): void {
    if (this.nameByToken.has(tokenId)) return;
    for (const entry of this.tunnelsByToken.get(tokenId) ?? []) {
      // Another replica retires its own tunnels: it follows the same bindings.
      if (entry.retired || entry.replica) continue;
      entry.retired = true;
      this.onSettingsChange(entry);
      void entry.session.goAway(reason).then(() => entry.session.close(CloseCode.Replaced, reason));
    }
  }
}

/** Requests a member has open from this gateway: its tunnel's streams, or the hops sent to it. */
export function outstanding(entry: TunnelEntry): number {
  return entry.replica ? (entry.hops ?? 0) : entry.session.streamCount;
}

function memberView(entry: TunnelEntry, serving: boolean): DeploymentMember {
  return {
    id: entry.id,
    tokenId: entry.tokenId,
    replica: entry.replica ?? null,
    state: !serving ? 'draining' : entry.upstreamDown ? 'upstream-down' : 'serving',
    inFlight: entry.replica ? null : entry.session.streamCount,
    rttMs: entry.replica ? null : entry.session.rttMs,
    address: entry.remoteAddress,
    connectedSince: entry.connectedAt,
    upstreamKind: entry.hello?.upstreamKind ?? null,
    upstreamModel: entry.hello?.model ?? null,
  };
}

/** Healthy members before failing ones, own before remote; the least outstanding of the first group that has any. */
function bestMember(entries: TunnelEntry[], exclude: ReadonlySet<TunnelEntry> | undefined): TunnelEntry | null {
  let best: TunnelEntry | null = null;
  let bestRank = Infinity;
  for (const entry of entries) {
    if (exclude?.has(entry)) continue;
    const rank = (entry.upstreamDown ? 2 : 0) + (entry.replica ? 1 : 0);
    if (rank < bestRank || (rank === bestRank && outstanding(entry) < outstanding(best!))) {
      best = entry;
      bestRank = rank;
    }
  }
  return best;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function meanRtt(entries: TunnelEntry[]): number | null {
  const rtts = entries.map((e) => e.session.rttMs).filter((rtt): rtt is number => rtt !== null);
  return rtts.length ? rtts.reduce((a, b) => a + b, 0) / rtts.length : null;
}
