/** Servers refuse to run as root (or should not write root-owned files): as root, the harness runs them as `nobody`. */
export const AS_ROOT = process.getuid?.() === 0;

export const NOBODY_PREFIX = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'] as const;

/** The command line that runs `command` as nobody when the tests run as root, unchanged otherwise. */
export function asNobody(command: string, args: string[]): [string, string[]] {
  if (!AS_ROOT) return [command, args];
  const [setpriv, ...options] = NOBODY_PREFIX;
  return [setpriv, [...options, command, ...args]];
}
