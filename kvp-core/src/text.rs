//! Characters that change how text looks without being seen: controls and
//! Unicode format characters.
//!
//! Pools 0 and 3 hold what the host sends, and any writer may put anything
//! in pool 1. A key with a right-to-left override or a zero-width space can
//! pass for another key on screen, and control characters drive terminals.
//! The checker reports such keys, and the CLI escapes these characters
//! before text reaches a terminal; both ask this module, so they agree.

/// Unicode's format characters (general category Cf, Unicode 15.1, with
/// the unassigned rest of the tag block), plus the line and paragraph
/// separators, which break lines in some terminals. Written out: one table
/// does not justify a dependency.
const INVISIBLE_RANGES: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE007F),
];

/// Whether `c` is a Unicode format character (bidi controls, zero-width
/// characters, tags) or a line or paragraph separator.
pub fn is_format(c: char) -> bool {
    let c = u32::from(c);
    INVISIBLE_RANGES
        .iter()
        .any(|&(first, last)| (first..=last).contains(&c))
}

/// Whether `c` must be escaped before it reaches a terminal: a control
/// character (C0, DEL, C1) or a format character.
pub fn is_unsafe_for_terminal(c: char) -> bool {
    c.is_control() || is_format(c)
}

/// The first character of `text` that [`is_unsafe_for_terminal`].
pub fn first_unsafe_char(text: &str) -> Option<char> {
    text.chars().find(|&c| is_unsafe_for_terminal(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_zero_width_and_controls_are_caught() {
        for c in [
            '\u{202E}',
            '\u{200B}',
            '\u{2066}',
            '\u{FEFF}',
            '\u{E0041}',
            '\u{AD}',
        ] {
            assert!(is_format(c), "{c:?}");
            assert!(is_unsafe_for_terminal(c), "{c:?}");
        }
        for c in ['\u{1b}', '\u{7f}', '\u{85}', '\n'] {
            assert!(!is_format(c), "{c:?}");
            assert!(is_unsafe_for_terminal(c), "{c:?}");
        }
        for c in ['a', 'é', '中', ' ', '\u{1F600}'] {
            assert!(!is_unsafe_for_terminal(c), "{c:?}");
        }
        assert_eq!(
            first_unsafe_char("Provisioning\u{200B}State"),
            Some('\u{200B}')
        );
        assert_eq!(first_unsafe_char("ProvisioningState"), None);
    }
}
