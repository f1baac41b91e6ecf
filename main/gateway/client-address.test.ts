import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ClientAddress } from './client-address.js';

function req(remoteAddress: string, headers: Record<string, string> = {}, encrypted = false): IncomingMessage {
  return { socket: { remoteAddress, encrypted }, headers } as unknown as IncomingMessage;
}

describe('client address', () => {
  it('ignores X-Forwarded-For unless the peer is a trusted proxy (off by default)', () => {
    expect(new ClientAddress().of(req('127.0.0.1', { 'x-forwarded-for': '203.0.113.9' }))).toBe('127.0.0.1');
    expect(new ClientAddress(['10.0.0.2']).of(req('::ffff:127.0.0.1', { 'x-forwarded-for': '203.0.113.9' }))).toBe('127.0.0.1');
  });

  it('takes the nearest hop the proxies did not add, so a client cannot forge its own', () => {
    const behindCaddy = new ClientAddress(['127.0.0.1']);
    expect(behindCaddy.of(req('::ffff:127.0.0.1', { 'x-forwarded-for': '203.0.113.9' }))).toBe('203.0.113.9');
    // The client sent "1.2.3.4" itself; the proxy appended the real address.
    expect(behindCaddy.of(req('127.0.0.1', { 'x-forwarded-for': '1.2.3.4, 203.0.113.9' }))).toBe('203.0.113.9');
    expect(new ClientAddress(['127.0.0.1', '10.0.0.2']).of(req('127.0.0.1', { 'x-forwarded-for': '203.0.113.9, 10.0.0.2' }))).toBe('203.0.113.9');
    expect(behindCaddy.of(req('127.0.0.1', { 'x-forwarded-for': 'garbage' }))).toBe('127.0.0.1');
  });

  it('believes X-Forwarded-Proto only from a trusted proxy', () => {
    expect(new ClientAddress().secure(req('127.0.0.1', { 'x-forwarded-proto': 'https' }))).toBe(false);
    expect(new ClientAddress(['127.0.0.1']).secure(req('127.0.0.1', { 'x-forwarded-proto': 'https' }))).toBe(true);
    expect(new ClientAddress().secure(req('127.0.0.1', {}, true))).toBe(true);
  });
});
