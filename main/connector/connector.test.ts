import { describe, expect, it } from 'vitest';
import { plainTextTokenWarning } from './connector.js';

describe('connector: the token on the wire', () => {
  it('warns when the token would cross a network in plain http, never for loopback or TLS', () => {
    for (const url of ['http://127.0.0.1:8787', 'http://localhost:8787', 'http://[::1]:8787', 'http://gw.localhost', 'https://gateway.example.com', 'http://[::ffff:127.0.0.1]:1']) {
      expect(plainTextTokenWarning(url), url).toBeNull();
    }
    for (const url of ['http://gateway.example.com', 'http://10.0.0.5:8787', 'http://[fe80::1]:8787', 'http://127.example.com']) {
      expect(plainTextTokenWarning(url), url).toMatch(/plain http:\/\/.*use https:\/\//);
    }
  });
});
