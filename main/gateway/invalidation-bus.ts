import type { CredentialKind } from './gateway-store.js';

/**
 * How a change one gateway makes (or notices) reaches every gateway that caches state:
 * a revoked credential must stop working everywhere within a second, and a registration
 * or swap must move traffic everywhere. In one process the bus is a plain fan-out; with
 * replicas it is a pub/sub channel shared by all of them. Messages say what changed, never
 * a secret.
 */

export type Invalidation =
  | { type: 'credential-revoked'; id: string; kind: CredentialKind; accountId: string }
  /** Bindings changed: reload the account's (or, with null, every account's) deployments. */
  | { type: 'deployments-changed'; accountId: string | null };

export interface InvalidationBus {
  publish(message: Invalidation): void;
  /** Returns the way to stop listening. */
  subscribe(listener: (message: Invalidation) => void): () => void;
  close(): Promise<void>;
}

/** Every subscriber in this process hears every message, synchronously. */
export class LocalInvalidationBus implements InvalidationBus {
  private readonly listeners = new Set<(message: Invalidation) => void>();

  publish(message: Invalidation): void {
    for (const listener of [...this.listeners]) listener(message);
  }

  subscribe(listener: (message: Invalidation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
