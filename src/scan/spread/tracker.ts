/**
 * Counts how many different senders sent near-identical chain text within a time window. The
 * embedded `kestrel scan` keeps the counts in memory; a worker cluster shares them in Redis
 * (redis-tracker.ts). Only fingerprints, a hash of the sender and a time are kept, never text or
 * addresses, and everything expires with the window.
 */
import { bands, hammingDistance, MAX_DISTANCE } from './fingerprint.js';

export interface SpreadObservation {
  fingerprints: readonly string[];
  /** A hash of the sender's address. */
  sender: string;
  /** Milliseconds since the epoch. */
  at: number;
}

export interface SpreadTracker {
  /**
   * Records the observation and returns how many distinct senders (this one included) sent a
   * near-duplicate of any of its fingerprints within `windowMs` before or after `at`.
   */
  observe(observation: SpreadObservation, windowMs: number): Promise<number>;
  close(): Promise<void>;
}

interface Entry {
  fingerprint: string;
  sender: string;
  at: number;
}

/** Bounded: a burst of chain mail cannot grow it past this many entries per band bucket. */
const MAX_BUCKET = 10_000;

export class MemorySpreadTracker implements SpreadTracker {
  private readonly buckets = new Map<string, Entry[]>();

  async observe({ fingerprints, sender, at }: SpreadObservation, windowMs: number): Promise<number> {
    const senders = new Set<string>([sender]);
    for (const fingerprint of fingerprints) {
      bands(fingerprint).forEach((band, i) => {
        const key = `${i}:${band}`;
        let bucket = this.buckets.get(key);
        if (!bucket) this.buckets.set(key, (bucket = []));
        const live = bucket.filter((e) => Math.abs(e.at - at) <= windowMs || e.at > at);
        for (const e of live) if (Math.abs(e.at - at) <= windowMs && hammingDistance(e.fingerprint, fingerprint) <= MAX_DISTANCE) senders.add(e.sender);
        live.push({ fingerprint, sender, at });
        this.buckets.set(key, live.length > MAX_BUCKET ? live.slice(-MAX_BUCKET) : live);
      });
    }
    return senders.size;
  }

  async close(): Promise<void> {
    this.buckets.clear();
  }
}
