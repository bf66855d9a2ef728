/** Numbers, sizes and cut text worded the same in every problem and skip reason. */

export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function formatBytes(n: number): string {
  const KiB = 1024;
  const MiB = KiB * 1024;
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= KiB && n % KiB === 0) return `${n / KiB} KiB`;
  return `${formatCount(n)} bytes`;
}

/** The first `max` UTF-16 code units, one fewer rather than half a surrogate pair. */
export function sliceChars(text: string, max: number): string {
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}
