import { describe, expect, it } from 'vitest';
import { isApiMethod, validateApiArgs } from './api-validation.js';

/** What both transports let through to the core, and what they refuse with which words. */

function refusal(method: Parameters<typeof validateApiArgs>[0], args: unknown): string {
  try {
    validateApiArgs(method, args);
  } catch (error) {
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    return (error as Error).message;
  }
  throw new Error(`${method} accepted ${JSON.stringify(args)}`);
}

describe('API argument validation', () => {
  it('passes well-formed calls through unchanged', () => {
    const input = { name: 'gemma', upstream: 'http://127.0.0.1:11434', model: null, token: 'tt-x', enabled: true, replace: false };
    expect(validateApiArgs('deployments.create', input)).toEqual(input);
    expect(validateApiArgs('deployments.create', { name: 'gemma', upstream: 'http://x' })).toEqual({ name: 'gemma', upstream: 'http://x' });
    expect(validateApiArgs('deployments.update', { id: 'abc', changes: { enabled: false } })).toEqual({ id: 'abc', changes: { enabled: false } });
    expect(validateApiArgs('gateway.useRemote', { url: 'https://gw.example.com', apiKey: null })).toEqual({ url: 'https://gw.example.com', apiKey: null });
  });

  it('takes nothing (undefined or null) for methods without arguments', () => {
    expect(validateApiArgs('deployments.list', undefined)).toBeUndefined();
    expect(validateApiArgs('deployments.list', null)).toBeUndefined();
    expect(refusal('deployments.list', { all: true })).toBe('deployments.list takes no argument');
  });

  it('names the method and the field, and what is wrong with it', () => {
    expect(refusal('deployments.start', { id: 42 })).toBe('deployments.start.id must be a string');
    expect(refusal('deployments.start', {})).toBe('deployments.start.id is required');
    expect(refusal('deployments.start', { id: 'a', force: true })).toBe('deployments.start.force is not a known field');
    expect(refusal('deployments.start', 'abc')).toBe('deployments.start must be an object');
    expect(refusal('deployments.start', { id: 'x'.repeat(65) })).toBe('deployments.start.id must be at most 64 characters');
    expect(refusal('deployments.create', { name: 'g', upstream: 'http://x', enabled: 'yes' })).toBe('deployments.create.enabled must be true or false');
    expect(refusal('deployments.update', { id: 'a', changes: { name: 7 } })).toBe('deployments.update.changes.name must be a string');
    expect(refusal('deployments.update', { id: 'a', changes: { evil: 1 } })).toBe('deployments.update.changes.evil is not a known field');
    expect(refusal('gateway.useRemote', { url: 'https://x' })).toBe('gateway.useRemote.apiKey is required');
  });

  it('knows its methods and nothing else', () => {
    expect(isApiMethod('deployments.list')).toBe(true);
    for (const method of ['shell.exec', 'toString', '__proto__', 42, null]) expect(isApiMethod(method)).toBe(false);
  });
});
