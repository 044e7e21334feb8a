//! Writing results: aligned tables for people, one-line JSON for scripts.
//!
//! Everything goes through a `Write` handed down from main, never `print!`,
//! so that a closed pipe comes back as an error that main ends quietly on,
//! instead of a panic.

use std::io::{self, Write};

use serde::Serialize;

use crate::escape::{self, Unit};

/// Widest key shown in a table before it is shortened.
const KEY_COLUMN: usize = 48;
/// Widest value shown in a table before it is shortened.
const VALUE_COLUMN: usize = 64;

/// Writes `value` as one line of compact JSON, with DEL, C1 and format
/// characters escaped as well (see [`crate::json`]).
pub fn json(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    crate::json::write(out, value)?;
    writeln!(out)
}

/// A table column: its header and the widest it may grow.
pub struct Column {
    header: &'static str,
    max: usize,
}

/// The record index column of `list`.
pub const INDEX: Column = Column {
    header: "#",
    max: usize::MAX,
};
/// The key column.
pub const KEY: Column = Column {
    header: "KEY",
    max: KEY_COLUMN,
};
/// The value column.
pub const VALUE: Column = Column {
    header: "VALUE",
    max: VALUE_COLUMN,
};

/// The field-name column of `report show`.
pub const FIELD: Column = Column {
    header: "FIELD",
    max: KEY_COLUMN,
};
/// A value column that is never cut, for `report show`, where the whole
/// reason matters.
pub const WHOLE_VALUE: Column = Column {
    header: "VALUE",
    max: usize::MAX,
};

/// Writes rows under a header, each column as wide as its widest cell (up
/// to its maximum). Cells are raw bytes shown in the escaped form (see
/// [`crate::escape`]) and cut with `…` beyond the maximum; the last column
/// is not padded.
pub fn table<C: AsRef<[u8]>>(
    out: &mut dyn Write,
    columns: &[Column],
    rows: &[Vec<C>],
) -> io::Result<()> {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(columns)
                .map(|(cell, column)| shown(cell.as_ref(), column.max))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            cells
                .iter()
                .map(|row| width(&row[i]))
                .chain([width(column.header)])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let header: Vec<String> = columns.iter().map(|c| c.header.to_owned()).collect();
    for row in std::iter::once(&header).chain(&cells) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', widths[i] - width(cell) + 2));
            }
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Columns a cell takes, counting one per character.
fn width(text: &str) -> usize {
    text.chars().count()
}

/// The escaped form of `bytes`, one record on one line, cut with `…` to at
/// most `max` characters between two escape units, so that a sequence is
/// never shown half.
pub fn shown(bytes: &[u8], max: usize) -> String {
    let units: Vec<Unit> = escape::units(bytes).collect();
    let total: usize = units.iter().map(|u| u.width()).sum();
    if total <= max {
        return units.iter().map(Unit::to_string).collect();
    }
    let room = max.saturating_sub(1);
    let mut used = 0;
    let mut short: String = units
        .iter()
        .take_while(|unit| {
            used += unit.width();
            used <= room
        })
        .map(Unit::to_string)
        .collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(rows: &[Vec<&str>]) -> String {
        let mut out = Vec::new();
        table(&mut out, &[KEY, VALUE], rows).expect("write to a Vec");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn aligns_escapes_and_shortens() {
        let long = "v".repeat(100);
        let text = render(&[vec!["a", "x\ny"], vec!["longer-key", &long]]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "KEY         VALUE");
        assert_eq!(lines[1], "a           x\\ny");
        assert!(lines[2].starts_with("longer-key  vvv"));
        assert!(lines[2].ends_with('…'));
        assert_eq!(width(lines[2]), 12 + VALUE_COLUMN);
    }

    #[test]
    fn counts_characters_not_bytes() {
        let text = render(&[vec!["Région", "1"], vec!["ab", "2"]]);
        assert_eq!(text.lines().nth(2), Some("ab      2"));
    }

    #[test]
    fn look_alike_keys_show_apart() {
        let rows: Vec<Vec<&[u8]>> = vec![
            vec![b"ProvisioningState", b"ok"],
            vec!["Provisioning\u{200b}State".as_bytes(), b"evil"],
            vec!["ProvisioningState\u{202e}".as_bytes(), b"evil"],
            vec![b"Status\xff", b"\x1b]0;pwned\x07"],
        ];
        let mut out = Vec::new();
        table(&mut out, &[KEY, VALUE], &rows).expect("write to a Vec");
        let text = String::from_utf8(out).expect("utf-8");
        let keys: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split(' ').next().unwrap_or(""))
            .collect();
        assert_eq!(
            keys,
            [
                "ProvisioningState",
                r"Provisioning\u{200b}State",
                r"ProvisioningState\u{202e}",
                r"Status\xff"
            ]
        );
        assert!(text.ends_with("\\x1b]0;pwned\\x07\n"), "{text}");
    }

    #[test]
    fn shortening_never_cuts_an_escape_in_half() {
        let value = format!("{}\u{202e}tail", "v".repeat(VALUE_COLUMN - 5));
        let cell = shown(value.as_bytes(), VALUE_COLUMN);
        assert_eq!(cell, format!("{}…", "v".repeat(VALUE_COLUMN - 5)));
        let fits = format!("{}\u{202e}", "v".repeat(VALUE_COLUMN - 10));
        assert!(shown(fits.as_bytes(), VALUE_COLUMN).ends_with(r"\u{202e}"));
    }
}
