import { afterEach } from 'vitest';
import { tempDir } from './processes.js';

/** For a test file: `fresh()` makes a new temporary folder, and every one is removed after each test. */
export function tempDirsPerTest(prefix = 'tokios-test-'): () => string {
  const made: Array<{ remove: () => void }> = [];
  afterEach(() => made.splice(0).forEach((dir) => dir.remove()));
  return () => {
    const dir = tempDir(prefix);
    made.push(dir);
    return dir.path;
  };
}
