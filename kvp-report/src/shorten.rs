//! Shortening any value meant for `PROVISIONING_REPORT` to what the host
//! receives whole, without breaking its CSV.
//!
//! cloud-init's `write_key` cuts a value to its first 1023 characters: one
//! more than the host receives, and possibly inside a quoted field, which
//! leaves a report that no reader decodes. [`shorten_for_host`] is what a
//! storage layer under that `write_key` uses instead.

use kvp_core::limits::PoolMode;

use crate::csv::quoted_field_at;
use crate::report::{Dialect, ProvisioningReport};

/// `value`, shortened when needed so that the host receives it whole (at
/// most 1022 UTF-16 code units and 2047 UTF-8 bytes, [`PoolMode::Safe`]):
///
/// - a value that fits is returned as it is;
/// - a provisioning report that one dialect encodes back to exactly
///   `value` is shortened as [`ProvisioningReport::encode_safe`] shortens
///   it: only its reason and supporting-data values are cut, and a
///   `shortened=<original length>` field says so;
/// - any other value is cut at a character boundary to the longest start
///   that fits; when that cut falls inside a quoted field (one that starts
///   with `'` or `"`), the whole field goes, with the `|` before it.
///
/// The result fits whenever `value` holds no NUL (which no pool takes).
pub fn shorten_for_host(value: &str) -> String {
    if fits(value) {
        return value.to_owned();
    }
    if let Ok(report) = ProvisioningReport::decode(value) {
        for dialect in [Dialect::CloudInit, Dialect::AzureInit] {
            if report.encode(dialect) == value {
                if let Ok(short) = report.encode_safe(dialect) {
                    return short;
                }
            }
        }
    }
    let mut cut = longest_fitting_start(value);
    if let Some(quote) = quoted_field_at(value, cut, &['\'', '"']) {
        cut = quote;
        if value[..cut].ends_with('|') {
            cut -= 1;
        }
    }
    value[..cut].to_owned()
}

fn fits(value: &str) -> bool {
    PoolMode::Safe.check_value(value).is_ok()
}

/// The byte length of the longest start of `value`, cut at a character
/// boundary, that fits [`PoolMode::Safe`].
fn longest_fitting_start(value: &str) -> usize {
    let (mut units, mut end) = (0, 0);
    for (at, c) in value.char_indices() {
        units += c.len_utf16();
        let next = at + c.len_utf8();
        if units > kvp_core::limits::SAFE_VALUE_UTF16_UNITS
            || next > kvp_core::limits::MAX_VALUE_BYTES
        {
            break;
        }
        end = next;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;
    use kvp_core::limits::utf16_len;
    use proptest::prelude::*;

    #[test]
    fn a_value_that_fits_is_kept() {
        for value in ["", "x", &"v".repeat(1022), &"é".repeat(1022)] {
            assert_eq!(shorten_for_host(value), value);
        }
    }

    #[test]
    fn plain_text_is_cut_to_what_the_host_receives() {
        assert_eq!(shorten_for_host(&"v".repeat(1100)), "v".repeat(1022));
        // 1022 code units: 511 astral characters (two units each).
        assert_eq!(shorten_for_host(&"😀".repeat(600)), "😀".repeat(511));
        // 2047 UTF-8 bytes bind first: 682 three-byte characters.
        assert_eq!(shorten_for_host(&"€".repeat(1000)), "€".repeat(682));
    }

    #[test]
    fn a_cut_never_falls_inside_a_quoted_field() {
        let value = format!("a=1|b=2|'note={}'|c=3", "x|".repeat(600));
        assert_eq!(shorten_for_host(&value), "a=1|b=2");
        let unquoted = format!("a=1|note={}", "y".repeat(1100));
        assert_eq!(shorten_for_host(&unquoted).len(), 1022);
    }

    #[test]
    fn a_long_cloud_init_report_is_shortened_as_a_report() {
        let report = ProvisioningReport::error("Cloud-Init/25.1", "vm", "unhandled exception")
            .with_timestamp("2026-06-17T00:00:00+00:00")
            .with_supporting("exception", "x|".repeat(600));
        let value = report.encode(Dialect::CloudInit);
        assert!(utf16_len(&value) > 1023);
        let short = shorten_for_host(&value);
        assert_eq!(short, report.encode_safe(Dialect::CloudInit).unwrap());
        let decoded = ProvisioningReport::decode(&short).unwrap();
        assert_eq!(decoded.shortened(), Some(utf16_len(&value)));
        assert_eq!(decoded.reason.as_deref(), Some("unhandled exception"));
    }

    proptest! {
        #[test]
        fn always_fits_and_keeps_a_start(value in "[a-z=|'\"é😀]{0,1500}") {
            let short = shorten_for_host(&value);
            prop_assert!(fits(&short));
            if fits(&value) {
                prop_assert_eq!(&short, &value);
            }
        }
    }
}
