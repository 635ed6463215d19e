//! What an admission gate reads of the store (`sigward serve --db` with a
//! rule that gates on advisories): the records that may affect an image's
//! packages, found by the core's match keys, and a mark that changes
//! whenever the advisories do.

use super::backend::{Sql, StoreError};
use super::{Inventory, placeholders};

/// Match keys per lookup: well under both back ends' parameter limits.
const KEYS: usize = 1_000;

impl Inventory {
    /// The records (what the core reads of each) of the advisories not
    /// withdrawn that name one of `keys`, each once.
    pub fn advisories_for(&mut self, keys: &[String]) -> Result<Vec<String>, StoreError> {
        let mut ids = std::collections::BTreeSet::new();
        let mut records = Vec::new();
        for chunk in keys.chunks(KEYS) {
            let params: Vec<Sql> = chunk.iter().map(|k| Sql::from(k.as_str())).collect();
            let sql = format!(
                "SELECT a.id, a.record FROM match_keys m
                 JOIN advisory_keys k ON k.key_id = m.id
                 JOIN advisories a ON a.id = k.advisory_id
                 WHERE m.key IN ({}) AND a.withdrawn IS NULL",
                placeholders(1, params.len())
            );
            self.conn.each(&sql, &params, &mut |row| {
                if let (Some(id), Some(record)) = (row[0].text(), row[1].text())
                    && ids.insert(id.to_owned())
                {
                    records.push(record.to_owned());
                }
                Ok(())
            })?;
        }
        Ok(records)
    }

    /// How many advisories are stored and when one last changed
    /// (microseconds): a gate's view is current while this stays the same.
    pub fn advisories_mark(&mut self) -> Result<(i64, i64), StoreError> {
        let rows = self.conn.rows(
            "SELECT COUNT(*), COALESCE(MAX(changed_at), 0) FROM advisories",
            &[],
        )?;
        let row = rows.first();
        let at = |i: usize| row.and_then(|r| r.get(i)).and_then(Sql::int).unwrap_or(0);
        Ok((at(0), at(1)))
    }
}
