//! Unit tests of [`Entries`]: the table against its definition (a map
//! filled record by record, later records winning) and its API.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn build<T: ?Sized + EntryText>(records: &[(&[u8], &[u8])]) -> Entries<T> {
    let (mut in_file_order, mut order) = (Vec::new(), Vec::new());
    let mut builder = Builder::new(&mut in_file_order, &mut order);
    for (key, value) in records {
        builder.push(key, value);
    }
    builder.finish()
}

/// The definition of the raw table.
fn raw_as_defined(records: &[(&[u8], &[u8])]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    records
        .iter()
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect()
}

/// The definition of the text table: keys that are not UTF-8 left out,
/// values decoded lossily.
fn text_as_defined(records: &[(&[u8], &[u8])]) -> BTreeMap<String, String> {
    raw_as_defined(records)
        .into_iter()
        .filter_map(|(k, v)| {
            let value = String::from_utf8_lossy(&v).into_owned();
            Some((String::from_utf8(k).ok()?, value))
        })
        .collect()
}

const RECORDS: &[(&[u8], &[u8])] = &[
    (b"m", b"first m"),
    (b"a", b"1"),
    (b"bad \xff key", b"raw only"),
    (b"z", b"bad \xfe value"),
    (b"m", b"last m"),
];

#[test]
fn the_last_record_of_each_key_in_key_order() {
    let text: Entries = build(RECORDS);
    assert_eq!(text.len(), 3);
    assert_eq!(
        text.iter().collect::<Vec<_>>(),
        [("a", "1"), ("m", "last m"), ("z", "bad \u{fffd} value")]
    );
    assert_eq!(text.iter().next_back(), Some(("z", "bad \u{fffd} value")));
    assert_eq!(text.iter().len(), 3);
    assert_eq!(text.keys().collect::<Vec<_>>(), ["a", "m", "z"]);
    assert_eq!(text.values().next(), Some("1"));
    assert_eq!(text.to_map(), text_as_defined(RECORDS));

    let raw: RawEntries = build(RECORDS);
    assert_eq!(raw.len(), 4);
    assert_eq!(raw.get(b"bad \xff key"), Some(&b"raw only"[..]));
    assert_eq!(raw.get(b"z"), Some(&b"bad \xfe value"[..]));
    assert_eq!(raw.to_map(), raw_as_defined(RECORDS));
}

#[test]
fn lookups_before_between_and_after_the_keys_find_nothing() {
    let text: Entries = build(RECORDS);
    for missing in ["", "0", "b", "n", "zz", "bad \u{fffd} key"] {
        assert_eq!(text.get(missing), None, "{missing:?}");
        assert!(!text.contains_key(missing));
    }
    assert!(text.contains_key("m"));
    assert_eq!(&text["m"], "last m");
}

#[test]
#[should_panic(expected = "no entry for key \"b\"")]
fn indexing_a_missing_key_panics_as_a_map_does() {
    let text: Entries = build(RECORDS);
    let _ = &text["b"];
}

#[test]
fn an_empty_table() {
    let empty: Entries = build(&[]);
    assert!(empty.is_empty());
    assert_eq!(empty.get(""), None);
    assert_eq!(empty.iter().next(), None);
    assert_eq!(format!("{empty:?}"), "{}");
    assert_eq!(empty, Entries::default());
}

#[test]
fn tables_with_the_same_entries_are_equal_whatever_they_superseded() {
    let direct: Entries = build(&[(b"a", b"1"), (b"b", b"2")]);
    let rewritten: Entries = build(&[(b"b", b"old"), (b"a", b"1"), (b"b", b"2")]);
    assert_eq!(direct, rewritten);
    assert_eq!(direct.clone(), rewritten);
    assert_ne!(direct, build(&[(b"a", b"1"), (b"b", b"3")]));
    assert_eq!(format!("{direct:?}"), r#"{"a": "1", "b": "2"}"#);
    let pairs: Vec<(&str, &str)> = (&direct).into_iter().collect();
    assert_eq!(pairs, [("a", "1"), ("b", "2")]);
}

#[test]
fn keys_sharing_their_first_eight_bytes_sort_and_merge_by_the_whole_key() {
    let records: &[(&[u8], &[u8])] = &[
        (b"CLOUD_INIT|b", b"1"),
        (b"CLOUD_INIT|a", b"2"),
        (b"CLOUD_IN", b"3"),
        (b"CLOUD_INIT|b", b"4"),
        (b"CLOUD_INIT|", b"5"),
    ];
    let text: Entries = build(records);
    assert_eq!(
        text.iter().collect::<Vec<_>>(),
        [
            ("CLOUD_IN", "3"),
            ("CLOUD_INIT|", "5"),
            ("CLOUD_INIT|a", "2"),
            ("CLOUD_INIT|b", "4")
        ]
    );
}

proptest! {
    #[test]
    fn both_tables_match_their_definitions(
        records in proptest::collection::vec(
            (
                proptest::collection::vec(prop_oneof![Just(b'k'), Just(b'e'), Just(0xff), any::<u8>()], 0..12),
                proptest::collection::vec(any::<u8>(), 0..20),
            ),
            0..60,
        )
    ) {
        let records: Vec<(&[u8], &[u8])> =
            records.iter().map(|(k, v)| (k.as_slice(), v.as_slice())).collect();
        let raw: RawEntries = build(&records);
        let text: Entries = build(&records);
        let raw_defined = raw_as_defined(&records);
        let text_defined = text_as_defined(&records);
        prop_assert_eq!(raw.to_map(), raw_defined.clone());
        prop_assert_eq!(text.to_map(), text_defined.clone());
        for (key, value) in &raw_defined {
            prop_assert_eq!(raw.get(key), Some(value.as_slice()));
        }
        for (key, value) in &text_defined {
            prop_assert_eq!(text.get(key), Some(value.as_str()));
        }
    }
}
