import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Redis } from 'ioredis';
import type { HelloPayload } from '../../shared/tunnel-protocol.js';
import { redactUrl, type Logger } from '../logging/logger.js';
import type { TunnelSession } from '../tunnel/tunnel-session.js';
import type { AccountRegistries } from './account-registries.js';
import { PeerLinks } from './peer-links.js';
import { newId } from './secrets.js';
import type { TunnelEntry } from './tunnel-registry.js';

/**
 * This gateway as one replica of many, through Redis: which replicas are alive (a key each,
 * refreshed every second, gone 3 s after its replica stops), which tunnels each one holds (a
 * hash per replica, changes announced on one pub/sub channel), and a peer link to every
 * other live replica. A member another replica holds is in this gateway's registries — so
 * `pick` can choose it — exactly while that replica is alive and linked; a replica that dies
 * takes its members with it at once (its links drop), and its records are swept.
 *
 * Redis going away changes nothing already known: the members stay, the links carry on.
 * When it is back (a restart without persistence forgets everything) each replica writes its
 * own tunnels again and reads everyone else's.
 */

const KEY_REPLICAS = 'tokios:replicas';
export const ALIVE_PREFIX = 'tokios:alive:';
const TUNNELS_PREFIX = 'tokios:tunnels:';
const CHANNEL = 'tokios:directory';
const ALIVE_MS = 3000;
const HEARTBEAT_MS = 1000;

/** What other replicas learn of one of this replica's tunnels. */
interface TunnelRecord {
  id: string;
  accountId: string;
  tokenId: string;
  hello: HelloPayload;
  connectedAt: number;
  remoteAddress: string;
  upstreamDown: boolean;
  draining: boolean;
}

type DirectoryMessage = { replica: string; tunnel: string; record: TunnelRecord | null } | { replica: string; refresh: true };

export interface ReplicaSetOptions {
  redisUrl: string;
  /** What replicas present to one another (derived from the shared store's secret). */
  credential: string;
  registries: AccountRegistries;
  /** This replica's own tunnel by id (the holder's side of a hop). */
  tunnel: (id: string) => TunnelEntry | undefined;
  heartbeatMs: number;
  log: Logger;
}

export class ReplicaSet {
  readonly id = newId('rep');
  /** Commands (and the limit counters' scripts); fails fast while Redis is away. */
  readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly links: PeerLinks;
  /** Other replicas' tunnels as Redis last said, by replica. */
  private readonly remote = new Map<string, Map<string, TunnelRecord>>();
  /** Members of linked replicas in the registries, by replica then tunnel id. */
  private readonly members = new Map<string, Map<string, TunnelEntry>>();
  private readonly sessions = new Map<string, TunnelSession>();
  private readonly own = new Map<string, TunnelEntry>();
  private timer: NodeJS.Timeout | null = null;
  private redisDown = false;
  private closing = false;
  /** How other replicas reach this one (its peer link endpoint is under it); known once it listens. */
  private advertiseUrl = '';
  /** Called once Redis is back after an outage (the limit counters resync). */
  onRedisBack: () => void = () => undefined;

  constructor(private readonly options: ReplicaSetOptions) {
    const common = { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 2000, commandTimeout: 1000, retryStrategy: () => 500 };
    this.redis = new Redis(options.redisUrl, { ...common, connectionName: `tokios-${this.id}` });
    this.subscriber = new Redis(options.redisUrl, { ...common, commandTimeout: undefined, connectionName: `tokios-${this.id}-sub` });
    for (const client of [this.redis, this.subscriber]) client.on('error', () => undefined);
    this.links = new PeerLinks({
      replicaId: this.id,
      credential: options.credential,
      ownUrl: () => this.advertiseUrl,
      log: options.log,
      heartbeatMs: options.heartbeatMs,
      tunnel: options.tunnel,
      onLink: (replica, session) => this.onLink(replica, session),
    });
  }

  /** Connects to Redis, announces this replica (reachable at `advertiseUrl`) and starts following the others. */
  async start(advertiseUrl: string): Promise<void> {
    const { log } = this.options;
    this.advertiseUrl = advertiseUrl;
    try {
      await Promise.all([this.redis.connect(), this.subscriber.connect()]);
      await this.subscriber.subscribe(CHANNEL);
    } catch (error) {
      throw new Error(`cannot reach Redis at ${redactUrl(this.options.redisUrl, 'Redis')}: ${(error as Error).message}; check --redis (and that Redis is running)`, { cause: error });
    }
    this.subscriber.on('message', (_channel: string, text: string) => this.onMessage(text));
    this.redis.on('ready', () => {
      if (!this.redisDown) return;
      this.redisDown = false;
      log.info('Redis is back: announcing this replica and its tunnels again');
      void this.announceAll().then(() => this.scan());
      this.onRedisBack();
    });
    this.redis.on('close', () => {
      if (this.redisDown || this.closing) return;
      this.redisDown = true;
      log.warn(`lost Redis at ${redactUrl(this.options.redisUrl, 'Redis')}: serving on with what is known (members, links); reconnecting`);
    });
    await this.announceAll();
    await this.scan();
    this.timer = setInterval(() => void this.scan(), HEARTBEAT_MS);
    this.timer.unref();
    log.info(`replica ${this.id} joined (advertised at ${this.advertiseUrl})`);
  }

  /** The HTTP server's upgrade handler for the peer link path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.links.handleUpgrade(req, socket, head);
  }

  /** One of this replica's tunnels changed (ready, health, draining) or closed: tell the others. */
  tunnelChanged(entry: TunnelEntry, gone: boolean): void {
    if (gone) this.own.delete(entry.id);
    else if (entry.hello) this.own.set(entry.id, entry);
    else return;
    const record = gone ? null : recordOf(entry);
    const key = TUNNELS_PREFIX + this.id;
    const pipeline = this.redis.pipeline();
    if (record) pipeline.hset(key, entry.id, JSON.stringify(record));
    else pipeline.hdel(key, entry.id);
    pipeline.publish(CHANNEL, JSON.stringify({ replica: this.id, tunnel: entry.id, record } satisfies DirectoryMessage));
    // Lost while Redis is away: announceAll() writes everything again once it is back.
    pipeline.exec().catch(() => undefined);
  }

  /** Requests other replicas have in flight through this one. */
  get relaying(): number {
    return this.links.relaying;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    this.links.close();
    // Leaving on purpose: the others drop this replica at once instead of after its key expires.
    await this.redis.multi().del(ALIVE_PREFIX + this.id, TUNNELS_PREFIX + this.id).srem(KEY_REPLICAS, this.id).publish(CHANNEL, JSON.stringify({ replica: this.id, refresh: true })).exec().catch(() => undefined);
    this.redis.disconnect();
    this.subscriber.disconnect();
  }

  // ---- Redis side -------------------------------------------------------------------------

  private async announceAll(): Promise<void> {
    const key = TUNNELS_PREFIX + this.id;
    const pipeline = this.redis.multi().set(ALIVE_PREFIX + this.id, this.advertiseUrl, 'PX', ALIVE_MS).sadd(KEY_REPLICAS, this.id).del(key);
    for (const entry of this.own.values()) pipeline.hset(key, entry.id, JSON.stringify(recordOf(entry)));
    pipeline.publish(CHANNEL, JSON.stringify({ replica: this.id, refresh: true } satisfies DirectoryMessage));
    await pipeline.exec().catch(() => undefined);
  }

  /** Heartbeat, and who is alive: link to newcomers, drop and sweep the dead. */
  private async scan(): Promise<void> {
    try {
      await this.redis.set(ALIVE_PREFIX + this.id, this.advertiseUrl, 'PX', ALIVE_MS);
      const ids = await this.redis.smembers(KEY_REPLICAS);
      const urls = ids.length ? await this.redis.mget(ids.map((id) => ALIVE_PREFIX + id)) : [];
      const alive = new Map<string, string>();
      ids.forEach((id, i) => {
        if (urls[i]) alive.set(id, urls[i]!);
      });
      for (const id of ids) {
        if (alive.has(id)) continue;
        this.forget(id);
        await this.redis.multi().srem(KEY_REPLICAS, id).del(TUNNELS_PREFIX + id).exec();
      }
      for (const [id, url] of alive) if (id !== this.id) this.links.ensure(id, url);
      for (const id of [...this.remote.keys()]) if (!alive.has(id)) this.forget(id);
    } catch {
      // Redis away: keep what is known; the 'ready' handler resyncs.
    }
  }

  private onMessage(text: string): void {
    let message: DirectoryMessage;
    try {
      message = JSON.parse(text) as DirectoryMessage;
    } catch {
      return;
    }
    if (message.replica === this.id) return;
    if ('refresh' in message) return void this.reload(message.replica);
    let tunnels = this.remote.get(message.replica);
    if (!tunnels) this.remote.set(message.replica, (tunnels = new Map()));
    if (message.record) tunnels.set(message.tunnel, message.record);
    else tunnels.delete(message.tunnel);
    this.reconcile(message.replica);
  }

  /** Reads one replica's tunnels afresh. */
  private async reload(replica: string): Promise<void> {
    try {
      const all = await this.redis.hgetall(TUNNELS_PREFIX + replica);
      const tunnels = new Map<string, TunnelRecord>();
      for (const [id, text] of Object.entries(all)) {
        try {
          tunnels.set(id, JSON.parse(text) as TunnelRecord);
        } catch {
          // a record this version cannot read: skip it
        }
      }
      this.remote.set(replica, tunnels);
      this.reconcile(replica);
    } catch {
      // Redis away: the next 'ready' reloads everything.
    }
  }

  /** A replica is gone: its members leave every registry, its link is dropped. */
  private forget(replica: string): void {
    if (replica === this.id) return;
    this.remote.delete(replica);
    this.links.drop(replica);
    this.sessions.delete(replica);
    this.reconcile(replica);
  }

  // ---- registries ---------------------------------------------------------------------------

  private onLink(replica: string, session: TunnelSession | null): void {
    if (session) {
      this.sessions.set(replica, session);
      void this.reload(replica);
    } else {
      this.sessions.delete(replica);
      this.reconcile(replica);
    }
  }

  /** Makes the registries hold exactly the members of `replica` Redis knows, while it is linked. */
  private reconcile(replica: string): void {
    const session = this.sessions.get(replica);
    const records = session ? (this.remote.get(replica) ?? new Map<string, TunnelRecord>()) : new Map<string, TunnelRecord>();
    let present = this.members.get(replica);
    if (!present) this.members.set(replica, (present = new Map()));
    for (const [id, entry] of present) {
      if (records.has(id) && entry.session === session) continue;
      this.options.registries.forAccount(entry.accountId).remove(entry);
      present.delete(id);
    }
    for (const [id, record] of records) {
      const registry = this.options.registries.forAccount(record.accountId);
      let entry = present.get(id);
      const wasUsable = entry ? !entry.retired && !entry.upstreamDown : false;
      if (!entry) {
        entry = { id, accountId: record.accountId, tokenId: record.tokenId, session: session!, hello: record.hello, connectedAt: record.connectedAt, remoteAddress: record.remoteAddress, retired: record.draining, upstreamDown: record.upstreamDown, replica, hops: 0 };
        present.set(id, entry);
        registry.add(entry);
      } else {
        entry.retired = record.draining;
        entry.upstreamDown = record.upstreamDown;
        entry.hello = record.hello;
      }
      // A member that became usable: requests waiting for the deployment may go now.
      if (!wasUsable && !entry.retired && !entry.upstreamDown) registry.markReady(entry);
    }
    if (present.size === 0) this.members.delete(replica);
  }
}

function recordOf(entry: TunnelEntry): TunnelRecord {
  const hello = entry.hello!;
  return {
    id: entry.id,
    accountId: entry.accountId,
    tokenId: entry.tokenId,
    // The models list is only informative elsewhere; a long one need not travel.
    hello: { ...hello, models: hello.models.slice(0, 50) },
    connectedAt: entry.connectedAt,
    remoteAddress: entry.remoteAddress,
    upstreamDown: entry.upstreamDown ?? false,
    draining: entry.retired || entry.session.draining || entry.session.peerDraining,
  };
}
