//! Which delegated role is trusted for a target path (§5.6.7): a role's
//! `paths` are shell-style patterns matched segment by segment (`*` and `?`
//! never cross `/`), its `path_hash_prefixes` prefixes of the hex SHA-256 of
//! the path.

use super::metadata::DelegatedRole;
use crate::hex;

/// Whether `role` is trusted for `path`.
pub fn covers(role: &DelegatedRole, path: &str) -> bool {
    if let Some(patterns) = &role.paths {
        return patterns.iter().any(|p| path_matches(p, path));
    }
    if let Some(prefixes) = &role.path_hash_prefixes {
        use sha2::Digest;
        let digest = hex::encode(&sha2::Sha256::digest(path.as_bytes()));
        return prefixes.iter().any(|p| digest.starts_with(p.as_str()));
    }
    false
}

/// Matches a target path against a pattern with as many `/`-separated
/// segments, each as Python's `fnmatch` does (case-sensitive).
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let patterns: Vec<&str> = pattern.split('/').collect();
    let parts: Vec<&str> = path.split('/').collect();
    patterns.len() == parts.len()
        && patterns.iter().zip(&parts).all(|(p, t)| {
            segment_matches(
                &p.chars().collect::<Vec<_>>(),
                &t.chars().collect::<Vec<_>>(),
            )
        })
}

/// `*` any run, `?` any one character, `[abc]`, `[a-z]` and `[!abc]` one of
/// (or none of) a set; a `[` without its `]` is literal. Greedy with one
/// backtrack point, so the work is at most pattern × text.
fn segment_matches(pattern: &[char], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        let step = match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => match class(pattern, p, text[t]) {
                Some((matched, len)) => matched.then_some(len),
                None => (text[t] == '[').then_some(1),
            },
            Some(c) => (*c == text[t]).then_some(1),
            None => None,
        };
        match (step, star) {
            (Some(len), _) => {
                p += len;
                t += 1;
            }
            (None, Some((sp, st))) => {
                p = sp + 1;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            (None, None) => return false,
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// Reads the class opening at `pattern[start]`: whether `c` is in it, and
/// the class's length in the pattern. None when the class is not closed.
fn class(pattern: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negated = matches!(pattern.get(i), Some('!'));
    if negated {
        i += 1;
    }
    let first = i;
    let mut found = false;
    loop {
        let current = *pattern.get(i)?;
        if current == ']' && i > first {
            return Some((found != negated, i + 1 - start));
        }
        if pattern.get(i + 1) == Some(&'-') && pattern.get(i + 2).is_some_and(|e| *e != ']') {
            let end = pattern[i + 2];
            found |= current <= c && c <= end;
            i += 3;
        } else {
            found |= current == c;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::path_matches;

    #[test]
    fn patterns_match_as_fnmatch_per_segment() {
        let cases = [
            ("*.md", "README.md", true),
            ("*.md", "releases/README.md", false),
            ("releases/*/*", "releases/x/x_v1", true),
            ("releases/y/*.zip", "releases/z/z_v1.zip", false),
            ("foo-?.tgz", "foo-1.tgz", true),
            ("foo-?.tgz", "foo-alpha.tgz", false),
            ("*.md", "README.MD", false),
            ("*", "", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("[ab]x", "bx", true),
            ("[!ab]x", "bx", false),
            ("[a-c]x", "cx", true),
            ("[x", "[x", true),
            ("targets/*", "targets/a/b", false),
        ];
        for (pattern, path, expected) in cases {
            assert_eq!(path_matches(pattern, path), expected, "{pattern} ~ {path}");
        }
    }
}
