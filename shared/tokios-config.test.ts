import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { parseTokiosConfig, serializeTokiosConfig } from './tokios-config.js';

const TOKEN = 'tt-0123456789abcdefghijABCDEFGHIJ0123456789abc';

function problem(text: string): ConfigError {
  try {
    parseTokiosConfig(text, 'tokios-gemma.json');
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('tokios.json', () => {
  it('accepts the minimal form and normalises the upstream URL', () => {
    expect(parseTokiosConfig(JSON.stringify({ tunnel_token: TOKEN, upstream: 'http://localhost:11434/' }), 'f.json')).toEqual({ tunnel_token: TOKEN, upstream: 'http://localhost:11434' });
  });

  it('accepts the optional name, model and gateway', () => {
    const config = parseTokiosConfig(JSON.stringify({ tunnel_token: TOKEN, upstream: 'http://127.0.0.1:8080', name: 'llama3-local', model: 'llama3.2:1b', gateway: 'https://gw.example.com/' }), 'f.json');
    expect(config).toEqual({ tunnel_token: TOKEN, upstream: 'http://127.0.0.1:8080', name: 'llama3-local', model: 'llama3.2:1b', gateway: 'https://gw.example.com' });
  });

  it('names the file and the field in every error', () => {
    const cases: Array<[unknown, string | null, RegExp]> = [
      [{ upstream: 'http://x' }, 'tunnel_token', /is missing/],
      [{ tunnel_token: 'sk-tokios-abcdefghijabcdefghijabcdefghij', upstream: 'http://x' }, 'tunnel_token', /looks like an API key/],
      [{ tunnel_token: TOKEN }, 'upstream', /is missing/],
      [{ tunnel_token: TOKEN, upstream: 'localhost:11434' }, 'upstream', /must be an http\(s\) URL/],
      [{ tunnel_token: TOKEN, upstream: 'http://localhost:8080/v1' }, 'upstream', /without a path, e\.g\. http:\/\/localhost:8080/],
      [{ tunnel_token: TOKEN, upstream: 'ftp://x' }, 'upstream', /http\(s\)/],
      [{ tunnel_token: TOKEN, upstream: 'http://x', name: 'has space' }, 'name', /must start with a letter/],
      [{ tunnel_token: TOKEN, upstream: 'http://x', model: '' }, 'model', /non-empty/],
      [{ tunnel_token: TOKEN, upstream: 'http://x', gateway: 'nope' }, 'gateway', /must be a URL/],
      [{ tunnel_token: TOKEN, upstream: 'http://x', extra: 1 }, 'extra', /not a known field/],
      [[1, 2], null, /must be a JSON object/],
    ];
    for (const [value, field, message] of cases) {
      const error = problem(JSON.stringify(value));
      expect(error.field).toBe(field);
      expect(error.message).toMatch(/^tokios-gemma\.json: /);
      if (field) expect(error.message).toContain(`field \`${field}\``);
      expect(error.message).toMatch(message);
    }
  });

  it('reports broken JSON with where it broke', () => {
    expect(problem('{"tunnel_token": ').message).toMatch(/tokios-gemma\.json: is not valid JSON/);
  });

  it('never puts the token into an error', () => {
    const error = problem(JSON.stringify({ tunnel_token: 'tt-secret value', upstream: 'http://x' }));
    expect(error.message).not.toContain('secret value');
  });

  it('serializes back to what it parsed', () => {
    const config = { tunnel_token: TOKEN, upstream: 'http://localhost:11434', name: 'gemma-tunnel', model: 'gemma3:4b' };
    expect(parseTokiosConfig(serializeTokiosConfig(config), 'f.json')).toEqual(config);
  });
});
