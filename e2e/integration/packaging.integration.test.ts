import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { extractFile, listPackage } from '@electron/asar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, tempDir } from '../support/processes.js';

/**
 * electron-builder's packaged layout, checked offline: `electronDist` points at a stub
 * Electron, so nothing is downloaded; the real installers (AppImage, deb, dmg, nsis) need
 * the real binary and are built elsewhere. The stub carries a fuse wire where Electron's
 * binary has one (a sentinel, a version, a length, one byte per fuse), with Electron's
 * defaults, so the fuses electron-builder flips can be read back.
 */

const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
/** Electron's fuse order (@electron/fuses FuseV1Options); '1' on, '0' off. */
const FUSES = ['runAsNode', 'cookieEncryption', 'nodeOptions', 'nodeCliInspect', 'asarIntegrity', 'onlyLoadAppFromAsar', 'browserV8Snapshot', 'fileProtocolPrivileges'] as const;
const ELECTRON_DEFAULT_WIRE = '10110001';

function fuses(binary: string): Record<string, boolean> {
  const bytes = readFileSync(binary);
  const at = bytes.indexOf(FUSE_SENTINEL) + FUSE_SENTINEL.length;
  const length = bytes[at + 1]!;
  return Object.fromEntries(FUSES.slice(0, length).map((name, i) => [name, bytes[at + 2 + i] === 0x31]));
}

const run = promisify(execFile);
const dir = tempDir('tokios-pack-');
let unpacked = '';
let files: string[] = [];

beforeAll(async () => {
  const stub = join(dir.path, 'electron-stub');
  mkdirSync(stub);
  writeFileSync(join(stub, 'electron'), Buffer.concat([
    Buffer.from(`#!/bin/sh\necho stub\nexit 0\n# ${FUSE_SENTINEL}`),
    Buffer.from([1, ELECTRON_DEFAULT_WIRE.length]),
    Buffer.from(ELECTRON_DEFAULT_WIRE),
    Buffer.from('\n'),
  ]));
  chmodSync(join(stub, 'electron'), 0o755);
  writeFileSync(join(stub, 'LICENSE'), '');
  writeFileSync(join(stub, 'version'), '45.5.0');
  const out = join(dir.path, 'release');
  await run(process.execPath, [join(REPO_ROOT, 'node_modules', 'electron-builder', 'cli.js'), '--linux', 'dir', `-c.electronDist=${stub}`, `-c.directories.output=${out}`, '--publish', 'never'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ELECTRON_BUILDER_OFFLINE: '1', CI: '1' },
    timeout: 120_000,
  });
  unpacked = join(out, 'linux-unpacked');
  files = listPackage(join(unpacked, 'resources', 'app.asar'), { isPack: false }).map((f) => f.replace(/\\/g, '/'));
}, 150_000);

afterAll(() => dir.remove());

describe('packaged app', () => {
  it('has the app binary and one app.asar', () => {
    expect(statSync(join(unpacked, 'tokios')).mode & 0o111).not.toBe(0);
    expect(existsSync(join(unpacked, 'resources', 'app.asar'))).toBe(true);
  });

  it('starts the Electron entry and carries the worker, preload, renderer and tray icons', () => {
    const pkg = JSON.parse(extractFile(join(unpacked, 'resources', 'app.asar'), 'package.json').toString()) as { main: string };
    expect(pkg.main).toBe('dist/main/electron/electron-main.js');
    for (const file of [
      '/dist/main/electron/electron-main.js', '/dist/main/electron/preload.cjs', '/dist/main/connector/connector-worker.js',
      '/dist/main/cli/tokios.js', '/dist/renderer/index.html', '/assets/tray-ok.png', '/assets/tray-warn.png', '/assets/tray-error.png', '/assets/icon.png',
      '/node_modules/ws/package.json', '/node_modules/chokidar/package.json',
    ]) {
      expect(files, file).toContain(file);
    }
  });

  it('leaves out sources, tests, maps and build-time packages', () => {
    expect(files.filter((f) => f.endsWith('.ts') || f.endsWith('.map') || f.endsWith('.test.js'))).toEqual([]);
    for (const prefix of ['/node_modules/react/', '/node_modules/electron/', '/node_modules/vite/', '/node_modules/typescript/', '/e2e/', '/bench/', '/renderer/']) {
      expect(files.some((f) => f.startsWith(prefix)), prefix).toBe(false);
    }
  });

  it('flips the fuses: no running as Node, no NODE_OPTIONS or --inspect, the app only from an integrity-checked app.asar', () => {
    expect(fuses(join(unpacked, 'tokios'))).toEqual({
      runAsNode: false, cookieEncryption: true, nodeOptions: false, nodeCliInspect: false, asarIntegrity: true, onlyLoadAppFromAsar: true,
      // Left as Electron ships them: the page is a file:// module script, which needs the file protocol's privileges.
      browserV8Snapshot: false, fileProtocolPrivileges: true,
    });
  });

  it('gives the Electron page a policy that lets it connect nowhere (it talks over IPC)', () => {
    const html = extractFile(join(unpacked, 'resources', 'app.asar'), 'dist/renderer/index.html').toString();
    const policy = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)?.[1] ?? '';
    expect(policy.split('; ').filter((d) => d.startsWith('connect-src') || d.startsWith('default-src'))).toEqual(["default-src 'self'", "connect-src 'none'"]);
  });

  it('declares AppImage and deb for Linux, dmg for macOS, nsis for Windows', () => {
    const config = readFileSync(join(REPO_ROOT, 'electron-builder.yml'), 'utf8');
    expect(config).toMatch(/linux:\n(?: {2}.*\n)*? {2}target: \[AppImage, deb\]/);
    expect(config).toMatch(/mac:\n(?: {2}.*\n)*? {2}target: dmg/);
    expect(config).toMatch(/win:\n(?: {2}.*\n)*? {2}target: nsis/);
  });
});
