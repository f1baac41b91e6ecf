import { createHash, randomBytes } from 'node:crypto';
import { API_KEY_PREFIX, TUNNEL_TOKEN_PREFIX } from '../../shared/names.js';

export type SecretKind = 'api-key' | 'tunnel-token' | 'session' | 'device-code';

/** Prefixes say what a secret is when someone finds one (and let the logger redact ours). */
const PREFIX: Record<SecretKind, string> = { 'api-key': API_KEY_PREFIX, 'tunnel-token': TUNNEL_TOKEN_PREFIX, session: 'tks-', 'device-code': 'tkd-' };

/** 256 random bits behind the prefix, base64url (43 characters). */
export function mintSecret(kind: SecretKind): string {
  return PREFIX[kind] + randomBytes(32).toString('base64url');
}

/**
 * What the store keeps instead of the secret. The secrets carry 256 random bits, so a
 * plain SHA-256 is enough (no password-style stretching needed), and looking the digest up
 * in a map reveals nothing useful about the secret through timing.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}
