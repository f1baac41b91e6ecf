import { describe, expect, it } from 'vitest';
import { redact } from '../main/logging/logger.js';

// The redacting logger finds secrets with /\b(tt-|sk-tokios-)…/: a secret right after a word
// character (a percent-encoded quote, a digit, an underscore, "Bearer" without a space) has
// no word boundary before it and is kept whole.
const token = 'tt-CANARYcanary0123456789abcdefghijklmnopqrst';
const key = 'sk-tokios-CANARYcanary0123456789abcdefghijklmnopqr';

describe('redact', () => {
  it.each([
    ['percent-encoded JSON', `body=%7B%22tunnel_token%22%3A%22${token}%22%7D`],
    ['query after an underscore', `GET /x?api_key_${key}`],
    ['no space after Bearer', `authorization: Bearer${key}`],
  ])('removes a secret in %s', (_what, line) => {
    const out = redact(line);
    expect(out).not.toContain('CANARY');
  });
});
