import { describe, expect, it } from 'vitest';
import { forwardHistory, subjectForwards } from '../../src/scan/detectors/chain-mail/structure.js';

describe('chain-mail structure signals', () => {
  it('counts forwards in a subject, reply prefixes aside', () => {
    expect(subjectForwards('FW: Re: Fwd: pass it on')).toBe(2);
    expect(subjectForwards('Re: trip')).toBe(0);
    expect(subjectForwards('Forward planning')).toBe(0);
  });

  it('counts a separator and its header block once, and an Outlook header block on its own', () => {
    const gmail = 'hi\n\n---------- Forwarded message ---------\nFrom: Jan <jan@sky.com>\nDate: Wed, 5 Nov 2025\nSubject: x\n\ntext';
    expect(forwardHistory(gmail).blocks).toBe(1);
    const outlook = 'see below\n\nFrom: Jan <jan@sky.com>\nSent: 05 November 2025 21:25\nTo: a@b.org\nSubject: x\n\ntext';
    expect(forwardHistory(outlook).blocks).toBe(1);
    expect(forwardHistory(`${gmail}\n\n> ${outlook.split('\n').join('\n> ')}`).blocks).toBe(2);
  });

  it('collects the distinct addresses on To and Cc lines of forwarded headers', () => {
    const text = 'fyi\n\nFrom: x@y.org\nSent: today\nTo: a@b.org; c@d.org, A@B.org\nCc: e@f.org\n\nbody';
    expect(forwardHistory(text).quotedRecipients).toBe(3);
  });
});
