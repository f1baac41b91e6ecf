import { parseCorsOrigins } from '../../gateway/dialects/cors-policy.js';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseDuration } from '../../../shared/durations.js';
import { TokiosError } from '../../../shared/errors.js';
import { startGateway } from '../../gateway/gateway-server.js';
import { installLastResortHandler } from '../../logging/last-resort-handler.js';
import { Logger } from '../../logging/logger.js';
import { type Command, ExitCode, defaultGatewayDataDir, openStore, parsePort, positiveInt, storeUrl, waitForShutdownSignal } from '../cli-support.js';
import type { ReplicationOptions } from '../../gateway/gateway-server.js';

function readPem(file: string, flag: string): Buffer {
  try {
    const pem = readFileSync(file);
    if (!pem.includes('-----BEGIN ')) throw new TokiosError('USAGE', `${flag} ${file}: not a PEM file (it should start with -----BEGIN …)`);
    return pem;
  } catch (error) {
    if (error instanceof TokiosError) throw error;
    throw new TokiosError('USAGE', `${flag} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

function tlsOptions(values: Parameters<Command['run']>[0]): { cert: Buffer; key: Buffer } | undefined {
  const cert = values['tls-cert'];
  const key = values['tls-key'];
  if (cert === undefined && key === undefined) return undefined;
  if (typeof cert !== 'string' || typeof key !== 'string') throw new TokiosError('USAGE', 'tokios gateway: --tls-cert and --tls-key go together');
  return { cert: readPem(cert, '--tls-cert'), key: readPem(key, '--tls-key') };
}

function trustedProxies(value: string | boolean | string[] | undefined): string[] | undefined {
  if (typeof value !== 'string') return undefined;
  const list = value.split(',').map((a) => a.trim()).filter(Boolean);
  for (const address of list) if (!isIP(address)) throw new TokiosError('USAGE', `--trust-proxy: '${address}' is not an IP address (list the proxies' addresses, e.g. 127.0.0.1)`);
  return list;
}

export const gatewayCommand: Command = {
  name: 'gateway',
  help: `Usage: tokios gateway [--port P] [--data DIR] [--host H] [--tls-cert F --tls-key F] [--cors-origin ORIGIN]…
       tokios gateway --store postgres://… --redis redis://… [--advertise URL] [options]

Runs the routing gateway: clients call it with an API key and choose a deployment by
the request's "model"; connectors reach it over WebSocket tunnels at /v1/tunnel.
OpenAI (Chat Completions, Responses), Anthropic (Messages) and Ollama clients all work:
requests an upstream does not speak are translated, or answered 501 when they cannot be.

Prints its base URL as the first line of stdout (logs go to stderr), serves until
SIGTERM or Ctrl-C, then drains: requests in flight finish, new ones get 503.

Replicas: any number of gateways started with the same --store and --redis form one
gateway behind any load balancer; each accepts any request and reaches the tunnel
wherever it is (over an authenticated link between replicas).

Options:
  --port P         port to listen on (default 8787; 0 picks a free one)
  --host H         address to bind (default 127.0.0.1; 0.0.0.0 to accept other machines)
  --data DIR       where keys, tokens and deployments are kept
                   (default ${defaultGatewayDataDir()}); with --store, only where
                   usage a stopping gateway could not write waits for the next start
  --store URL      keep them in PostgreSQL instead (postgres://user@host:5432/db, or
                   TOKIOS_STORE; the password in PGPASSWORD or ~/.pgpass); the schema is
                   created and migrated on start
  --redis URL      run as one replica of many (redis://host:6379, or TOKIOS_REDIS):
                   which replica holds which tunnel, and limits exact across replicas
  --advertise URL  how the other replicas reach this one (default: the URL it listens
                   on; needed with --host 0.0.0.0)
  --limits-when-redis-down open|closed
                   while Redis is unreachable: open (default) lets requests through,
                   each replica counting limits alone; closed refuses requests of keys
                   with limits (503)
  --max-body N     largest request body in bytes (default 33554432)
  --max-held-bodies N
                   request body bytes held at once across all requests (default
                   268435456); past it new requests get 503 until some finish
  --max-connections N
                   open connections at once, tunnels included (default 8192); when
                   all are open, a new one replaces the one idle longest, and a
                   connection must send its first request within 5 s
  --max-connections-per-address N
                   open connections at once from one address, or one IPv6 /64
                   (default an eighth of --max-connections: 1024; behind a reverse
                   proxy every client shares its address: raise it)
  --heartbeat MS   tunnel heartbeat interval (default 10000)
  --register-with-key-only
                   accept 'tokios register' only with an admin API key (TOKIOS_API_KEY),
                   not with the tunnel token alone: for gateways other people can reach
  --cors-origin ORIGIN
                   let browser apps from ORIGIN (e.g. http://localhost:5173) call the
                   gateway; repeat it, or separate origins with commas; * allows any.
                   Without it, cross-origin browser requests are refused
  --tls-cert F     serve HTTPS and WSS with the certificate chain in F (PEM)
  --tls-key F      ... and its private key (PEM)
  --trust-proxy A  believe X-Forwarded-For / -Proto from these proxy addresses (comma
                   list, e.g. 127.0.0.1 behind Caddy on the same machine; default: none)
  --signup MODE    closed (default): accounts are made with 'tokios account create';
                   open: anyone may sign up on the dashboard
  --session-ttl D  how long a dashboard sign-in lasts (default 12h)
  -h, --help       show this help

Then:  tokios key create --data DIR      an API key for clients
       tokios token create --data DIR    a tunnel token for a connector`,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    data: { type: 'string' },
    'max-body': { type: 'string' },
    'max-held-bodies': { type: 'string' },
    'max-connections': { type: 'string' },
    'max-connections-per-address': { type: 'string' },
    heartbeat: { type: 'string' },
    'register-with-key-only': { type: 'boolean' },
    'cors-origin': { type: 'string', multiple: true },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'trust-proxy': { type: 'string' },
    signup: { type: 'string' },
    'session-ttl': { type: 'string' },
    store: { type: 'string' },
    redis: { type: 'string' },
    advertise: { type: 'string' },
    'limits-when-redis-down': { type: 'string' },
  },
  async run(values) {
    const dataDir = (values.data as string | undefined) ?? defaultGatewayDataDir();
    const maxBody = positiveInt(values, 'max-body');
    const heartbeat = positiveInt(values, 'heartbeat');
    const maxHeld = positiveInt(values, 'max-held-bodies');
    const maxConnections = positiveInt(values, 'max-connections');
    const maxPerAddress = positiveInt(values, 'max-connections-per-address');
    const corsOrigins = parseCorsOrigins((values['cors-origin'] as string[] | undefined) ?? [], '--cors-origin');
    const log = new Logger('gateway');
    installLastResortHandler({ log });
    const tls = tlsOptions(values);
    const trustProxy = trustedProxies(values['trust-proxy']);
    const signup = (values.signup as string | undefined) ?? 'closed';
    if (signup !== 'open' && signup !== 'closed') throw new TokiosError('USAGE', `--signup must be open or closed, got '${signup}'`);
    const sessionTtlMs = values['session-ttl'] === undefined ? undefined : parseDuration(values['session-ttl'] as string);
    if (sessionTtlMs === null) throw new TokiosError('USAGE', `--session-ttl must be a duration such as 12h or 30m, got '${String(values['session-ttl'])}'`);
    const replication = replicationOptions(values);
    const store = storeUrl(values) === undefined ? undefined : await openStore(values, log);
    const gateway = await startGateway({
      ...(store ? { store } : {}),
      ...(replication ? { replication } : {}),
      ...(tls ? { tls } : {}),
      ...(trustProxy ? { trustProxy } : {}),
      ...(sessionTtlMs ? { sessionTtlMs } : {}),
      signup: signup === 'open',
      dataDir,
      host: (values.host as string | undefined) ?? '127.0.0.1',
      port: parsePort((values.port as string | undefined) ?? '8787'),
      log,
      registerNeedsApiKey: values['register-with-key-only'] === true,
      corsOrigins,
      ...(maxBody ? { maxBodyBytes: maxBody } : {}),
      ...(heartbeat ? { heartbeatMs: heartbeat } : {}),
      ...(maxHeld ? { maxHeldBodyBytes: maxHeld } : {}),
      ...(maxConnections ? { maxConnections } : {}),
      ...(maxPerAddress ? { maxConnectionsPerAddress: maxPerAddress } : {}),
    });
    process.stdout.write(`${gateway.url}\n`);
    if ((await gateway.store.deployments()).length === 0) {
      const where = store ? '--store URL (the same database)' : `--data ${dataDir}`;
      log.info(`no deployments yet: mint a tunnel token with 'tokios token create ${where}', then 'tokios register --gateway ${gateway.url} --name NAME --token TOKEN'`);
    }
    const signal = await waitForShutdownSignal();
    log.info(`${signal}: draining`);
    await gateway.close();
    await store?.close();
    return ExitCode.Ok;
  },
};

function replicationOptions(values: Parameters<Command['run']>[0]): ReplicationOptions | undefined {
  const redisUrl = typeof values.redis === 'string' ? values.redis : process.env.TOKIOS_REDIS || undefined;
  const whenDown = (values['limits-when-redis-down'] as string | undefined) ?? 'open';
  if (whenDown !== 'open' && whenDown !== 'closed') throw new TokiosError('USAGE', `--limits-when-redis-down must be open or closed, got '${whenDown}'`);
  if (redisUrl === undefined) {
    if (values.advertise !== undefined) throw new TokiosError('USAGE', '--advertise is for replicas: give --redis too');
    return undefined;
  }
  if (!/^rediss?:\/\//.test(redisUrl)) throw new TokiosError('USAGE', `--redis takes a Redis URL (redis://host:6379), got '${redisUrl.slice(0, 40)}'`);
  if (storeUrl(values) === undefined) throw new TokiosError('USAGE', 'replicas share their store: give --store postgres://… with --redis');
  const advertise = values.advertise as string | undefined;
  if (advertise !== undefined && !/^https?:\/\/[^/]+/.test(advertise)) throw new TokiosError('USAGE', `--advertise must be an http(s) URL (how other replicas reach this one), got '${advertise}'`);
  return { redisUrl, limitsWhenRedisDown: whenDown, ...(advertise ? { advertiseUrl: advertise } : {}) };
}
