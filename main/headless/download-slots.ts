import { randomBytes } from 'node:crypto';
import type { ExportDelivery, ExportTarget } from '../core/export-target.js';

/**
 * Headless mode's answer to a save dialog: the browser's own download. An export becomes a
 * one-time link (`/download/<256 random bits>`) that the page opens; the host serves the file
 * once, as an attachment, within a minute, and forgets it. The secret it holds never passes
 * through the page's script or state, and the browser asks the user where to save it.
 */

const TTL_MS = 60_000;

interface Slot {
  fileName: string;
  text: string;
  expires: number;
}

export class DownloadSlots implements ExportTarget {
  private readonly slots = new Map<string, Slot>();

  async deliver(fileName: string, text: string): Promise<ExportDelivery> {
    this.sweep();
    const nonce = randomBytes(32).toString('base64url');
    this.slots.set(nonce, { fileName, text, expires: Date.now() + TTL_MS });
    return { outcome: 'download', url: `/download/${nonce}` };
  }

  /** The file behind `nonce`, once; null when unknown, used or expired. */
  take(nonce: string): { fileName: string; text: string } | null {
    this.sweep();
    const slot = this.slots.get(nonce);
    if (!slot) return null;
    this.slots.delete(nonce);
    return { fileName: slot.fileName, text: slot.text };
  }

  private sweep(): void {
    const now = Date.now();
    for (const [nonce, slot] of this.slots) if (slot.expires <= now) this.slots.delete(nonce);
  }
}
