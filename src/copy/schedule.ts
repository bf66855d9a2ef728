/** When the daily digest falls due: a wall-clock time in the trust's time zone, across clock changes. */

/** Minutes the zone is ahead of UTC at `instant`. */
function zoneOffsetMinutes(instant: Date, timeZone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(instant)
      .map((p) => [p.type, Number(p.value)]),
  ) as Record<string, number>;
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return Math.round((asUtc - Math.floor(instant.getTime() / 1000) * 1000) / 60_000);
}

/** The instant of `hh:mm` on the zone's calendar day `dayUtc` (a UTC midnight naming the date). */
function wallClock(dayUtc: number, hours: number, minutes: number, timeZone: string): Date {
  const guess = dayUtc + (hours * 60 + minutes) * 60_000;
  // Two passes settle the offset when the guess and the answer straddle a clock change.
  let instant = guess - zoneOffsetMinutes(new Date(guess), timeZone) * 60_000;
  instant = guess - zoneOffsetMinutes(new Date(instant), timeZone) * 60_000;
  return new Date(instant);
}

/** The most recent `at` (HH:MM in `timeZone`) at or before `now`. */
export function latestDailyTime(now: Date, at: string, timeZone: string): Date {
  const [hours, minutes] = at.split(':').map(Number) as [number, number];
  const local = new Date(now.getTime() + zoneOffsetMinutes(now, timeZone) * 60_000);
  const today = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate());
  const candidate = wallClock(today, hours, minutes, timeZone);
  return candidate.getTime() <= now.getTime() ? candidate : wallClock(today - 86_400_000, hours, minutes, timeZone);
}
