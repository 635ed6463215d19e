//! Which rule an image matches, without trying every rule.
//!
//! A pattern can match only text that starts with its literal prefix (what
//! comes before its first `*`; the whole pattern when it has none). The index
//! groups the rules by that prefix; a lookup asks for the prefixes of the
//! repository it is given, one per distinct prefix length, and tries only
//! those rules, lowest index first. The first of them that matches is the
//! first rule of the policy that matches: every rule it skipped has a prefix
//! the repository does not start with, so it could not have matched. Talos's
//! first-match order is kept exactly.

use std::collections::BTreeMap;

use super::Rule;

#[derive(Clone, Debug, Default)]
pub(super) struct RuleIndex {
    /// The rules (their indices, ascending) by literal prefix.
    by_prefix: BTreeMap<Box<str>, Vec<usize>>,
    /// The distinct prefix lengths in bytes, ascending.
    lengths: Vec<usize>,
}

impl RuleIndex {
    pub(super) fn new(rules: &[Rule]) -> Self {
        let mut by_prefix: BTreeMap<Box<str>, Vec<usize>> = BTreeMap::new();
        for (i, rule) in rules.iter().enumerate() {
            by_prefix
                .entry(rule.pattern.literal_prefix().into())
                .or_default()
                .push(i);
        }
        let mut lengths: Vec<usize> = by_prefix.keys().map(|prefix| prefix.len()).collect();
        lengths.sort_unstable();
        lengths.dedup();
        Self { by_prefix, lengths }
    }

    /// The index of the first rule whose pattern matches `repository`.
    pub(super) fn first_match(&self, rules: &[Rule], repository: &str) -> Option<usize> {
        // The rule lists whose prefix `repository` starts with: at most one per
        // distinct length, so the merge below is bounded by the patterns' lengths.
        // `get` gives no prefix past the end or inside a multi-byte character.
        let mut lists: Vec<&[usize]> = self
            .lengths
            .iter()
            .take_while(|&&length| length <= repository.len())
            .filter_map(|&length| repository.get(..length))
            .filter_map(|prefix| self.by_prefix.get(prefix).map(Vec::as_slice))
            .collect();
        // Merge the ascending lists lowest index first, stopping at a match.
        loop {
            let (slot, &candidate) = lists
                .iter()
                .enumerate()
                .filter_map(|(slot, list)| list.first().map(|first| (slot, first)))
                .min_by_key(|&(_, first)| *first)?;
            if let Some(list) = lists.get_mut(slot) {
                *list = list.get(1..).unwrap_or_default();
            }
            if rules
                .get(candidate)
                .is_some_and(|rule| rule.pattern.matches(repository))
            {
                return Some(candidate);
            }
        }
    }
}
