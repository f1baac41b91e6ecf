import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirsPerTest } from '../../e2e/support/temp-dirs.js';
import { DeploymentStore } from './deployment-store.js';
import { createFileSecretStore } from './secret-store.js';

/** deployments.json: what it keeps, and what it says about a file it cannot use (which it never rewrites). */

const dataDir = tempDirsPerTest('tokios-store-');

const TOKEN = 'tt-0123456789abcdefghijABCDEFGHIJ0123456789abc';

describe('deployment store', () => {
  it('keeps settings in deployments.json (version 1) and the token only in the secret store', () => {
    const dir = dataDir();
    const store = new DeploymentStore(dir, createFileSecretStore(dir));
    const record = store.create({ name: 'gemma', upstream: 'http://127.0.0.1:11434', model: null, enabled: true }, TOKEN);
    const saved = JSON.parse(readFileSync(join(dir, 'deployments.json'), 'utf8'));
    expect(saved).toMatchObject({ version: 1, deployments: [{ id: record.id, name: 'gemma' }] });
    expect(JSON.stringify(saved)).not.toContain(TOKEN);
    const again = new DeploymentStore(dir, createFileSecretStore(dir));
    expect(again.list()).toEqual([{ ...record, source: 'app', file: null }]);
    expect(again.token(record.id)).toBe(TOKEN);
  });

  it('refuses a file written by a newer Tokios, or with a field it cannot read, naming both, and leaves it as it was', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ version: 2, deployments: [] }, /deployments\.json: field `version`: is 2: .* was written by a newer Tokios/],
      [{ deployments: [] }, /deployments\.json: field `version`: is missing/],
      [{ version: 1, deployments: [{ id: 'a', name: 7 }] }, /deployments\.json: field `deployments\.0\.name`: /],
    ];
    for (const [content, message] of cases) {
      const dir = dataDir();
      const text = JSON.stringify(content);
      writeFileSync(join(dir, 'deployments.json'), text);
      expect(() => new DeploymentStore(dir, createFileSecretStore(dir))).toThrow(message);
      expect(readFileSync(join(dir, 'deployments.json'), 'utf8')).toBe(text);
    }
  });
});
