/** Reconnect delays: full jitter between the configured bounds, and the server's throttling hint as a floor. */
import { describe, expect, test } from 'vitest';
import { Backoff, throttleHintMs } from '../../src/connect/backoff.js';

describe('reconnect backoff', () => {
  test('the cap doubles per failure up to the maximum; the delay is anywhere between the minimum and the cap', () => {
    const highest = new Backoff(1_000, 10_000, () => 1);
    expect([1, 2, 3, 4, 5, 6].map(() => highest.next())).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    const lowest = new Backoff(1_000, 10_000, () => 0);
    expect([1, 2, 3].map(() => lowest.next())).toEqual([1_000, 1_000, 1_000]);
    const middle = new Backoff(1_000, 10_000, () => 0.5);
    middle.next();
    expect(middle.next()).toBe(1_500);
  });

  test('reset starts again from the minimum', () => {
    const backoff = new Backoff(100, 1_000, () => 1);
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(100);
  });

  test("a server's suggested backoff is honoured even above the jittered delay", () => {
    const backoff = new Backoff(1_000, 300_000, () => 0);
    expect(backoff.next(92_415)).toBe(92_415);
  });

  test('a hint above the configured maximum waits the maximum (setTimeout would overflow on a huge one)', () => {
    expect(new Backoff(1_000, 300_000, () => 0).next(2 ** 40)).toBe(300_000);
  });

  test('throttling hints from imapflow errors and Microsoft 365 response texts', () => {
    expect(throttleHintMs({ code: 'ETHROTTLE', throttleReset: 5_000 })).toBe(5_000);
    expect(throttleHintMs({ responseText: 'Request is throttled. Suggested Backoff Time: 92415 milliseconds' })).toBe(92_415);
    expect(throttleHintMs(new Error('User is authenticated but not connected. Suggested Backoff Time: 30 seconds'))).toBe(30_000);
    expect(throttleHintMs(new Error('Connection closed'))).toBeUndefined();
    expect(throttleHintMs('nothing')).toBeUndefined();
  });
});
