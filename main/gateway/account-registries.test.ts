import { describe, expect, it } from 'vitest';
import { Logger } from '../logging/logger.js';
import { AccountRegistries } from './account-registries.js';

const record = (accountId: string, name: string, tokenId: string) => ({ accountId, name, tokenId, created: '', updated: '' });

describe('account registries', () => {
  it('keeps each account’s names apart', () => {
    const registries = new AccountRegistries(new Logger('test'), () => undefined);
    registries.loadBindings([record('a', 'gemma', 'tok_a'), record('b', 'gemma', 'tok_b'), record('b', 'only-b', 'tok_c')]);
    expect(registries.forAccount('a').names()).toEqual(['gemma']);
    expect(registries.forAccount('b').names()).toEqual(['gemma', 'only-b']);
    registries.loadBindings([record('b', 'gemma', 'tok_b')], 'b');
    expect(registries.forAccount('b').names()).toEqual(['gemma']);
    expect(registries.forAccount('a').names()).toEqual(['gemma']);
  });

  it('waits for the connectors of names bound at start, not of names an account binds later', () => {
    const registries = new AccountRegistries(new Logger('test'), () => undefined);
    registries.loadBindings([record('a', 'at-start', 'tok_a')]);
    expect(registries.forAccount('a').recentlyOnline('at-start', 5000)).toBe(true);
    registries.loadBindings([record('b', 'later', 'tok_b')], 'b');
    expect(registries.forAccount('b').recentlyOnline('later', 5000)).toBe(false);
  });
});
