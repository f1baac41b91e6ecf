// A process that takes the store lock (dist/main/storage/file-lock.js) on command, for the
// lock race test: 'hold' takes it and never lets go (the test then SIGKILLs this process,
// leaving a lock behind); 'race' waits for a common start instant, then increments a
// counter file under the lock, slowly, so that two holders at once would lose an update.
//
// Every file removal here is delayed by a few milliseconds: a process descheduled between
// deciding to delete a lock and deleting it, which a loaded machine does now and then on
// its own. A lock that is correct under the race does not care when its removals happen.
import fs, { readFileSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

const REMOVAL_DELAY_MS = 15;
for (const name of ['rmSync', 'unlinkSync', 'rmdirSync']) {
  const remove = fs[name];
  fs[name] = (...args) => {
    const until = Date.now() + REMOVAL_DELAY_MS;
    while (Date.now() < until) {
      // descheduled
    }
    return remove(...args);
  };
}
syncBuiltinESMExports();

const { withFileLock } = await import(pathToFileURL(process.argv[2]).href);

process.on('message', async (message) => {
  if (message.type === 'hold') {
    await withFileLock(message.file, () => {
      process.send({ type: 'held' });
      return new Promise(() => undefined);
    });
  } else if (message.type === 'race') {
    while (Date.now() < message.startAt) {
      // Spin: every racer reaches the lock in the same millisecond.
    }
    try {
      await withFileLock(message.file, async () => {
        const count = Number(readFileSync(message.counter, 'utf8'));
        await sleep(10);
        writeFileSync(message.counter, String(count + 1));
      }, 10_000, 30_000);
      process.send({ type: 'done' });
    } catch (error) {
      process.send({ type: 'done', error: error.message });
    }
  }
});
process.send({ type: 'ready' });
