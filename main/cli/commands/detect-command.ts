import { TokiosError } from '../../../shared/errors.js';
import { normalizeUpstreamUrl } from '../../../shared/tokios-config.js';
import { DEFAULT_DETECT_URLS } from '../../detect/upstream-detector.js';
import { probeUpstream } from '../../detect/upstream-probe.js';
import { type Command, ExitCode } from '../cli-support.js';

export const detectCommand: Command = {
  name: 'detect',
  help: `Usage: tokios detect [--json] [--url URL]... [--only]

Probes ${DEFAULT_DETECT_URLS.join(' and ')} (Ollama's and llama-server's default ports)
and any --url you add, and prints what answers: its kind, version and models.

Options:
  --url URL    also probe this base URL (repeatable)
  --only       probe only the --url ones
  --json       print every probe's result as JSON
  -h, --help   show this help`,
  options: { url: { type: 'string', multiple: true }, only: { type: 'boolean' }, json: { type: 'boolean' } },
  async run(values) {
    const extra = (values.url as unknown as string[] | undefined) ?? [];
    const urls = [...new Set([...(values.only ? [] : DEFAULT_DETECT_URLS), ...extra].map((u) => normalizeUpstreamUrl(u, (p) => new TokiosError('USAGE', `--url ${p}`))))];
    const results = await Promise.all(urls.map((url) => probeUpstream(url)));
    if (values.json) {
      process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      return ExitCode.Ok;
    }
    const found = results.filter((r) => r.reachable && r.kind !== 'unknown');
    if (found.length === 0) {
      process.stdout.write(`No model server found at ${urls.join(', ')}.
  Ollama:     install it from https://ollama.com, run 'ollama serve', then 'ollama pull gemma3:4b'
  llama.cpp:  llama-server -m model.gguf --port 8080
  Elsewhere:  tokios detect --url http://HOST:PORT
`);
      return ExitCode.Ok;
    }
    for (const info of found) {
      const what = info.kind === 'llamacpp' ? 'llama.cpp' : info.kind === 'ollama' ? 'Ollama' : 'OpenAI-compatible';
      process.stdout.write(`${info.url}  ${what}${info.version ? ` ${info.version}` : ''}${info.loading ? ' (loading its model)' : ''}\n`);
      for (const model of info.models) process.stdout.write(`    ${model}\n`);
      if (info.models.length === 0 && !info.loading) process.stdout.write('    (no models yet)\n');
    }
    return ExitCode.Ok;
  },
};
