//! Writing results: aligned tables for people, one-line JSON for scripts.
//!
//! Everything goes through a `Write` handed down from main, never `print!`,
//! so that a closed pipe comes back as an error that main ends quietly on,
//! instead of a panic.

use std::io::{self, Write};

use serde::Serialize;

/// Widest key shown in a table before it is shortened.
const KEY_COLUMN: usize = 48;
/// Widest value shown in a table before it is shortened.
const VALUE_COLUMN: usize = 64;

/// Writes `value` as one line of compact JSON.
pub fn json(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
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

/// Writes rows under a header, each column as wide as its widest cell (up
/// to its maximum). Cells are shown with control characters escaped and
/// cut with `…` beyond the maximum; the last column is not padded.
pub fn table(out: &mut dyn Write, columns: &[Column], rows: &[Vec<String>]) -> io::Result<()> {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(columns)
                .map(|(cell, column)| shorten(&escape(cell), column.max))
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

/// Makes newlines, tabs and other control characters visible so that one
/// record stays on one line.
fn escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().collect()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn shorten(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(rows: &[Vec<String>]) -> String {
        let mut out = Vec::new();
        table(&mut out, &[KEY, VALUE], rows).expect("write to a Vec");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn aligns_escapes_and_shortens() {
        let long = "v".repeat(100);
        let text = render(&[
            vec!["a".into(), "x\ny".into()],
            vec!["longer-key".into(), long],
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "KEY         VALUE");
        assert_eq!(lines[1], "a           x\\ny");
        assert!(lines[2].starts_with("longer-key  vvv"));
        assert!(lines[2].ends_with('…'));
        assert_eq!(width(lines[2]), 12 + VALUE_COLUMN);
    }

    #[test]
    fn counts_characters_not_bytes() {
        let text = render(&[
            vec!["Région".into(), "1".into()],
            vec!["ab".into(), "2".into()],
        ]);
        assert_eq!(text.lines().nth(2), Some("ab      2"));
    }
}
