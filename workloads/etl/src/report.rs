//! The run report (JSON, written under `_state/etl/runs/` and printed by the
//! CLI): reconciliation per source object, rows per table, timings, and the
//! columns that were null for the whole input.

use std::collections::BTreeMap;

use serde::Serialize;

/// Reconciliation of one bronze object: `lines = valid + invalid + duplicates`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ObjectReport {
    pub key: String,
    pub lines: u64,
    pub valid: u64,
    pub invalid: u64,
    pub duplicates: u64,
}

impl ObjectReport {
    pub fn reconciles(&self) -> bool {
        self.lines == self.valid + self.invalid + self.duplicates
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub objects: u64,
    pub lines: u64,
    pub valid: u64,
    pub invalid: u64,
    pub duplicates: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct RunReport {
    pub run_id: String,
    pub lake: String,
    pub full_refresh: bool,
    pub dry_run: bool,
    /// Bronze objects listed, and how many were new or changed.
    pub bronze_objects: u64,
    pub totals: Totals,
    pub reconciled: bool,
    pub invalid_by_reason: BTreeMap<String, u64>,
    pub objects: Vec<ObjectReport>,
    /// Silver partitions (event_date) rewritten, and rows in silver after the run.
    pub silver_partitions_written: Vec<String>,
    pub silver_rows: u64,
    /// Rows per gold table after the run.
    pub gold_rows: BTreeMap<String, u64>,
    pub gold_objects_written: u64,
    pub gold_objects_deleted: u64,
    pub catalog_tables_created: u64,
    pub catalog_partitions_added: u64,
    /// Silver columns that were null in every new row (a source that lacks them).
    pub null_columns: Vec<String>,
    pub timings_ms: BTreeMap<String, u64>,
    /// A few gold rows for people: the top products by revenue and revenue
    /// by city (what `pipegen up` prints).
    pub highlights: Highlights,
}

/// A few gold rows, formatted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Highlights {
    pub top_products: Vec<String>,
    pub revenue_by_city: Vec<String>,
}

impl RunReport {
    /// A short human summary (the CLI prints it; the JSON has the rest).
    pub fn summary(&self) -> String {
        let t = &self.totals;
        let mut s = format!(
            "run {}: {} new bronze objects of {}; lines {} = valid {} + invalid {} + duplicates {} ({})\n",
            self.run_id,
            t.objects,
            self.bronze_objects,
            t.lines,
            t.valid,
            t.invalid,
            t.duplicates,
            if self.reconciled {
                "reconciled"
            } else {
                "NOT reconciled"
            }
        );
        if !self.invalid_by_reason.is_empty() {
            let reasons: Vec<String> = self.invalid_by_reason.iter().map(|(r, n)| format!("{r} {n}")).collect();
            s += &format!("invalid by reason: {}\n", reasons.join(", "));
        }
        s += &format!(
            "silver: {} rows, {} partitions rewritten; gold: {} objects written, {} deleted\n",
            self.silver_rows,
            self.silver_partitions_written.len(),
            self.gold_objects_written,
            self.gold_objects_deleted
        );
        if !self.gold_rows.is_empty() {
            let rows: Vec<String> = self.gold_rows.iter().map(|(t, n)| format!("{t} {n}")).collect();
            s += &format!("gold rows: {}\n", rows.join(", "));
        }
        if !self.null_columns.is_empty() {
            s += &format!("null in every new row: {}\n", self.null_columns.join(", "));
        }
        let total: u64 = self.timings_ms.values().sum();
        s += &format!("took {total} ms");
        s
    }
}
