/** Servers quote addresses in their replies, and outcomes reach logs and delivery records: they are replaced by what they are. */
export function redactAddresses(text: string, replacements: ReadonlyArray<readonly [value: string, label: string]>): string {
  let result = text;
  for (const [value, label] of replacements) {
    if (value !== '') result = result.replace(new RegExp(value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi'), label);
  }
  return result;
}
