//! Talos image patterns: `*` is the only wildcard.
//!
//! `*` matches any run of characters, `/` and the empty run included; every
//! other character is literal and case-sensitive. Matching is linear: the
//! literal pieces between stars are found left to right, each at its first
//! place, which is enough when `*` is the only wildcard.

/// A compiled image pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob {
    source: String,
    /// The literal pieces between stars; one piece means no star at all.
    pieces: Vec<String>,
}

impl Glob {
    pub fn new(pattern: &str) -> Self {
        Self {
            source: pattern.to_owned(),
            pieces: pattern.split('*').map(str::to_owned).collect(),
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn has_wildcard(&self) -> bool {
        self.pieces.len() > 1
    }

    pub fn matches(&self, text: &str) -> bool {
        match self.pieces.as_slice() {
            [] => text.is_empty(),
            [exact] => exact == text,
            [first, middle @ .., last] => {
                if text.len() < first.len() + last.len()
                    || !text.starts_with(first.as_str())
                    || !text.ends_with(last.as_str())
                {
                    return false;
                }
                let mut rest = &text[first.len()..text.len() - last.len()];
                for piece in middle {
                    match rest.find(piece.as_str()) {
                        Some(at) => rest = &rest[at + piece.len()..],
                        None => return false,
                    }
                }
                true
            }
        }
    }

    /// Whether every reference this pattern matches is also matched by `earlier`,
    /// so that a rule with this pattern placed after it can never match.
    ///
    /// Each of our stars is stood in for by a character no pattern holds, which a
    /// literal of `earlier` cannot match: if `earlier` still matches, each of our
    /// stars falls inside one of its stars. Sound; it may miss exotic overlaps.
    pub fn is_covered_by(&self, earlier: &Glob) -> bool {
        earlier.matches(&self.with_stand_ins())
    }

    /// The pattern with each star replaced by a character no pattern holds:
    /// what [`Glob::is_covered_by`] asks an earlier pattern to match.
    pub fn with_stand_ins(&self) -> String {
        const STAND_IN: char = '\u{0}';
        self.pieces.join(&STAND_IN.to_string())
    }

    /// The literal text before the first star: a pattern can match only
    /// text that starts with it.
    pub fn literal_prefix(&self) -> &str {
        self.pieces.first().map_or("", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_crosses_slashes_and_matches_empty() {
        let g = Glob::new("ghcr.io/*");
        assert!(g.matches("ghcr.io/a/b/c"));
        assert!(g.matches("ghcr.io/"));
        assert!(!g.matches("ghcr.io"));
        assert!(Glob::new("**").matches(""));
    }

    #[test]
    fn stars_in_the_middle_and_repeated() {
        let g = Glob::new("*/siderolabs/*ta*los*");
        assert!(g.matches("ghcr.io/siderolabs/talosctl"));
        assert!(g.matches("x/siderolabs/talos"));
        assert!(!g.matches("x/siderolabs/tlos"));
    }

    #[test]
    fn other_glob_syntax_is_literal() {
        assert!(!Glob::new("ghcr.io/a?").matches("ghcr.io/ab"));
        assert!(Glob::new("ghcr.io/a?").matches("ghcr.io/a?"));
        assert!(!Glob::new("ghcr.io/[ab]").matches("ghcr.io/a"));
    }

    #[test]
    fn overlapping_prefix_and_suffix_need_room() {
        assert!(!Glob::new("ab*ba").matches("aba"));
        assert!(Glob::new("ab*ba").matches("abba"));
    }

    #[test]
    fn coverage() {
        assert!(Glob::new("ghcr.io/x/*").is_covered_by(&Glob::new("*")));
        assert!(Glob::new("ghcr.io/x/*").is_covered_by(&Glob::new("ghcr.io/*")));
        assert!(Glob::new("ghcr.io/x/app").is_covered_by(&Glob::new("ghcr.io/*/app")));
        assert!(!Glob::new("ghcr.io/*").is_covered_by(&Glob::new("ghcr.io/x/*")));
        assert!(!Glob::new("ghcr.io/*").is_covered_by(&Glob::new("ghcr.io/*a")));
    }
}
