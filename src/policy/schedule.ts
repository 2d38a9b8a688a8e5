// The `when` clause of an access entry: days of the week and a daily time
// window ("HH:MM-HH:MM", end exclusive, may wrap past midnight), evaluated
// in an IANA time zone with Intl (DST handled by the zone's rules).

export const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Minutes since local midnight; `end` is exclusive and may be 1440 (24:00). */
export interface HoursWindow {
  readonly start: number;
  readonly end: number;
}

export interface Schedule {
  /** Absent: every day. For a window that wraps past midnight, the day is the one it started on. */
  readonly days?: readonly Weekday[];
  readonly hours?: HoursWindow;
  readonly tz: string;
}

/** Why a moment falls outside a schedule, or "inside". */
export type ScheduleResult = "inside" | "outside-days" | "outside-hours";

const MINUTES_PER_DAY = 24 * 60;
const HOURS_PATTERN = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Parses "07:00-20:00" or "22:00-06:00" (wrapping). 24:00 is accepted as an end. */
export function parseHours(text: string): HoursWindow {
  const match = HOURS_PATTERN.exec(text);
  const [start, end] =
    match === null ? [] : [toMinutes(match[1], match[2]), toMinutes(match[3], match[4])];
  if (
    start === undefined ||
    end === undefined ||
    start >= MINUTES_PER_DAY ||
    end > MINUTES_PER_DAY
  ) {
    throw new RangeError(
      `invalid hours ${JSON.stringify(text)}: expected HH:MM-HH:MM, e.g. 07:00-20:00`,
    );
  }
  if (start === end) {
    throw new RangeError(
      `invalid hours ${JSON.stringify(text)}: empty window (omit hours for all day)`,
    );
  }
  return { start, end };
}

function toMinutes(hours: string | undefined, minutes: string | undefined): number | undefined {
  const h = Number(hours);
  const m = Number(minutes);
  return m < 60 ? h * 60 + m : undefined;
}

/** Throws RangeError unless `tz` is an IANA time zone name known to this runtime. */
export function checkTimeZone(tz: string): string {
  try {
    formatterFor(tz);
    return tz;
  } catch {
    throw new RangeError(
      `unknown time zone ${JSON.stringify(tz)} (expected an IANA name such as Europe/Berlin)`,
    );
  }
}

export function checkSchedule(schedule: Schedule, at: Date): ScheduleResult {
  const local = localTime(at, schedule.tz);
  let windowDay = local.weekday;
  if (schedule.hours !== undefined) {
    const { start, end } = schedule.hours;
    const wraps = start > end;
    const inWindow = wraps
      ? local.minutes >= start || local.minutes < end
      : local.minutes >= start && local.minutes < end;
    if (!inWindow) return "outside-hours";
    if (wraps && local.minutes < end) windowDay = (local.weekday + 6) % 7;
  }
  const day = WEEKDAYS[windowDay];
  if (schedule.days !== undefined && (day === undefined || !schedule.days.includes(day)))
    return "outside-days";
  return "inside";
}

/** Weekday (0 = Sunday) and minutes since midnight of `at` in the zone `tz`. */
function localTime(at: Date, tz: string): { weekday: number; minutes: number } {
  const clock = localClock(at, tz);
  const weekday = WEEKDAYS.indexOf(clock.weekday.toLowerCase() as Weekday);
  return { weekday, minutes: clock.hour * 60 + clock.minute };
}

/** Weekday (`Mon`), hour (0–23) and minute of `at` in the zone `timeZone` (default UTC), by Intl (DST included). */
export function localClock(
  at: Date,
  timeZone = "UTC",
): { weekday: string; hour: number; minute: number } {
  const parts = formatterFor(timeZone).formatToParts(at);
  const part = (type: Intl.DateTimeFormatPartTypes) =>
    parts.find((p) => p.type === type)?.value ?? "";
  return { weekday: part("weekday"), hour: Number(part("hour")), minute: Number(part("minute")) };
}

function formatterFor(tz: string): Intl.DateTimeFormat {
  let formatter = formatters.get(tz);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(tz, formatter);
  }
  return formatter;
}
