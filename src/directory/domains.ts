/** Mail domains: normalised, taken from an address, and matched with their subdomains. */

export function normaliseDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/\.$/, '');
}

/** The normalised domain of an address; '' when it has no `@`. */
export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : normaliseDomain(address.slice(at + 1));
}

/** `staff.example.sch.uk` is under `example.sch.uk`, and so is `example.sch.uk` itself. */
export function isUnderDomain(domain: string, parent: string): boolean {
  return domain === parent || domain.endsWith(`.${parent}`);
}

/**
 * A membership test for a list of domains that also accepts their subdomains, walking the
 * candidate's suffixes against a set: one lookup per label, whatever the list's length.
 */
export function domainSuffixSet(domains: Iterable<string>): (domain: string) => boolean {
  const set = new Set([...domains].map(normaliseDomain));
  return (domain) => {
    let candidate = normaliseDomain(domain);
    while (candidate !== '') {
      if (set.has(candidate)) return true;
      const dot = candidate.indexOf('.');
      if (dot < 0) return false;
      candidate = candidate.slice(dot + 1);
    }
    return false;
  };
}
