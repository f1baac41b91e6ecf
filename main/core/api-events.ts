import { EventEmitter } from 'node:events';
import type { ApiEvent, ApiEvents } from '../../shared/api.js';

/**
 * The core's outgoing events (shared/api.ts `ApiEvents`): every service publishes here,
 * both transports subscribe. Subscribing returns the way to unsubscribe.
 */

type BusEvents = { [E in ApiEvent]: [payload: ApiEvents[E]] };

export class ApiEventBus {
  private readonly emitter = new EventEmitter<BusEvents>();

  constructor() {
    // One listener per event and open window or socket; there is no leak to warn about.
    this.emitter.setMaxListeners(0);
  }

  emit<E extends ApiEvent>(event: E, payload: ApiEvents[E]): void {
    this.emitter.emit<ApiEvent>(event, ...([payload] as BusEvents[E]));
  }

  on<E extends ApiEvent>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
    this.emitter.on<ApiEvent>(event, listener as (...args: BusEvents[ApiEvent]) => void);
    return () => this.emitter.off<ApiEvent>(event, listener as (...args: BusEvents[ApiEvent]) => void);
  }
}
