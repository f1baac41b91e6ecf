import { describe, expect, it } from 'vitest';
import { FlowWindow, MAX_WINDOW } from './flow-window.js';

describe('flow window', () => {
  it('returns credit once a quarter of the receive window is consumed, in one increment', () => {
    const window = new FlowWindow(1000, 1000);
    expect(window.receive(1000)).toBe(true);
    expect(window.consume(100)).toBe(0);
    expect(window.consume(149)).toBe(0);
    expect(window.consume(1)).toBe(250);
    // The 250 bytes credited are the peer's to send again; one more is an overrun.
    expect(window.receive(250)).toBe(true);
    expect(window.receive(1)).toBe(false);
  });

  it('spends and grants send credit, refusing a window above 2^31-1', () => {
    const window = new FlowWindow(100, 100);
    window.spend(100);
    expect(window.sendable).toBe(0);
    expect(window.grant(50)).toBe(true);
    expect(window.sendable).toBe(50);
    expect(window.grant(-20)).toBe(true);
    expect(window.sendable).toBe(30);
    expect(window.grant(MAX_WINDOW)).toBe(false);
  });
});
