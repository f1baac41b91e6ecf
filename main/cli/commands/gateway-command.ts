import { parseCorsOrigins } from '../../gateway/dialects/cors-policy.js';
import { startGateway } from '../../gateway/gateway-server.js';
import { installLastResortHandler } from '../../logging/last-resort-handler.js';
import { Logger } from '../../logging/logger.js';
import { type Command, ExitCode, defaultGatewayDataDir, parsePort, positiveInt, waitForShutdownSignal } from '../cli-support.js';

export const gatewayCommand: Command = {
  name: 'gateway',
  help: `Usage: tokios gateway [--port P] [--data DIR] [--host H] [--cors-origin ORIGIN]…

Runs the routing gateway: clients call it with an API key and choose a deployment by
the request's "model"; connectors reach it over WebSocket tunnels at /v1/tunnel.
OpenAI (Chat Completions, Responses), Anthropic (Messages) and Ollama clients all work:
requests an upstream does not speak are translated, or answered 501 when they cannot be.

Prints its base URL as the first line of stdout (logs go to stderr), serves until
SIGTERM or Ctrl-C, then drains: requests in flight finish, new ones get 503.

Options:
  --port P         port to listen on (default 8787; 0 picks a free one)
  --host H         address to bind (default 127.0.0.1; 0.0.0.0 to accept other machines)
  --data DIR       where keys, tokens and deployments are kept
                   (default ${defaultGatewayDataDir()})
  --max-body N     largest request body in bytes (default 33554432)
  --max-held-bodies N
                   request body bytes held at once across all requests (default
                   268435456); past it new requests get 503 until some finish
  --max-connections N
                   open connections at once, tunnels included (default 8192)
  --max-connections-per-address N
                   open connections at once from one address (default 2048; behind a
                   reverse proxy every client shares its address: raise it)
  --heartbeat MS   tunnel heartbeat interval (default 10000)
  --register-with-key-only
                   accept 'tokios register' only with an API key (TOKIOS_API_KEY), not
                   with the tunnel token alone: for gateways other people can reach
  --cors-origin ORIGIN
                   let browser apps from ORIGIN (e.g. http://localhost:5173) call the
                   gateway; repeat it, or separate origins with commas; * allows any.
                   Without it, cross-origin browser requests are refused
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
    const gateway = await startGateway({
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
      log.info(`no deployments yet: mint a tunnel token with 'tokios token create --data ${dataDir}', then 'tokios register --gateway ${gateway.url} --name NAME --token TOKEN'`);
    }
    const signal = await waitForShutdownSignal();
    log.info(`${signal}: draining`);
    await gateway.close();
    return ExitCode.Ok;
  },
};
