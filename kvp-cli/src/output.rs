//! Writing results: aligned tables for people, one-line JSON for scripts.
//!
//! Everything goes through a `Write` handed down from main, never `print!`,
//! so that a closed pipe comes back as an error that main ends quietly on,
//! instead of a panic.

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

use crate::escape::{self, Unit};

/// The narrowest a column that shrinks to fit the terminal is cut to, so
/// that a cut cell still shows something; below it the table is wider
/// than a very narrow terminal.
const MIN_SHRUNK: usize = 10;

/// Writes `value` as one line of compact JSON, with DEL, C1 and format
/// characters escaped as well (see [`crate::json`]).
pub fn json(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    crate::json::write(out, value)?;
    writeln!(out)
}

/// How wide a table may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// No cell is cut (beyond its column's own maximum): a pipe, a file,
    /// or `--wide`.
    Whole,
    /// The table fits this many terminal columns: the columns that shrink
    /// share what the others leave, cut with `…`.
    Fit(usize),
}

impl Width {
    /// For a table on stdout: cut to the terminal's width when stdout is a
    /// terminal, unless `wide`; never cut for a pipe or a file, so that
    /// `kvp list | grep` sees whole keys and values.
    pub fn of_stdout(wide: bool) -> Width {
        if wide || !io::stdout().is_terminal() {
            Width::Whole
        } else {
            Width::Fit(crate::terminal::columns())
        }
    }
}

/// A table column: its header, the widest it may grow, and whether it
/// shrinks to fit the terminal.
pub struct Column {
    header: &'static str,
    max: usize,
    shrinks: bool,
}

/// The record index column of `list`, never cut.
pub const INDEX: Column = Column {
    header: "#",
    max: usize::MAX,
    shrinks: false,
};
/// The key column of `list` and `entries`.
pub const KEY: Column = Column {
    header: "KEY",
    max: usize::MAX,
    shrinks: true,
};
/// The value column of `list` and `entries`.
pub const VALUE: Column = Column {
    header: "VALUE",
    max: usize::MAX,
    shrinks: true,
};

/// The field-name column of `report show`, cut at 48 characters.
pub const FIELD: Column = Column {
    header: "FIELD",
    max: 48,
    shrinks: false,
};
/// A value column that is never cut, for `report show`, where the whole
/// reason matters.
pub const WHOLE_VALUE: Column = Column {
    header: "VALUE",
    max: usize::MAX,
    shrinks: false,
};

/// Writes rows under a header, each column as wide as its widest cell (up
/// to its maximum, and with [`Width::Fit`] to its share of the terminal).
/// Cells are raw bytes shown in the escaped form (see [`crate::escape`]),
/// cut with `…` between two escapes; the last column is not padded.
pub fn table<C: AsRef<[u8]>>(
    out: &mut dyn Write,
    columns: &[Column],
    rows: &[Vec<C>],
    room: Width,
) -> io::Result<()> {
    let natural: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            rows.iter()
                .map(|row| escaped_width(row[i].as_ref()).min(column.max))
                .chain([width(column.header)])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let limits = fit(columns, &natural, room);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(&limits)
                .map(|(cell, &limit)| shown(cell.as_ref(), limit))
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
            line.push_str(cell);
            if i + 1 < row.len() {
                line.extend(std::iter::repeat_n(' ', widths[i] - width(cell) + 2));
            }
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The widest each column may be. With [`Width::Fit`], the columns that
/// shrink share what the others and the two-space gaps leave: each one
/// narrower than an even share keeps its width and leaves the rest to the
/// wider ones (max-min fairness), and none is cut below [`MIN_SHRUNK`].
fn fit(columns: &[Column], natural: &[usize], room: Width) -> Vec<usize> {
    let Width::Fit(total) = room else {
        return columns.iter().map(|c| c.max).collect();
    };
    let fixed: usize = columns
        .iter()
        .zip(natural)
        .filter(|(c, _)| !c.shrinks)
        .map(|(_, &n)| n)
        .sum::<usize>()
        + 2 * columns.len().saturating_sub(1);
    // The shrinking columns, narrowest first.
    let mut order: Vec<usize> = (0..columns.len()).filter(|&i| columns[i].shrinks).collect();
    order.sort_by_key(|&i| natural[i]);
    let mut left = total.saturating_sub(fixed);
    let mut limits: Vec<usize> = columns.iter().map(|c| c.max).collect();
    for (done, &i) in order.iter().enumerate() {
        let share = left / (order.len() - done);
        let take = natural[i].min(share);
        left -= take;
        limits[i] = take.max(natural[i].min(MIN_SHRUNK));
    }
    limits
}

/// Columns the escaped form of `bytes` takes.
fn escaped_width(bytes: &[u8]) -> usize {
    escape::units(bytes).map(Unit::width).sum()
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

    fn render(rows: &[Vec<&str>], room: Width) -> String {
        let mut out = Vec::new();
        table(&mut out, &[KEY, VALUE], rows, room).expect("write to a Vec");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn aligns_escapes_and_never_cuts_whole_tables() {
        let long = "v".repeat(3000);
        let key = "k".repeat(300);
        let text = render(
            &[
                vec!["a", "x\ny"],
                vec!["longer-key", &long],
                vec![&key, "1"],
            ],
            Width::Whole,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("KEY{}VALUE", " ".repeat(299)));
        assert_eq!(lines[1], format!("a{}x\\ny", " ".repeat(301)));
        assert_eq!(lines[2], format!("longer-key{}{long}", " ".repeat(292)));
        assert_eq!(lines[3], format!("{key}  1"));
    }

    #[test]
    fn fits_the_terminal_width() {
        let long = "v".repeat(300);
        let key = "k".repeat(300);
        let text = render(&[vec![&key, &long], vec!["a", "1"]], Width::Fit(80));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.iter().all(|l| width(l) <= 80), "{text}");
        // An even share each: 39 and 39 with the gap.
        assert_eq!(
            lines[1],
            format!("{}…  {}…", "k".repeat(38), "v".repeat(38))
        );
        assert_eq!(width(lines[1]), 80);
        assert!(lines[2].starts_with("a "), "{text}");
    }

    #[test]
    fn a_narrow_column_leaves_its_share_to_the_other() {
        let long = "v".repeat(300);
        let text = render(&[vec!["short-key", &long]], Width::Fit(60));
        let line = text.lines().nth(1).unwrap_or_default();
        assert_eq!(line, format!("short-key  {}…", "v".repeat(48)));
        assert_eq!(width(line), 60);
        // What fits is not cut, and the fixed index column is never cut.
        let text = render(&[vec!["k", "v"]], Width::Fit(20));
        assert_eq!(text, "KEY  VALUE\nk    v\n");
        let mut out = Vec::new();
        let rows: Vec<Vec<&[u8]>> = vec![vec![b"123456", &[b'k'; 50], &[b'v'; 50]]];
        table(&mut out, &[INDEX, KEY, VALUE], &rows, Width::Fit(40)).expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        let line = text.lines().nth(1).unwrap_or_default();
        assert!(line.starts_with("123456  kkk"), "{text}");
        assert_eq!(width(line), 40);
    }

    #[test]
    fn a_very_narrow_terminal_still_shows_some_of_each_cell() {
        let long = "v".repeat(100);
        let text = render(&[vec![&long, &long]], Width::Fit(8));
        let line = text.lines().nth(1).unwrap_or_default();
        assert_eq!(line, format!("{}…  {}…", "v".repeat(9), "v".repeat(9)));
    }

    #[test]
    fn counts_characters_not_bytes() {
        let text = render(&[vec!["Région", "1"], vec!["ab", "2"]], Width::Whole);
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
        for room in [Width::Whole, Width::Fit(45)] {
            let mut out = Vec::new();
            table(&mut out, &[KEY, VALUE], &rows, room).expect("write to a Vec");
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
            assert!(!text.contains('\x1b'), "{text}");
        }
    }

    #[test]
    fn shortening_never_cuts_an_escape_in_half() {
        let value = format!("{}\u{202e}tail", "v".repeat(59));
        let cell = shown(value.as_bytes(), 64);
        assert_eq!(cell, format!("{}…", "v".repeat(59)));
        let fits = format!("{}\u{202e}", "v".repeat(54));
        assert!(shown(fits.as_bytes(), 64).ends_with(r"\u{202e}"));
    }
}
