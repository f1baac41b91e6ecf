// The browser tests drive Debian's Chromium (Playwright cannot download its own here).
// On a fresh Debian/Ubuntu machine run as root (CI), install it; elsewhere, say how.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const chromium = process.env.TOKIOS_CHROMIUM ?? '/usr/bin/chromium';
if (existsSync(chromium)) process.exit(0);

const hasAptGet = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
if (process.getuid?.() === 0 && hasAptGet && !process.env.TOKIOS_CHROMIUM) {
  console.log('The browser tests need Chromium, which is not installed: installing the Debian package "chromium"…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium', 'fonts-dejavu-core'], { stdio: 'inherit', env });
  if (existsSync(chromium)) process.exit(0);
}
console.error(`The browser tests need Chromium at ${chromium}.
Install it (Debian/Ubuntu: sudo apt-get install chromium), or point TOKIOS_CHROMIUM at a Chromium binary.`);
process.exit(1);
