//! Instants in UTC and the timestamp spellings the formats use.
//!
//! Every format writes ISO 8601 / RFC 3339 text, each its own way:
//!
//! | writer | spelling |
//! |---|---|
//! | cloud-init 22.4 - 24.3 events | `2026-06-17T00:00:00.123456Z`, fraction omitted when zero (`isoformat() + "Z"`) |
//! | cloud-init 24.4+ events and reports | `2026-06-17T00:00:00.123456+00:00`, fraction omitted when zero |
//! | cloud-init 23.2 - 24.3 reports | `2026-06-17T00:00:00.123456` (naive `utcnow().isoformat()`) |
//! | azure-init reports | `2026-06-17T00:00:00.123456789+00:00` (chrono `to_rfc3339`) |
//! | azure-init tracing, `DIAG_V1` | `2026-06-17T00:00:00.123Z` (0, 3, 6 or 9 fraction digits) |
//!
//! [`Timestamp`] parses all of them and formats each of them.

use std::time::{SystemTime, UNIX_EPOCH};

/// An instant in UTC with nanosecond resolution, between the years 0000
/// and 9999.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

/// How many fraction digits [`Timestamp::to_rfc3339`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Precision {
    /// No fraction.
    Seconds,
    /// Three digits.
    Millis,
    /// Six digits.
    Micros,
    /// Nine digits.
    Nanos,
}

impl Precision {
    fn digits(self) -> usize {
        match self {
            Precision::Seconds => 0,
            Precision::Millis => 3,
            Precision::Micros => 6,
            Precision::Nanos => 9,
        }
    }
}

/// How a timestamp names UTC at its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Offset {
    /// `Z`.
    Z,
    /// `+00:00`.
    Colon,
    /// Nothing: a naive time that means UTC.
    Naive,
}

impl Offset {
    fn as_str(self) -> &'static str {
        match self {
            Offset::Z => "Z",
            Offset::Colon => "+00:00",
            Offset::Naive => "",
        }
    }
}

const MIN_SECS: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
const MAX_SECS: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z

impl Timestamp {
    /// The instant `secs` seconds and `nanos` nanoseconds after the Unix
    /// epoch; `None` outside the years 0000 to 9999 or for `nanos` of a
    /// second or more.
    pub fn from_unix(secs: i64, nanos: u32) -> Option<Timestamp> {
        ((MIN_SECS..=MAX_SECS).contains(&secs) && nanos < 1_000_000_000)
            .then_some(Timestamp { secs, nanos })
    }

    /// The current time (the epoch if the clock is set before it).
    pub fn now() -> Timestamp {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let secs = i64::try_from(since.as_secs())
            .unwrap_or(MAX_SECS)
            .min(MAX_SECS);
        Timestamp {
            secs,
            nanos: since.subsec_nanos(),
        }
    }

    /// Whole seconds since the Unix epoch (negative before it).
    pub fn unix_seconds(&self) -> i64 {
        self.secs
    }

    /// The nanoseconds within the second.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// The time from `earlier` to this instant; `None` when `earlier` is
    /// later.
    pub fn duration_since(&self, earlier: Timestamp) -> Option<std::time::Duration> {
        let nanos = |t: &Timestamp| i128::from(t.secs) * 1_000_000_000 + i128::from(t.nanos);
        let elapsed = u64::try_from(nanos(self) - nanos(&earlier)).ok()?;
        Some(std::time::Duration::from_nanos(elapsed))
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS`, an optional fraction of 1 to 9
    /// digits, and an optional `Z` or `±HH:MM` offset (none means UTC).
    /// Leap seconds (`:60`) are refused.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let b = text.as_bytes();
        if b.len() < 19
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let year = digits(&b[0..4])?;
        let month = digits(&b[5..7])?;
        let day = digits(&b[8..10])?;
        let hour = digits(&b[11..13])?;
        let minute = digits(&b[14..16])?;
        let second = digits(&b[17..19])?;
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        let mut rest = &b[19..];
        let mut nanos = 0u32;
        if let Some(after) = rest.strip_prefix(b".") {
            let n = after.iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 || n > 9 {
                return None;
            }
            nanos = digits(&after[..n])? * 10u32.pow(9 - n as u32);
            rest = &after[n..];
        }
        let offset_secs: i64 = match rest {
            b"" | b"Z" => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let h = digits(&[*h1, *h2])?;
                let m = digits(&[*m1, *m2])?;
                if h > 23 || m > 59 {
                    return None;
                }
                let total = i64::from(h * 3600 + m * 60);
                if *sign == b'+' {
                    total
                } else {
                    -total
                }
            }
            _ => return None,
        };
        let days = days_from_civil(i64::from(year), month, day);
        let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_secs;
        Timestamp::from_unix(secs, nanos)
    }

    /// RFC 3339 in UTC with exactly the digits of `precision` (the
    /// fraction is cut, not rounded) and the given offset spelling.
    pub fn to_rfc3339(&self, precision: Precision, offset: Offset) -> String {
        let mut out = self.base();
        let digits = precision.digits();
        if digits > 0 {
            let fraction = format!("{:09}", self.nanos);
            out.push('.');
            out.push_str(&fraction[..digits]);
        }
        out.push_str(offset.as_str());
        out
    }

    /// RFC 3339 with the fewest of 0, 3, 6 or 9 fraction digits that hold
    /// the instant exactly, as chrono's `to_rfc3339()` writes it (with
    /// [`Offset::Colon`]).
    pub fn to_rfc3339_auto(&self, offset: Offset) -> String {
        let precision = if self.nanos == 0 {
            Precision::Seconds
        } else if self.nanos.is_multiple_of(1_000_000) {
            Precision::Millis
        } else if self.nanos.is_multiple_of(1000) {
            Precision::Micros
        } else {
            Precision::Nanos
        };
        self.to_rfc3339(precision, offset)
    }

    /// Python's `datetime.isoformat()` of this instant as `datetime`
    /// holds it (microseconds, rounded half to even from nanoseconds as
    /// `datetime.fromtimestamp` rounds), then the offset spelling: six
    /// fraction digits, or none when the microseconds are zero.
    pub fn to_python_isoformat(&self, offset: Offset) -> String {
        let rounded = self.round_to_micros();
        let micros = rounded.nanos / 1000;
        let mut out = rounded.base();
        if micros != 0 {
            out.push_str(&format!(".{micros:06}"));
        }
        out.push_str(offset.as_str());
        out
    }

    fn round_to_micros(&self) -> Timestamp {
        let micros = self.nanos / 1000;
        let rest = self.nanos % 1000;
        let up = rest > 500 || (rest == 500 && micros % 2 == 1);
        let micros = micros + u32::from(up);
        if micros == 1_000_000 {
            Timestamp::from_unix(self.secs + 1, 0).unwrap_or(*self)
        } else {
            Timestamp {
                secs: self.secs,
                nanos: micros * 1000,
            }
        }
    }

    fn base(&self) -> String {
        let days = self.secs.div_euclid(86_400);
        let of_day = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            of_day / 3600,
            of_day / 60 % 60,
            of_day % 60
        )
    }
}

impl std::fmt::Display for Timestamp {
    /// RFC 3339 with `Z` and the fewest of 0, 3, 6 or 9 fraction digits
    /// that hold the instant exactly.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339_auto(Offset::Z))
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn duration_since_across_seconds_and_never_negative() {
        let a = Timestamp::from_unix(10, 900_000_000).unwrap();
        let b = Timestamp::from_unix(12, 100_000_000).unwrap();
        assert_eq!(
            b.duration_since(a),
            Some(std::time::Duration::from_millis(1200))
        );
        assert_eq!(a.duration_since(b), None);
        assert_eq!(a.duration_since(a), Some(std::time::Duration::ZERO));
    }

    #[test]
    fn known_instants() {
        let t = Timestamp::parse("2026-06-17T00:00:00Z").unwrap();
        assert_eq!(t.unix_seconds(), 1_781_654_400);
        let t = Timestamp::parse("1970-01-01T00:00:00").unwrap();
        assert_eq!(t.unix_seconds(), 0);
        let t = Timestamp::parse("2000-02-29T12:34:56.789+02:00").unwrap();
        assert_eq!(t.unix_seconds(), 951_820_496);
        assert_eq!(t.subsec_nanos(), 789_000_000);
        assert_eq!(
            t.to_rfc3339(Precision::Millis, Offset::Z),
            "2000-02-29T10:34:56.789Z"
        );
    }

    #[test]
    fn refuses_bad_text() {
        for bad in [
            "",
            "2026-06-17",
            "2026-06-17 00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-06-17T24:00:00Z",
            "2026-06-17T00:00:60Z",
            "2026-06-17T00:00:00.Z",
            "2026-06-17T00:00:00.1234567890Z",
            "2026-06-17T00:00:00+0000",
            "2026-06-17T00:00:00ZZ",
            "２026-06-17T00:00:00Z",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn python_isoformat_omits_zero_micros_and_rounds_half_even() {
        let t = Timestamp::from_unix(1_781_654_400, 0).unwrap();
        assert_eq!(t.to_python_isoformat(Offset::Z), "2026-06-17T00:00:00Z");
        assert_eq!(
            t.to_python_isoformat(Offset::Colon),
            "2026-06-17T00:00:00+00:00"
        );
        let t = Timestamp::from_unix(1_781_654_400, 123_456_500).unwrap();
        assert_eq!(
            t.to_python_isoformat(Offset::Naive),
            "2026-06-17T00:00:00.123456"
        );
        let t = Timestamp::from_unix(1_781_654_400, 123_457_500).unwrap();
        assert_eq!(
            t.to_python_isoformat(Offset::Naive),
            "2026-06-17T00:00:00.123458"
        );
        let t = Timestamp::from_unix(1_781_654_400, 999_999_600).unwrap();
        assert_eq!(t.to_python_isoformat(Offset::Z), "2026-06-17T00:00:01Z");
    }

    proptest! {
        #[test]
        fn nanos_round_trip(secs in MIN_SECS..=MAX_SECS, nanos in 0u32..1_000_000_000) {
            let t = Timestamp::from_unix(secs, nanos).unwrap();
            let text = t.to_rfc3339(Precision::Nanos, Offset::Z);
            prop_assert_eq!(Timestamp::parse(&text), Some(t));
            prop_assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,40}") {
            let _ = Timestamp::parse(&text);
        }
    }
}
