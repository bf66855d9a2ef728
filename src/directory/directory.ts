/**
 * Who is who: turns an address into a Party (staff, pupil or external, academy, personal
 * domain) and a message's parties into a direction. Called for every party of every message,
 * so everything is compiled once up front and repeat addresses are answered from a cache.
 */
import type { KestrelConfig } from '../config/schema.js';
import type { Direction, Party } from '../scan/types.js';
import { domainOf, domainSuffixSet, normaliseDomain } from './domains.js';
import { compileAddressPatterns } from './patterns.js';
import { readPeopleCsv } from './people-csv.js';
import type { PersonRecord } from './people-csv.js';

export interface TrustDirectory {
  classify(address: string, name?: string): Party;
  direction(from: Party | undefined, recipients: readonly Party[]): Direction;
  isTrustDomain(domain: string): boolean;
}

type TrustConfig = KestrelConfig['trust'];
type Classification = Pick<Party, 'role' | 'academy' | 'personalDomain' | 'trustAccount'> & { csvName?: string };

/** Enough for every address a large trust sees in a day; cleared wholesale rather than LRU, for simplicity. */
const CACHE_LIMIT = 50_000;

export function createDirectory(trust: TrustConfig): TrustDirectory {
  const people: ReadonlyMap<string, PersonRecord> = trust.directoryCsv ? readPeopleCsv(trust.directoryCsv) : new Map();
  const isPupil = compileAddressPatterns(trust.pupils);
  const isStaff = compileAddressPatterns(trust.staff);
  const academies = trust.academies.map((a) => ({ name: a.name, matches: compileAddressPatterns(a.patterns) }));
  const trustDomains = new Set(trust.domains.map(normaliseDomain));
  const personalDomains = new Set([...trust.personalDomains, ...trust.extraPersonalDomains].map(normaliseDomain));
  const cache = new Map<string, Classification>();

  // staff.example.sch.uk is trust when example.sch.uk is listed.
  const isTrustDomain = domainSuffixSet(trustDomains);

  function work(address: string): Classification {
    const person = people.get(address);
    const domain = domainOf(address);
    // Role patterns describe trust addresses: once trust domains are configured, a pattern such as
    // /^[0-9]{2}[a-z]+@/ must not make 12smith@gmail.com a pupil.
    const inTrust = isTrustDomain(domain);
    const patternsApply = inTrust || trustDomains.size === 0;
    const role =
      person?.role ??
      (patternsApply && isPupil(address) ? 'pupil' : patternsApply && isStaff(address) ? 'staff' : inTrust ? trust.unmatchedTrustRole : 'external');
    const academy = person?.academy ?? academies.find((a) => a.matches(address))?.name;
    const personalDomain = personalDomains.has(domain);
    // Without configured trust domains, a staff or pupil address at a non-consumer domain is taken
    // as a trust account.
    const trustAccount = trustDomains.size > 0 ? inTrust : role !== 'external' && !personalDomain;
    const result: Classification = { role, personalDomain, trustAccount };
    if (academy !== undefined) result.academy = academy;
    if (person?.name !== undefined) result.csvName = person.name;
    return result;
  }

  return {
    isTrustDomain,

    classify(rawAddress, name) {
      const address = rawAddress.trim().toLowerCase();
      let known = cache.get(address);
      if (!known) {
        if (cache.size >= CACHE_LIMIT) cache.clear();
        known = work(address);
        cache.set(address, known);
      }
      const party: Party = { address, role: known.role, personalDomain: known.personalDomain, trustAccount: known.trustAccount };
      // The message's display name is what the reader saw; the CSV name fills in when there is none.
      const shownName = name?.trim() || known.csvName;
      if (shownName) party.name = shownName;
      if (known.academy !== undefined) party.academy = known.academy;
      return party;
    },

    direction(from, recipients) {
      if (!from || from.role === 'external') return 'inbound';
      return recipients.some((r) => r.role === 'external') ? 'outbound' : 'internal';
    },
  };
}
