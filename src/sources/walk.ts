import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from './errors.js';
import { failure, type SourceFailure } from './types.js';

/** A file path to read as mail, or a directory that could not be listed. */
export type WalkItem = string | SourceFailure;

const SIDECAR_EXTENSIONS = ['.md', '.json', '.jsonl', '.yaml', '.yml', '.csv', '.py'];
const MAILDIR_PARTS = ['cur', 'new', 'tmp'];

/** Corpora ship manifests, READMEs and scripts beside the mail; they would only produce parse errors. */
export function isCorpusSidecar(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.startsWith('readme') || SIDECAR_EXTENSIONS.some((extension) => lower.endsWith(extension));
}

function isHidden(name: string): boolean {
  return name.startsWith('.');
}

function byName(a: Dirent, b: Dirent): number {
  if (a.name < b.name) return -1;
  return a.name > b.name ? 1 : 0;
}

async function listSorted(dir: string): Promise<Dirent[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.sort(byName);
}

function isMaildir(entries: Dirent[]): boolean {
  const directories = new Set(entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name));
  return MAILDIR_PARTS.every((part) => directories.has(part));
}

/** The sorted entries of `dir`; when it cannot be read, a failure is yielded for it and null returned. */
async function* listing(dir: string): AsyncGenerator<WalkItem, Dirent[] | null> {
  try {
    return await listSorted(dir);
  } catch (err) {
    yield failure(dir, describeError(err));
    return null;
  }
}

/** Walks a directory depth-first in sorted order, yielding the files that may hold mail. */
export async function* walkDirectory(dir: string): AsyncGenerator<WalkItem> {
  const entries = yield* listing(dir);
  if (!entries) return;
  if (isMaildir(entries)) yield* walkMaildir(dir, entries);
  else yield* walkPlainDirectory(dir, entries);
}

async function* walkPlainDirectory(dir: string, entries: Dirent[]): AsyncGenerator<WalkItem> {
  for (const entry of entries) {
    if (isHidden(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walkDirectory(path);
    else yield* mailFile(path, entry);
  }
}

/**
 * Only `cur` and `new` hold delivered mail (`tmp` holds half-written files), and the other files in
 * a Maildir are the server's bookkeeping (dovecot-uidlist, maildirfolder, ...). Subdirectories that
 * are Maildirs themselves are folders: Maildir++ `.Sent` and friends, or nested folders in the
 * "fs" layout.
 */
async function* walkMaildir(dir: string, entries: Dirent[]): AsyncGenerator<WalkItem> {
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const path = join(dir, entry.name);
    if (entry.name === 'cur' || entry.name === 'new') yield* walkMessageFolder(path);
    else if (entry.name !== 'tmp') yield* walkSubfolder(path);
  }
}

async function* walkSubfolder(dir: string): AsyncGenerator<WalkItem> {
  const entries = yield* listing(dir);
  if (!entries) return;
  if (isMaildir(entries)) yield* walkMaildir(dir, entries);
}

async function* walkMessageFolder(dir: string): AsyncGenerator<WalkItem> {
  const entries = yield* listing(dir);
  if (!entries) return;
  for (const entry of entries) {
    if (!isHidden(entry.name)) yield* mailFile(join(dir, entry.name), entry);
  }
}

async function* mailFile(path: string, entry: Dirent): AsyncGenerator<WalkItem> {
  if (isCorpusSidecar(entry.name)) return;
  if (entry.isFile()) {
    yield path;
    return;
  }
  if (!entry.isSymbolicLink()) return; // sockets, FIFOs, devices: not mail, and a FIFO could block forever
  try {
    // Symlinked files are followed; symlinked directories are not, so links cannot make a cycle.
    if ((await stat(path)).isFile()) yield path;
  } catch (err) {
    yield failure(path, describeError(err));
  }
}
