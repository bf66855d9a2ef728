/**
 * Finding a configured folder on the server: a name is taken as it is (INBOX is case-insensitive),
 * a special-use flag such as `\Sent` is looked up in LIST, preferring the server's own RFC 6154
 * flags over imapflow's guesses from localised names. Resolved at every connect, so a folder
 * renamed or created later is found on the next session.
 */
import type { ListResponse } from 'imapflow';
import type { FolderRole } from './types.js';

export interface WatchedFolder {
  /** The mailbox path on the server; checkpoints and positions use it. */
  path: string;
  role: FolderRole;
}

export class FolderMissingError extends Error {
  override name = 'FolderMissingError';
}

export function findFolder(list: ListResponse[], configured: string, journal: boolean): WatchedFolder | undefined {
  const entry = configured.startsWith('\\') ? bySpecialUse(list, configured) : byName(list, configured);
  if (!entry || entry.flags.has('\\Noselect') || entry.flags.has('\\NonExistent')) return undefined;
  return { path: entry.path, role: journal ? 'journal' : roleOf(entry) };
}

function bySpecialUse(list: ListResponse[], flag: string): ListResponse | undefined {
  const wanted = flag.toLowerCase();
  const matches = list.filter((entry) => entry.specialUse?.toLowerCase() === wanted || [...entry.flags].some((f) => f.toLowerCase() === wanted));
  return matches.find((entry) => entry.specialUseSource !== 'name') ?? matches[0];
}

function byName(list: ListResponse[], name: string): ListResponse | undefined {
  if (name.toUpperCase() === 'INBOX') return list.find((entry) => entry.path.toUpperCase() === 'INBOX');
  return list.find((entry) => entry.path === name);
}

function roleOf(entry: ListResponse): FolderRole {
  if (entry.path.toUpperCase() === 'INBOX' || entry.specialUse === '\\Inbox') return 'inbox';
  if (entry.specialUse === '\\Sent' || entry.flags.has('\\Sent')) return 'sent';
  return 'other';
}
