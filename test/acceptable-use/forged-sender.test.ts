import { describe, expect, it } from 'vitest';
import { FORGED_SENDER } from '../../src/scan/detectors/acceptable-use/index.js';
import { parseAuthResults, trustedAuthResults } from '../../src/scan/detectors/acceptable-use/auth-results.js';
import { compileLeader, leaderNamed } from '../../src/scan/detectors/acceptable-use/names.js';
import type { Severity } from '../../src/scan/types.js';
import { auConfig, findingsOf, mail, scan, TRUST } from './support.js';

const MX = `mx1.${TRUST}`;
const ar = (id: string, results: string) => `Authentication-Results: ${id};\r\n  ${results}`;
const aligned = `dkim=pass header.d=${TRUST} header.s=s1; spf=pass smtp.mailfrom=j.ward@${TRUST}; dmarc=pass header.from=${TRUST}`;

const config = auConfig(`acceptableUse:
  senderServiceDomains: [mcsv.net, google.com]`);
const configWithIds = auConfig(`acceptableUse:
  authservIds: [${MX}]`);

interface Case {
  name: string;
  from: string;
  headers?: string[];
  config?: typeof config;
  expected: Severity | null;
}

const CASES: Case[] = [
  { name: 'trust From with aligned DKIM, SPF and DMARC pass', from: `j.ward@${TRUST}`, headers: [ar(MX, aligned)], expected: null },
  {
    name: 'trust From whose only passing identities are a stranger domain',
    from: `j.ward@${TRUST}`,
    headers: [ar(MX, 'dkim=pass header.d=bulk-sender.example; spf=pass smtp.mailfrom=bounce@bulk-sender.example; dmarc=none')],
    expected: 'moderate',
  },
  {
    name: 'trust From with a DKIM pass for a subdomain of the trust (aligned)',
    from: `j.ward@${TRUST}`,
    headers: [ar(MX, `dkim=pass header.i=@mail.${TRUST}; spf=pass smtp.mailfrom=bounce@bulk-sender.example`)],
    expected: null,
  },
  {
    name: 'dmarc=fail for the trust domain',
    from: `"Jo Ward" <j.ward@${TRUST}>`,
    headers: [ar(MX, `spf=fail smtp.mailfrom=x@bad.example; dkim=none; dmarc=fail (p=reject dis=none) header.from=${TRUST}`)],
    expected: 'severe',
  },
  {
    name: 'dmarc=fail for an outside domain',
    from: 'office@westvale-harriers.org.uk',
    headers: [ar(MX, 'dmarc=fail header.from=westvale-harriers.org.uk')],
    expected: 'moderate',
  },
  {
    name: 'an untrusted authserv-id saying fail is ignored (configured ids)',
    from: `j.ward@${TRUST}`,
    headers: [ar('attacker.example', `dmarc=fail header.from=${TRUST}`), ar(MX, aligned)],
    config: configWithIds,
    expected: null,
  },
  {
    name: 'an untrusted authserv-id saying pass does not hide a trusted fail (configured ids)',
    from: `j.ward@${TRUST}`,
    headers: [ar('relay.example', aligned), ar(MX, `dmarc=fail header.from=${TRUST}`)],
    config: configWithIds,
    expected: 'severe',
  },
  {
    name: 'with no ids configured, only the topmost header counts: a lower pass is ignored',
    from: `j.ward@${TRUST}`,
    headers: [ar(MX, `dmarc=fail header.from=${TRUST}`), ar('sender-written.example', aligned)],
    expected: 'severe',
  },
  {
    name: 'with no ids configured, a lower header claiming fail is ignored',
    from: `j.ward@${TRUST}`,
    headers: [ar(MX, aligned), ar('anyone.example', `dmarc=fail header.from=${TRUST}`)],
    expected: null,
  },
  { name: "a leader's display name from gmail", from: '"Helen Carter (CEO)" <ceo.office.riverbank@gmail.com>', expected: 'severe' },
  { name: "a leader's name reversed with a title, from a stranger's domain", from: '"CARTER, Dr. Helen" <h@exec-mail.example>', expected: 'severe' },
  { name: "a leader's name with accents and a hyphen", from: '"Séan O\'Brien Kelly, Executive Head" <sean@outlook.com>', expected: 'severe' },
  { name: "the leader's own listed address", from: '"Helen Carter" <helen.carter.governor@gmail.com>', expected: null },
  { name: 'the leader from the trust domain', from: `"Helen Carter" <h.carter@${TRUST}>`, expected: null },
  { name: 'someone else with the same surname', from: '"Helen Carterton" <hc@gmail.com>', expected: null },
  { name: 'an initial is not the leader', from: '"H. Carter" <hc@gmail.com>', expected: null },
  { name: 'a share notice from a sender service', from: '"Helen Carter (via Google Docs)" <drive-shares-dm-noreply@google.com>', expected: null },
  {
    name: 'a newsletter service domain is allowed to send as the trust',
    from: `"Riverbank News" <news@${TRUST}>`,
    headers: [ar(MX, 'dkim=pass header.d=mcsv.net; spf=pass smtp.mailfrom=bounce-mc.us5_123@mail123.mcsv.net; dmarc=fail header.from=gmail.com')],
    expected: null,
  },
  { name: 'no Authentication-Results: trust From sent from anywhere', from: `j.ward@${TRUST}`, expected: null },
  { name: 'a display name that is a trust address', from: `"h.carter@${TRUST}" <x.y.z@gmail.com>`, expected: 'moderate' },
  { name: "a trust sender naming a colleague's address", from: `"office@${TRUST} on behalf of" <j.ward@${TRUST}>`, expected: null },
];

describe('acceptable_use.forged_sender', () => {
  it.each(CASES)('$name -> $expected', async ({ from, headers = [], config: caseConfig, expected }) => {
    const report = await scan(mail({ from, headers, to: [`k.patel@${TRUST}`], body: 'Can you do me a quick favour?' }), caseConfig ?? config);
    const findings = findingsOf(report, FORGED_SENDER);
    if (expected === null) {
      expect(findings).toEqual([]);
      return;
    }
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ category: FORGED_SENDER, severity: expected, policy: '002_ac353918cf928566.txt Severe Breach' });
    expect(findings[0]!.evidence.every((e) => e.field === 'envelope')).toBe(true);
  });

  it('says why in its evidence', async () => {
    const raw = mail({ from: `j.ward@${TRUST}`, headers: [ar(MX, `dkim=pass header.d=bulk-sender.example; dmarc=fail header.from=${TRUST}`)] });
    const [finding] = findingsOf(await scan(raw, config), FORGED_SENDER);
    expect(finding!.description).toBe(`Forged sender: DMARC failed for the trust domain ${TRUST}; 1 more sign`);
    expect(finding!.evidence.map((e) => e.match)).toEqual([`dmarc=fail header.from=${TRUST}`, `From ${TRUST}, authenticated as bulk-sender.example`]);
    expect(finding!.evidence[0]!.excerpt).toBe(`Authentication-Results from ${MX}: dmarc=fail header.from=${TRUST}`);
  });

  it('can be switched off', async () => {
    const off = auConfig('disableRules: [acceptable_use.forged_sender]');
    const report = await scan(mail({ from: '"Helen Carter" <ceo@gmail.com>' }), off);
    expect(findingsOf(report, FORGED_SENDER)).toEqual([]);
  });
});

describe('Authentication-Results parsing', () => {
  it('reads the authserv-id, results and properties, past comments, versions and quoting', () => {
    const parsed = parseAuthResults(
      'MX1.Example.org 1; dkim=pass (2048-bit key; unprotected) header.d="example.com" header.s=sel; spf = pass (sender IP is 192.0.2.1) smtp.mailfrom=b@example.com; arc=none',
    );
    expect(parsed?.authservId).toBe('mx1.example.org');
    expect(parsed?.results.map((r) => [r.method, r.result, Object.fromEntries(r.properties)])).toEqual([
      ['dkim', 'pass', { 'header.d': 'example.com', 'header.s': 'sel' }],
      ['spf', 'pass', { 'smtp.mailfrom': 'b@example.com' }],
      ['arc', 'none', {}],
    ]);
  });

  it('reads "none" and rejects a header with no authserv-id', () => {
    expect(parseAuthResults('mx.example.org; none')).toEqual({ authservId: 'mx.example.org', results: [] });
    expect(parseAuthResults('dkim=pass header.d=x.example')).toBeUndefined();
    expect(trustedAuthResults([], [])).toEqual([]);
  });
});

describe('leader names', () => {
  const leaders = [compileLeader({ name: 'Dr Helen Carter', addresses: [] })!, compileLeader({ name: 'Amira Bint Yusuf Haddad', addresses: [] })!];
  it.each([
    ['Helen Carter', 'Dr Helen Carter'],
    ['helen carter', 'Dr Helen Carter'],
    ['Carter, Helen', 'Dr Helen Carter'],
    ['Mrs H\u0435len Carter - CEO', 'Dr Helen Carter'],
    ['Amira Haddad', 'Amira Bint Yusuf Haddad'],
    ['Helen', undefined],
    ['Carter Helena', undefined],
  ])('%j -> %s', (display, leader) => {
    expect(leaderNamed(display, leaders)?.name).toBe(leader);
  });
});
