/**
 * PGlite has no server to arbitrate between processes: two opening one directory would both write
 * its files and corrupt it. A lock file beside the directory, holding the owner's pid, makes the
 * second one fail with a message saying who holds it. A lock left by a process that died is taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';

const heldHere = new Set<string>();

export interface DataDirLock {
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ownerOf(lockFile: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(lockFile, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export function lockDataDir(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  const lockFile = `${dir}.lock`;
  if (heldHere.has(dir)) throw new Error(`the embedded database in ${dir} is already open in this process (one store per data directory)`);
  try {
    const fd = openSync(lockFile, 'wx');
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot lock the embedded database in ${dir}: ${(error as Error).message}`);
    const owner = ownerOf(lockFile);
    if (owner !== null && owner !== process.pid && alive(owner)) {
      throw new Error(`the embedded database in ${dir} is in use by process ${owner} (${lockFile}); PGlite serves one process: use PostgreSQL (store.url) to share the store`);
    }
    writeFileSync(lockFile, `${process.pid}\n`);
  }
  heldHere.add(dir);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      heldHere.delete(dir);
      if (ownerOf(lockFile) === process.pid) rmSync(lockFile, { force: true });
    },
  };
}
