import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirsPerTest } from '../../e2e/support/temp-dirs.js';
import { SettingsFile } from './app-settings.js';

const dataDir = tempDirsPerTest('tokios-settings-');

describe('settings.json', () => {
  it('fills in defaults and keeps what was saved', () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ detectUrls: ['http://127.0.0.1:1234'], corsOrigins: ['http://localhost:5173'] }));
    const settings = new SettingsFile(dir);
    expect(settings.get()).toEqual({ gateway: { mode: 'embedded', port: null }, detectUrls: ['http://127.0.0.1:1234'], corsOrigins: ['http://localhost:5173'] });
    settings.update({ gateway: { mode: 'remote', url: 'https://gw.example.com' } });
    expect(new SettingsFile(dir).get()).toEqual({ gateway: { mode: 'remote', url: 'https://gw.example.com' }, detectUrls: ['http://127.0.0.1:1234'], corsOrigins: ['http://localhost:5173'] });
  });

  it('sets aside a file it cannot use, saying which field, and starts from defaults', () => {
    const dir = dataDir();
    const text = JSON.stringify({ gateway: { mode: 'embedded', port: 'eighty' } });
    writeFileSync(join(dir, 'settings.json'), text);
    const settings = new SettingsFile(dir);
    expect(settings.get()).toEqual({ gateway: { mode: 'embedded', port: null }, detectUrls: [], corsOrigins: [] });
    expect(settings.setAside?.reason).toMatch(/settings\.json: field `gateway\.port`/);
    expect(readFileSync(settings.setAside!.path, 'utf8')).toBe(text);
    expect(existsSync(join(dir, 'settings.json'))).toBe(false);
  });
});
