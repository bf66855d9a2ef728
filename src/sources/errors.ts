/** Turns errors and sizes into the short, path-free text a SourceFailure carries (the path is in `file`). */

const ERROR_TEXT_BY_CODE: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in system',
  EIO: 'input/output error',
  ENXIO: 'no such device or address',
  ESPIPE: 'not seekable',
};

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const known = code === undefined ? undefined : ERROR_TEXT_BY_CODE[code];
    return known ?? err.message;
  }
  return String(err);
}

const KIB = 1024;
const MIB = 1024 * KIB;

export function withThousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `50 MiB`, `64 KiB` or `1,000-byte`, whichever states the limit exactly. */
export function formatLimit(bytes: number): string {
  if (bytes >= MIB && bytes % MIB === 0) return `${bytes / MIB} MiB`;
  if (bytes >= KIB && bytes % KIB === 0) return `${bytes / KIB} KiB`;
  return `${withThousands(bytes)}-byte`;
}

export function oversizeError(limit: number, size: number): string {
  return `message is larger than the ${formatLimit(limit)} limit (${withThousands(size)} bytes)`;
}

/** For streams we stop reading once past the limit, so the true size is unknown. */
export function oversizeStreamError(limit: number, bytesRead: number): string {
  return `message is larger than the ${formatLimit(limit)} limit (stopped reading after ${withThousands(bytesRead)} bytes)`;
}
