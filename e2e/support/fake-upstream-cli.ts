import { parseArgs } from 'node:util';
import { startFakeLlamaServer } from './fake-llama-server.js';
import { startFakeOllama } from './fake-ollama.js';

/**
 * Runs a test upstream on its own, for trying Tokios by hand without a GPU and for the
 * benchmarks:  npx tsx e2e/support/fake-upstream-cli.ts --kind ollama --port 11434
 */
const { values } = parseArgs({
  options: {
    kind: { type: 'string', default: 'ollama' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    label: { type: 'string' },
    models: { type: 'string' },
    'token-interval': { type: 'string', default: '20' },
    tokens: { type: 'string', default: '16' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(`Usage: fake-upstream-cli --kind ollama|llamacpp [--port P] [--label TEXT] [--models a,b] [--token-interval MS] [--tokens N]\n`);
  process.exit(0);
}
const options = {
  host: values.host,
  port: Number(values.port),
  tokenIntervalMs: Number(values['token-interval']),
  defaultTokens: Number(values.tokens),
  ...(values.label ? { label: values.label } : {}),
  ...(values.models ? { models: values.models.split(',') } : {}),
};
const upstream = values.kind === 'llamacpp' ? await startFakeLlamaServer(options) : await startFakeOllama(options);
process.stdout.write(`${upstream.url}\n`);
const stop = (): void => void upstream.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
