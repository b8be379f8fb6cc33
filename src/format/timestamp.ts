/**
 * RFC 3339 timestamps as the dump line writes them: always UTC `Z`, always
 * exactly six fractional digits, years 0001–9999 (the range of
 * google.protobuf.Timestamp). Datastore keeps microseconds and rounds any
 * further precision down, so sub-microsecond nanos are truncated here too:
 * what we write is what Datastore would have stored.
 *
 * Date arithmetic is done on integers (days since 1970 via the proleptic
 * Gregorian calendar), never through `Date`, so every second of 0001..9999
 * maps exactly and negative seconds (before 1970) need no special case.
 */


const PAD2: string[] = [];
for (let i = 0; i < 100; i++) PAD2.push(i < 10 ? '0' + i : String(i));

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
function daysFromCivil(y: number, m: number, d: number): number {
  if (m <= 2) y -= 1;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * Formats seconds since the epoch plus nanos (0..999,999,999, added to the
 * seconds even when they are negative, as protobuf defines it). The caller
 * checks the range.
 */
export function formatTimestamp(seconds: number, nanos: number): string {
  const days = Math.floor(seconds / 86400);
  let sod = seconds - days * 86400;
  // Timestamps in one dump cluster around a few days: reuse the date text.
  const date = days === lastDays ? lastDate : dateText(days);
  const hh = Math.floor(sod / 3600);
  sod -= hh * 3600;
  const mm = Math.floor(sod / 60);
  const ss = sod - mm * 60;
  const micros = Math.floor(nanos / 1000);
  const f = micros >= 100000 ? String(micros) : String(micros + 1000000).slice(1);
  return date + PAD2[hh] + ':' + PAD2[mm] + ':' + PAD2[ss] + '.' + f + 'Z';
}

let lastDays = NaN;
let lastDate = '';

/** The proleptic Gregorian date of a day number (days since 1970-01-01), as year * 10000 + month * 100 + day. */
export function civilDate(epochDays: number): number {
  // Civil date from days (shifted so the era starts on 0000-03-01).
  const days = epochDays + 719468;
  const era = Math.floor(days / 146097);
  const doe = days - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return year * 10000 + month * 100 + day;
}

/** `YYYY-MM-DDT` of a day number. */
function dateText(epochDays: number): string {
  const ymd = civilDate(epochDays);
  const year = Math.floor(ymd / 10000);
  const month = Math.floor(ymd / 100) % 100;
  const day = ymd % 100;
  const y = year >= 1000 ? String(year) : year >= 100 ? '0' + year : year >= 10 ? '00' + year : '000' + year;
  lastDays = epochDays;
  lastDate = y + '-' + PAD2[month] + '-' + PAD2[day] + 'T';
  return lastDate;
}

const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

/** The decimal number in text[start, start+len), or -1 if any character is not a digit. */
function digits(text: string, start: number, len: number): number {
  let n = 0;
  for (let i = start; i < start + len; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

export interface ParsedTimestamp {
  seconds: number;
  /** Multiple of 1000: truncated to microseconds. */
  nanos: number;
}

/**
 * Parses `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`. Returns a reason string instead of
 * throwing so the caller can attach the property path. Offsets other than Z
 * and leap seconds are refused: Datastore never writes them.
 */
export function parseTimestamp(text: string): ParsedTimestamp | string {
  // Fast path for the canonical form we write, YYYY-MM-DDTHH:MM:SS.ffffffZ.
  if (text.length === 27 && text.charCodeAt(26) === 90 /* Z */) {
    const year = digits(text, 0, 4);
    const month = digits(text, 5, 2);
    const day = digits(text, 8, 2);
    const hh = digits(text, 11, 2);
    const mi = digits(text, 14, 2);
    const ss = digits(text, 17, 2);
    const micros = digits(text, 20, 6);
    if (
      (year | month | day | hh | mi | ss | micros) >= 0 &&
      text.charCodeAt(4) === 45 &&
      text.charCodeAt(7) === 45 &&
      text.charCodeAt(10) === 84 &&
      text.charCodeAt(13) === 58 &&
      text.charCodeAt(16) === 58 &&
      text.charCodeAt(19) === 46 &&
      year >= 1 &&
      month >= 1 &&
      month <= 12 &&
      day >= 1 &&
      (day <= 28 || day <= daysInMonth(year, month)) &&
      hh <= 23 &&
      mi <= 59 &&
      ss <= 59
    ) {
      return { seconds: daysFromCivil(year, month, day) * 86400 + hh * 3600 + mi * 60 + ss, nanos: micros * 1000 };
    }
  }
  const m = TIMESTAMP_RE.exec(text);
  if (m === null) return `invalid timestamp ${JSON.stringify(text)}: expected RFC 3339 UTC like 2024-01-31T12:00:00.000000Z`;
  const year = +m[1]!;
  const month = +m[2]!;
  const day = +m[3]!;
  const hh = +m[4]!;
  const mi = +m[5]!;
  const ss = +m[6]!;
  if (year < 1) return `timestamp ${JSON.stringify(text)} is out of range (years 0001..9999)`;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hh > 23 || mi > 59 || ss > 59) {
    return `invalid timestamp ${JSON.stringify(text)}: no such date or time`;
  }
  let nanos = 0;
  const frac = m[7];
  if (frac !== undefined) {
    nanos = +(frac + '000000000'.slice(frac.length));
    nanos -= nanos % 1000;
  }
  return { seconds: daysFromCivil(year, month, day) * 86400 + hh * 3600 + mi * 60 + ss, nanos };
}
