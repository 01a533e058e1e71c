//! One ETL run (spec/silver.md and spec/gold.md, "Incremental processing"):
//!
//! 1. list bronze, keep the objects the bookmark has not seen (key + ETag);
//! 2. parse each new object line by line ([`crate::silver`]), valid rows
//!    spilled to a local Parquet file per object; invalid lines go to
//!    `invalid/ingest_date=.../` with all their reasons;
//! 3. de-duplicate the new rows against each other (first copy in delivery
//!    and line order wins) and against silver from earlier runs, on the keys
//!    alone: the rows stay in their spills;
//! 4. rewrite every silver partition (`event_date`) the run touched, as one
//!    object, streaming the rows already there and then the new ones (in
//!    delivery order) from disk to disk;
//! 5. recompute gold from all of silver with the streaming engine, write the
//!    objects whose bytes changed, delete the ones that no longer exist;
//!
//! Memory therefore grows with the number of event ids (the run's and
//! silver's, tens of bytes each) and of gold groups, not with whole rows.
//! 6. register tables and partitions in the Glue catalog;
//! 7. write the report, then - only when every output is written - the
//!    bookmark.
//!
//! Why a rerun after a crash gives the same result: rows in silver carry the
//! bronze object they came from, and a run first drops the rows of the objects
//! it is processing; every output key is derived from its content's identity
//! (partition, source object), so writing it again replaces it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use pipegen_events::Reason;
use pipegen_events::lake::{self, TableDef};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::catalog::{Catalog, CatalogError};
use crate::frame::{EVENT_DATE, LINE, SilverBatch};
use crate::report::{ObjectReport, RunReport};
use crate::settings::Settings;
use crate::silver;
use crate::store::{ObjectInfo, Store, StoreError};

/// Where things are in the lake, and how to run.
#[derive(Clone, Debug)]
pub struct Options {
    pub bronze_prefix: String,
    pub silver_prefix: String,
    pub invalid_prefix: String,
    pub gold_prefix: String,
    pub state_prefix: String,
    pub full_refresh: bool,
    /// Compute and report everything, write nothing.
    pub dry_run: bool,
    pub run_id: String,
    /// Scratch space for spilled rows and the silver mirror (removed after the run).
    pub work_dir: PathBuf,
    /// Objects downloaded and parsed at once.
    pub parallel_objects: usize,
}

impl Options {
    pub fn new(run_id: impl Into<String>) -> Options {
        Options {
            bronze_prefix: "bronze/events/".into(),
            silver_prefix: "silver/events/".into(),
            invalid_prefix: "invalid/".into(),
            gold_prefix: "gold/".into(),
            state_prefix: "_state/etl/".into(),
            full_refresh: false,
            dry_run: false,
            run_id: run_id.into(),
            work_dir: std::env::temp_dir().join("pipegen-etl"),
            parallel_objects: std::thread::available_parallelism().map(|n| n.get() * 2).unwrap_or(4),
        }
    }

    fn bookmark_key(&self) -> String {
        format!("{}bookmark.json", self.state_prefix)
    }

    fn gold_manifest_key(&self) -> String {
        format!("{}gold-manifest.json", self.state_prefix)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EtlError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("polars: {0}")]
    Polars(#[from] PolarsError),
    #[error("{path}: {source}")]
    Work { path: String, source: std::io::Error },
    #[error("{key}: {message}")]
    State { key: String, message: String },
    #[error(
        "reconciliation failed for {key}: {lines} lines != {valid} valid + {invalid} invalid + {duplicates} duplicates; nothing was committed"
    )]
    Reconciliation {
        key: String,
        lines: u64,
        valid: u64,
        invalid: u64,
        duplicates: u64,
    },
    #[error("task failed: {0}")]
    Task(String),
}

/// Processed bronze objects and their ETags.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Bookmark {
    pub objects: BTreeMap<String, String>,
}

/// One rejected line, as written to the invalid layer.
#[derive(Clone, Debug, Serialize)]
pub struct InvalidRecord {
    pub raw_line: String,
    pub source_key: String,
    pub line_number: u64,
    pub reasons: Vec<Reason>,
    pub run_id: String,
}

/// What parsing one object produced.
struct Parsed {
    key: String,
    lines: u64,
    valid_before_dedupe: u64,
    invalid: Vec<InvalidRecord>,
    spill: Option<PathBuf>,
    /// The `event_date`s of the spilled rows.
    dates: BTreeSet<String>,
    /// Non-null values per column of the spilled rows.
    non_null: BTreeMap<String, u64>,
}

/// A new row's position in the run: its object's index in delivery order
/// (high 32 bits) and its line (low 32 bits). Not written.
const POS: &str = "_pos";

/// Removes the run's scratch directory however the run ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Timer {
    at: Instant,
    timings: BTreeMap<String, u64>,
}

impl Timer {
    /// Ends a stage: its time goes into the report and, as progress, to the log.
    fn lap(&mut self, stage: &str) {
        let now = Instant::now();
        let ms = now.duration_since(self.at).as_millis() as u64;
        tracing::info!(stage, ms, "done");
        self.timings.insert(stage.into(), ms);
        self.at = now;
    }
}

fn work<T>(path: &Path, r: std::io::Result<T>) -> Result<T, EtlError> {
    r.map_err(|source| EtlError::Work {
        path: path.display().to_string(),
        source,
    })
}

/// Runs the ETL once over `store`.
pub async fn run(
    store: &Store,
    settings: &Settings,
    opts: &Options,
    catalog: Option<&Catalog>,
) -> Result<RunReport, EtlError> {
    let mut timer = Timer {
        at: Instant::now(),
        timings: BTreeMap::new(),
    };
    let mut report = RunReport {
        run_id: opts.run_id.clone(),
        lake: store.describe(),
        full_refresh: opts.full_refresh,
        dry_run: opts.dry_run,
        ..RunReport::default()
    };

    // 1. What is new.
    let bookmark: Bookmark = if opts.full_refresh {
        Bookmark::default()
    } else {
        read_json(store, &opts.bookmark_key()).await?.unwrap_or_default()
    };
    let listed = store.list(&opts.bronze_prefix).await?;
    report.bronze_objects = listed.len() as u64;
    // In order of arrival (then key): when the same event arrives twice in
    // one run, the copy delivered first is kept, as it would have been had
    // the runs been split between the two deliveries.
    let mut delta: Vec<ObjectInfo> = listed
        .iter()
        .filter(|o| bookmark.objects.get(&o.key) != Some(&o.etag))
        .cloned()
        .collect();
    delta.sort_by(|a, b| {
        a.modified_micros
            .cmp(&b.modified_micros)
            .then_with(|| a.key.cmp(&b.key))
    });
    timer.lap("list");
    if delta.is_empty() && !opts.full_refresh {
        report.reconciled = true;
        report.timings_ms = timer.timings;
        return Ok(report);
    }

    let scratch = Scratch(opts.work_dir.join(&opts.run_id));
    let spill_dir = scratch.0.join("new");
    let mirror_dir = scratch.0.join("silver");
    work(&spill_dir, std::fs::create_dir_all(&spill_dir))?;
    work(&mirror_dir, std::fs::create_dir_all(&mirror_dir))?;

    // 2. Parse the new objects, a few at a time: a window of downloads and
    //    parses in flight, refilled as each finishes (waiting for a whole
    //    batch to finish left a core idle behind its slowest object).
    let width = opts.parallel_objects.max(1);
    let mut slots: Vec<Option<Parsed>> = delta.iter().map(|_| None).collect();
    let mut tasks = tokio::task::JoinSet::new();
    let mut next = 0;
    while next < delta.len() || !tasks.is_empty() {
        while next < delta.len() && tasks.len() < width {
            let index = next;
            next += 1;
            let store = store.clone();
            let settings = settings.clone();
            let obj = delta[index].clone();
            let run_id = opts.run_id.clone();
            let spill = spill_dir.join(format!("{index:08}.parquet"));
            tasks.spawn(async move {
                let bytes = store.get(&obj.key).await?.unwrap_or_default();
                tokio::task::spawn_blocking(move || parse_object(&settings, &obj, &bytes, &run_id, &spill))
                    .await
                    .map_err(|e| EtlError::Task(e.to_string()))?
                    .map(|p| (index, p))
            });
        }
        if let Some(r) = tasks.join_next().await {
            let (index, p) = r.map_err(|e| EtlError::Task(e.to_string()))??;
            slots[index] = Some(p);
        }
    }
    let parsed: Vec<Parsed> = slots.into_iter().map(|p| p.expect("every object was parsed")).collect();
    timer.lap("parse");

    // 3. Silver as it was (rows of the objects being processed are dropped:
    //    they are about to be replaced), and de-duplication.
    let delta_keys: Vec<String> = delta.iter().map(|o| o.key.clone()).collect();
    let silver_objects: Vec<ObjectInfo> = store
        .list(&opts.silver_prefix)
        .await?
        .into_iter()
        .filter(|o| o.key.ends_with(".parquet"))
        .collect();
    let mut mirror: BTreeMap<String, PathBuf> = BTreeMap::new(); // event_date -> local file
    if !opts.full_refresh {
        for o in &silver_objects {
            let Some(date) = partition_value(&o.key, EVENT_DATE) else {
                continue;
            };
            let path = mirror_dir.join(format!("{date}.parquet"));
            if store.get_to_file(&o.key, &path).await? {
                mirror.insert(date, path);
            }
        }
    }
    timer.lap("read_silver");

    let in_delta = |name: &str| {
        col(name).is_in(
            lit(Series::new("delta".into(), delta_keys.as_slice())).implode(false),
            false,
        )
    };
    let existing = scan_mirror(&mirror)?;
    let kept_existing = existing.clone().filter(in_delta("source_object").not());
    // Only the keys take part. The result is the positions of the copies
    // not kept: every copy of an event id after its first (the lowest
    // position: object in delivery order, then line), and every copy of an
    // id silver already has. Rows stay in their spill files; memory grows
    // with the number of new events' ids, and the result with the
    // duplicates only (a list of every kept position was as long as the run).
    let dropped: DataFrame = match scan_new(&parsed)? {
        None => DataFrame::empty_with_schema(&Schema::from_iter([Field::new(POS.into(), DataType::UInt64)])),
        Some(new_rows) => {
            let seen = kept_existing
                .clone()
                .select([col("event_id"), lit(true).alias("_seen")])
                .unique(Some(cols(["event_id"])), UniqueKeepStrategy::Any);
            let ids = new_rows.select([col("event_id"), col(POS)]);
            let repeated = ids
                .clone()
                .group_by([col("event_id")])
                .agg([col(POS).min().alias("_first"), col(POS).count().alias("_copies")])
                .left_join(seen, col("event_id"), col("event_id"))
                .filter(col("_copies").gt(lit(1)).or(col("_seen").is_not_null()));
            ids.join(
                repeated,
                [col("event_id")],
                [col("event_id")],
                JoinArgs::new(JoinType::Inner),
            )
            .filter(col("_seen").is_not_null().or(col(POS).neq(col("_first"))))
            .select([col(POS)])
            .collect_with_engine(Engine::Streaming)?
            .unwrap_single()
        }
    };
    // The lines dropped from each object's spill, by object index.
    let mut dropped_lines: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
    for pos in dropped.column(POS)?.u64()?.into_no_null_iter() {
        dropped_lines.entry((pos >> 32) as usize).or_default().push(pos as u32);
    }
    let mut valid_per_object = Vec::with_capacity(parsed.len());
    for (i, p) in parsed.iter().enumerate() {
        let dropped = dropped_lines.get(&i).map_or(0, |l| l.len() as u64);
        if dropped > p.valid_before_dedupe {
            return Err(EtlError::Reconciliation {
                key: p.key.clone(),
                lines: p.lines,
                valid: 0,
                invalid: p.invalid.len() as u64,
                duplicates: dropped,
            });
        }
        valid_per_object.push(p.valid_before_dedupe - dropped);
    }
    timer.lap("dedupe");

    // Reconciliation, per object.
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for (p, &valid) in parsed.iter().zip(&valid_per_object) {
        let r = ObjectReport {
            key: p.key.clone(),
            lines: p.lines,
            valid,
            invalid: p.invalid.len() as u64,
            duplicates: p.valid_before_dedupe.saturating_sub(valid),
        };
        if !r.reconciles() {
            return Err(EtlError::Reconciliation {
                key: r.key,
                lines: r.lines,
                valid: r.valid,
                invalid: r.invalid,
                duplicates: r.duplicates,
            });
        }
        for rec in &p.invalid {
            for reason in &rec.reasons {
                *by_reason.entry(reason.as_str().into()).or_default() += 1;
            }
        }
        report.totals.objects += 1;
        report.totals.lines += r.lines;
        report.totals.valid += r.valid;
        report.totals.invalid += r.invalid;
        report.totals.duplicates += r.duplicates;
        report.objects.push(r);
    }
    report.invalid_by_reason = by_reason;
    report.reconciled = true;
    report.null_columns = null_columns(&parsed, &dropped, report.totals.valid, report.totals.duplicates)?;

    // 2b. The invalid layer: one object per source object, keyed by it.
    for p in &parsed {
        if p.invalid.is_empty() {
            continue;
        }
        let obj = delta
            .iter()
            .find(|o| o.key == p.key)
            .expect("parsed objects come from the delta");
        let key = invalid_key(opts, obj);
        let lines: Vec<String> = p
            .invalid
            .iter()
            .map(|r| serde_json::to_string(r).expect("serializable"))
            .collect();
        put(store, opts, &key, gzip(&lines)).await?;
    }
    timer.lap("invalid");

    // 4. Rewrite the touched silver partitions: the rows already there (less
    //    those of the objects being processed), then the new rows in delivery
    //    order, streamed from the spills into the partition's one object.
    let mut touched: BTreeSet<String> = parsed.iter().flat_map(|p| p.dates.iter().cloned()).collect();
    let replaced_dates = existing
        .filter(in_delta("source_object"))
        .select([col(EVENT_DATE)])
        .unique(None, UniqueKeepStrategy::Any)
        .collect()?;
    touched.extend(column_strings(&replaced_dates, EVENT_DATE)?);
    let silver_columns: Vec<Expr> = silver_table().columns.iter().map(|c| col(c.name)).collect();
    for date in &touched {
        let mut parts = Vec::new();
        if let Some(path) = mirror.get(date) {
            parts.push(
                scan(path)?
                    .filter(in_delta("source_object").not())
                    .select(silver_columns.clone()),
            );
        }
        for (i, p) in parsed.iter().enumerate().filter(|(_, p)| p.dates.contains(date)) {
            let Some(spill) = &p.spill else { continue };
            let mut rows = scan(spill)?;
            if p.dates.len() > 1 {
                rows = rows.filter(col(EVENT_DATE).eq(lit(date.as_str())));
            }
            if let Some(lines) = dropped_lines.get(&i) {
                rows = rows.filter(
                    col(LINE)
                        .is_in(lit(Series::new("dropped".into(), lines)).implode(false), false)
                        .not(),
                );
            }
            parts.push(rows.select(silver_columns.clone()));
        }
        let key = format!("{}{EVENT_DATE}={date}/part-00000.parquet", opts.silver_prefix);
        let path = mirror_dir.join(format!("{date}.parquet"));
        let next = mirror_dir.join(format!("{date}.next.parquet"));
        if parts.is_empty() {
            continue;
        }
        sink_parquet(concat(parts, UnionArgs::default())?, &next)?;
        work(&path, std::fs::rename(&next, &path))?;
        if count_rows(scan(&path)?)? == 0 {
            if !opts.dry_run {
                store.delete(std::slice::from_ref(&key)).await?;
            }
            work(&path, std::fs::remove_file(&path).or_else(ignore_missing))?;
            mirror.remove(date);
            continue;
        }
        mirror.insert(date.clone(), path.clone());
        if !opts.dry_run {
            store.put_file(&key, &path).await?;
        }
        report.silver_partitions_written.push(date.clone());
    }
    if opts.full_refresh {
        // Partitions no longer produced by any bronze object.
        let stale: Vec<String> = silver_objects
            .iter()
            .filter(|o| partition_value(&o.key, EVENT_DATE).is_none_or(|d| !touched.contains(&d)))
            .map(|o| o.key.clone())
            .collect();
        if !opts.dry_run && !stale.is_empty() {
            store.delete(&stale).await?;
        }
    }
    timer.lap("write_silver");

    // 5. Gold from all of silver.
    let all_silver = scan_mirror(&mirror)?;
    report.silver_rows = count_rows(all_silver.clone())?;
    let old_manifest: BTreeMap<String, String> = read_json(store, &opts.gold_manifest_key()).await?.unwrap_or_default();
    let mut manifest: BTreeMap<String, String> = BTreeMap::new();
    let mut gold_partitions: Vec<(&'static TableDef, Vec<Vec<String>>)> = Vec::new();
    // One query at a time, on the streaming engine: group-bys hold their
    // groups, never all of silver. (All 15 in one plan, `collect_all`, shared
    // some scans but held every table's groups at once: peak RSS 2.8 GB
    // instead of ~2 GB at 10 M events, 6.2 GB at 25.9 M, for no gain in time
    // at those sizes.)
    for table in lake::gold_tables() {
        let df = crate::gold::query(table.name, all_silver.clone())?
            .collect_with_engine(Engine::Streaming)?
            .unwrap_single();
        report.gold_rows.insert(table.name.into(), df.height() as u64);
        highlight(table.name, &df, &mut report.highlights)?;
        let mut values_seen = Vec::new();
        for (values, mut part) in split_partitions(&df, table)? {
            let path: String = table
                .partition_keys
                .iter()
                .zip(&values)
                .map(|(k, v)| format!("{}={}/", k.name, v))
                .collect();
            let key = format!("{}{}/{path}part-00000.parquet", opts.gold_prefix, table.name);
            let bytes = parquet_bytes(&mut part)?;
            let hash = hex(&Sha256::digest(&bytes));
            if opts.full_refresh || old_manifest.get(&key) != Some(&hash) {
                put(store, opts, &key, bytes).await?;
                report.gold_objects_written += 1;
            }
            manifest.insert(key, hash);
            values_seen.push(values);
        }
        gold_partitions.push((table, values_seen));
    }
    let vanished: Vec<String> = old_manifest
        .keys()
        .filter(|k| !manifest.contains_key(*k))
        .cloned()
        .collect();
    if !opts.dry_run && !vanished.is_empty() {
        store.delete(&vanished).await?;
    }
    report.gold_objects_deleted = vanished.len() as u64;
    put(store, opts, &opts.gold_manifest_key(), to_json(&manifest)).await?;
    timer.lap("gold");

    // 6. The catalog.
    if let (Some(catalog), false) = (catalog, opts.dry_run) {
        let silver = silver_table();
        let invalid = lake::TABLES
            .iter()
            .find(|t| t.name == "invalid_events")
            .expect("declared");
        for t in [silver, invalid].into_iter().chain(lake::gold_tables()) {
            report.catalog_tables_created += catalog.ensure_table(t).await? as u64;
        }
        let silver_values: Vec<Vec<String>> = touched.iter().map(|d| vec![d.clone()]).collect();
        report.catalog_partitions_added += catalog.add_partitions(silver, &silver_values).await? as u64;
        let invalid_dates: BTreeSet<String> = parsed
            .iter()
            .filter(|p| !p.invalid.is_empty())
            .filter_map(|p| delta.iter().find(|o| o.key == p.key))
            .map(ingest_date)
            .collect();
        let invalid_values: Vec<Vec<String>> = invalid_dates.into_iter().map(|d| vec![d]).collect();
        report.catalog_partitions_added += catalog.add_partitions(invalid, &invalid_values).await? as u64;
        for (t, values) in &gold_partitions {
            if !t.partition_keys.is_empty() {
                report.catalog_partitions_added += catalog.add_partitions(t, values).await? as u64;
            }
        }
    }
    timer.lap("catalog");

    // 7. Report, then the bookmark: the commit point.
    report.timings_ms = timer.timings.clone();
    let report_key = format!("{}runs/{}.json", opts.state_prefix, opts.run_id);
    put(store, opts, &report_key, to_json(&report)).await?;
    let mut next = bookmark;
    for o in &delta {
        next.objects.insert(o.key.clone(), o.etag.clone());
    }
    if opts.full_refresh {
        next.objects.retain(|k, _| listed.iter().any(|o| &o.key == k));
    }
    put(store, opts, &opts.bookmark_key(), to_json(&next)).await?;
    Ok(report)
}

fn ignore_missing(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

async fn put(store: &Store, opts: &Options, key: &str, body: Vec<u8>) -> Result<(), EtlError> {
    if !opts.dry_run {
        store.put(key, body).await?;
    }
    Ok(())
}

async fn read_json<T: serde::de::DeserializeOwned>(store: &Store, key: &str) -> Result<Option<T>, EtlError> {
    match store.get(key).await? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| EtlError::State {
            key: key.into(),
            message: format!("{e}; fix or delete it (then run with --full-refresh)"),
        }),
    }
}

fn to_json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(v).expect("serializable")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn silver_table() -> &'static TableDef {
    lake::TABLES
        .iter()
        .find(|t| t.name == "silver_events")
        .expect("declared in lake.rs")
}

fn scan(path: &Path) -> PolarsResult<LazyFrame> {
    LazyFrame::scan_parquet(
        PlRefPath::new(path.to_string_lossy().as_ref()),
        ScanArgsParquet::default(),
    )
}

/// All of silver (the local mirror), with its `event_date` column.
fn scan_mirror(mirror: &BTreeMap<String, PathBuf>) -> PolarsResult<LazyFrame> {
    if mirror.is_empty() {
        let empty = crate::frame::empty_silver()?;
        return Ok(empty.lazy().select([all().exclude_cols([LINE]).as_expr()]));
    }
    let frames = mirror
        .iter()
        .map(|(date, path)| Ok(scan(path)?.with_column(lit(date.as_str()).alias(EVENT_DATE))))
        .collect::<PolarsResult<Vec<_>>>()?;
    concat(frames, UnionArgs::default())
}

fn count_rows(lf: LazyFrame) -> PolarsResult<u64> {
    // Not `len()`: over a union of scans polars rewrites it into a sum cast to
    // UInt128, a type this feature set does not compile in.
    let df = lf.select([col("event_id").count().alias("n")]).collect()?;
    Ok(df.column("n")?.get(0)?.extract::<u64>().unwrap_or(0))
}

/// All the spilled new rows with their [`POS`]; `None` when there are none.
fn scan_new(parsed: &[Parsed]) -> PolarsResult<Option<LazyFrame>> {
    let frames = parsed
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.spill.as_ref().map(|s| (i, s)))
        .map(|(i, path)| {
            let pos = (lit((i as u64) << 32) + col(LINE).cast(DataType::UInt64)).alias(POS);
            Ok(scan(path)?.with_column(pos))
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    if frames.is_empty() {
        return Ok(None);
    }
    concat(frames, UnionArgs::default()).map(Some)
}

/// The columns that are null in every new row written (none when nothing
/// was). A column with more non-null values than the duplicates dropped has
/// a value in silver whatever was dropped, so only the few columns that
/// could have lost all theirs are counted again, over the rows kept.
fn null_columns(parsed: &[Parsed], dropped: &DataFrame, kept: u64, duplicates: u64) -> PolarsResult<Vec<String>> {
    if kept == 0 {
        return Ok(Vec::new());
    }
    let mut non_null: BTreeMap<&str, u64> = BTreeMap::new();
    for p in parsed {
        for (name, n) in &p.non_null {
            *non_null.entry(name.as_str()).or_default() += n;
        }
    }
    let mut null = Vec::new();
    let mut recount = Vec::new();
    for (name, n) in non_null {
        if n == 0 {
            null.push(name.to_string());
        } else if n <= duplicates {
            recount.push(name);
        }
    }
    if let (false, Some(new_rows)) = (recount.is_empty(), scan_new(parsed)?) {
        let dropped = dropped.column(POS)?.as_materialized_series().clone();
        let counts = new_rows
            .filter(col(POS).is_in(lit(dropped).implode(false), false).not())
            .select(recount.iter().map(|c| col(*c).count()).collect::<Vec<_>>())
            .collect()?;
        for c in recount {
            if counts.column(c)?.get(0)?.extract::<u64>() == Some(0) {
                null.push(c.to_string());
            }
        }
        null.sort();
    }
    // In the frame's column order, as before.
    let order: Vec<&str> = silver_table().columns.iter().map(|c| c.name).collect();
    null.sort_by_key(|c| order.iter().position(|o| o == c).unwrap_or(usize::MAX));
    Ok(null)
}

/// Streams a query into a Zstd Parquet file (the streaming engine: the
/// partition is never whole in memory).
fn sink_parquet(lf: LazyFrame, path: &Path) -> PolarsResult<()> {
    let options = ParquetWriteOptions {
        compression: ParquetCompression::Zstd(None),
        ..ParquetWriteOptions::default()
    };
    lf.sink(
        SinkDestination::File {
            target: SinkTarget::Path(PlRefPath::new(path.to_string_lossy().as_ref())),
        },
        FileWriteFormat::Parquet(Arc::new(options)),
        UnifiedSinkArgs::default(),
    )?
    .collect_with_engine(Engine::Streaming)?;
    Ok(())
}

fn column_strings(df: &DataFrame, name: &str) -> PolarsResult<BTreeSet<String>> {
    Ok(df.column(name)?.str()?.iter().flatten().map(String::from).collect())
}

/// The rows of each partition of a gold table, without the partition columns.
fn split_partitions(df: &DataFrame, table: &TableDef) -> PolarsResult<Vec<(Vec<String>, DataFrame)>> {
    let keys: Vec<&str> = table.partition_keys.iter().map(|c| c.name).collect();
    if keys.is_empty() {
        return Ok(vec![(vec![], df.clone())]);
    }
    split_sorted(df, &keys)?
        .into_iter()
        .map(|(values, part)| Ok((values, part.drop_many(keys.iter().copied()))))
        .collect()
}

/// Splits a frame by the values of string key columns: one sort, then
/// zero-copy slices (a filter per partition would read the frame once per
/// partition, and a year of daily partitions is 365 partitions). Keys in
/// ascending order; row order within a partition is kept.
fn split_sorted(df: &DataFrame, keys: &[&str]) -> PolarsResult<Vec<(Vec<String>, DataFrame)>> {
    let sorted = df.sort(keys.to_vec(), SortMultipleOptions::default().with_maintain_order(true))?;
    let columns = keys
        .iter()
        .map(|k| Ok(sorted.column(k)?.str()?.clone()))
        .collect::<PolarsResult<Vec<_>>>()?;
    let value = |i: usize| -> Vec<String> {
        columns
            .iter()
            .map(|c| c.get(i).unwrap_or("unknown").to_string())
            .collect()
    };
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=sorted.height() {
        if i == sorted.height() || value(i) != value(start) {
            out.push((value(start), sorted.slice(start as i64, i - start)));
            start = i;
        }
    }
    Ok(out)
}

fn parquet_bytes(df: &mut DataFrame) -> PolarsResult<Vec<u8>> {
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(df)?;
    Ok(buf)
}

fn gzip(lines: &[String]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for l in lines {
        gz.write_all(l.as_bytes()).expect("writing to memory");
        gz.write_all(b"\n").expect("writing to memory");
    }
    gz.finish().expect("writing to memory")
}

/// `key=value` from a Hive-style key.
pub fn partition_value(key: &str, name: &str) -> Option<String> {
    key.split('/')
        .find_map(|seg| seg.strip_prefix(name)?.strip_prefix('='))
        .map(String::from)
}

/// When the object's batch was ingested: the end of its Hive hour partition
/// (`year=/month=/day=/hour=`, what ingest and the simulator write), else the
/// object's modification time. The reference of `future_event_time` for
/// records without `_arrival_time`; deterministic for a given key.
pub fn ingest_micros(obj: &ObjectInfo) -> i64 {
    let part = |n: &str| partition_value(&obj.key, n).and_then(|v| v.parse::<u32>().ok());
    match (part("year"), part("month"), part("day")) {
        (Some(y), Some(m), Some(d)) => chrono::NaiveDate::from_ymd_opt(y as i32, m, d)
            .and_then(|date| date.and_hms_opt(part("hour").unwrap_or(23), 59, 59))
            .map(|t| t.and_utc().timestamp_micros() + 999_999)
            .unwrap_or(obj.modified_micros),
        _ => obj.modified_micros,
    }
}

fn ingest_date(obj: &ObjectInfo) -> String {
    chrono::DateTime::from_timestamp_micros(ingest_micros(obj))
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

/// `invalid/ingest_date=D/<object name>-<hash of its key>.jsonl.gz`: one per
/// source object, so a rerun replaces it.
fn invalid_key(opts: &Options, obj: &ObjectInfo) -> String {
    let name = obj.key.rsplit('/').next().unwrap_or("object");
    let stem = name
        .strip_suffix(".jsonl.gz")
        .or_else(|| name.strip_suffix(".gz"))
        .unwrap_or(name);
    let hash = hex(&Sha256::digest(obj.key.as_bytes()));
    format!(
        "{}ingest_date={}/{stem}-{}.jsonl.gz",
        opts.invalid_prefix,
        ingest_date(obj),
        &hash[..12]
    )
}

/// Decodes one object (gzip or plain text) and applies silver's rules to
/// every non-blank line; valid rows are spilled to a local Parquet file so
/// memory stays bounded by the objects in flight.
fn parse_object(
    settings: &Settings,
    obj: &ObjectInfo,
    bytes: &[u8],
    run_id: &str,
    spill: &Path,
) -> Result<Parsed, EtlError> {
    // The decompressed text goes into a buffer each parsing thread keeps:
    // a fresh one per object faulted in megabytes of new pages each time.
    thread_local! {
        static TEXT: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    TEXT.with_borrow_mut(|buf| {
        buf.clear();
        let text: &[u8] = if bytes.starts_with(&[0x1f, 0x8b]) {
            if let Err(e) = flate2::read::MultiGzDecoder::new(bytes).read_to_end(buf) {
                // A corrupt object must not block every later run: it counts as
                // one invalid record pointing at the object, which stays in bronze.
                return Ok(Parsed {
                    key: obj.key.clone(),
                    lines: 1,
                    valid_before_dedupe: 0,
                    dates: BTreeSet::new(),
                    non_null: BTreeMap::new(),
                    invalid: vec![InvalidRecord {
                        raw_line: format!(
                            "<{} bytes that are not valid gzip: {e}; the object is kept in bronze>",
                            bytes.len()
                        ),
                        source_key: obj.key.clone(),
                        line_number: 0,
                        reasons: vec![Reason::MalformedJson],
                        run_id: run_id.into(),
                    }],
                    spill: None,
                });
            }
            buf
        } else {
            bytes
        };
        parse_text(settings, obj, text, run_id, spill)
    })
}

/// The number of lines in `text` (a last line without a newline included).
fn line_count(text: &[u8]) -> usize {
    text.iter().filter(|b| **b == b'\n').count() + 1
}

/// Silver's rules over every non-blank line of an object's text.
fn parse_text(
    settings: &Settings,
    obj: &ObjectInfo,
    text: &[u8],
    run_id: &str,
    spill: &Path,
) -> Result<Parsed, EtlError> {
    let fallback = ingest_micros(obj);
    // Room for every line up front: growing the batch by doubling copied
    // megabytes of rows (and faulted in fresh pages) several times per object.
    let mut batch = SilverBatch::with_capacity(line_count(text));
    let mut invalid = Vec::new();
    let mut lines = 0u64;
    for (i, raw) in text.split(|b| *b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        lines += 1;
        let line_number = i as u64 + 1;
        let result = match std::str::from_utf8(raw) {
            Ok(line) => silver::clean_line(settings, line, fallback),
            Err(_) => Err(vec![Reason::MalformedJson]),
        };
        match result {
            Ok(row) => batch.push(row, &obj.key, line_number as u32),
            Err(reasons) => invalid.push(InvalidRecord {
                raw_line: String::from_utf8_lossy(raw).into_owned(),
                source_key: obj.key.clone(),
                line_number,
                reasons,
                run_id: run_id.into(),
            }),
        }
    }
    let valid = batch.len() as u64;
    let mut dates = BTreeSet::new();
    let mut non_null = BTreeMap::new();
    let spill = if batch.is_empty() {
        None
    } else {
        let mut df = batch.into_frame()?;
        dates = column_strings(&df, EVENT_DATE)?;
        for c in df.columns() {
            if c.name() != LINE {
                non_null.insert(c.name().to_string(), (c.len() - c.null_count()) as u64);
            }
        }
        let file = work(spill, std::fs::File::create(spill))?;
        // Scratch, read back once in full: no compression, no statistics.
        let no_statistics = StatisticsOptions {
            min_value: false,
            max_value: false,
            distinct_count: false,
            null_count: false,
            binary_statistics_truncate_length: None,
        };
        ParquetWriter::new(file)
            .with_compression(ParquetCompression::Uncompressed)
            .with_statistics(no_statistics)
            .finish(&mut df)?;
        Some(spill.to_path_buf())
    };
    Ok(Parsed {
        key: obj.key.clone(),
        lines,
        valid_before_dedupe: valid,
        invalid,
        spill,
        dates,
        non_null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(key: &str) -> ObjectInfo {
        ObjectInfo {
            key: key.into(),
            etag: "x".into(),
            modified_micros: 1_000_000,
        }
    }

    #[test]
    fn partition_values_and_the_ingest_reference() {
        let k = "bronze/events/year=2025/month=10/day=23/hour=07/shardId-0-1-2.jsonl.gz";
        assert_eq!(partition_value(k, "month").as_deref(), Some("10"));
        assert_eq!(partition_value(k, "event_date"), None);
        // End of the partition's hour.
        assert_eq!(
            ingest_micros(&obj(k)),
            pipegen_events::time::parse_utc("2025-10-23T07:59:59.999999Z").unwrap()
        );
        assert_eq!(ingest_date(&obj(k)), "2025-10-23");
        // No partitions in the key: the object's modification time.
        assert_eq!(ingest_micros(&obj("bronze/events/file.jsonl.gz")), 1_000_000);
    }

    #[test]
    fn invalid_keys_are_per_source_object_and_stable() {
        let opts = Options::new("r");
        let a = invalid_key(
            &opts,
            &obj("bronze/events/year=2025/month=10/day=23/hour=07/a.jsonl.gz"),
        );
        let b = invalid_key(
            &opts,
            &obj("bronze/events/year=2025/month=10/day=23/hour=08/a.jsonl.gz"),
        );
        assert!(
            a.starts_with("invalid/ingest_date=2025-10-23/a-") && a.ends_with(".jsonl.gz"),
            "{a}"
        );
        assert_ne!(a, b, "same file name in two partitions: two keys");
        assert_eq!(
            a,
            invalid_key(
                &opts,
                &obj("bronze/events/year=2025/month=10/day=23/hour=07/a.jsonl.gz")
            )
        );
    }

    #[test]
    fn objects_that_are_not_gzip_or_not_utf8_lose_no_line() {
        let settings = Settings::new(pipegen_events::SourceFormat::Flashcommerce);
        let dir = std::env::temp_dir().join(format!("pipegen-etl-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let body = b"{\"event_type\":\"view\"}\n\xff\xfe not text\n\n   \n{\"event_type\":\"view\",\"user_id\":\"u\",\"event_time\":\"2025-01-01T00:00:00Z\"}\r\n";
        let recent = ObjectInfo {
            modified_micros: pipegen_events::time::parse_utc("2025-01-01T00:00:00Z").unwrap(),
            ..obj("plain.jsonl")
        };
        let p = parse_object(&settings, &recent, body, "r", &dir.join("s.parquet")).unwrap();
        assert_eq!((p.lines, p.valid_before_dedupe, p.invalid.len()), (3, 1, 2));
        assert_eq!(p.invalid[1].reasons, vec![Reason::MalformedJson]);
        assert_eq!(p.invalid[1].line_number, 2);
        let bad_gzip = [0x1f, 0x8b, 0, 1, 2];
        let p = parse_object(&settings, &obj("x.gz"), &bad_gzip, "r", &dir.join("t.parquet")).unwrap();
        assert_eq!(
            (p.lines, p.invalid.len()),
            (1, 1),
            "a corrupt object is one invalid record, not a failed run"
        );
        assert!(p.invalid[0].raw_line.contains("not valid gzip"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The rows `highlights` shows: products and cities by revenue, across sellers.
/// Cities come from geo_heatmap, already one row per city: summing
/// city_sales' per-seller totals, each rounded to the cent, would show a
/// total cents away from the one `revenue_by_city` returns.
fn highlight(table: &str, df: &DataFrame, out: &mut crate::report::Highlights) -> PolarsResult<()> {
    let (key, target) = match table {
        "product_metrics" => ("product_name", &mut out.top_products),
        "geo_heatmap" => ("city", &mut out.revenue_by_city),
        _ => return Ok(()),
    };
    let count = if table == "geo_heatmap" {
        "total_orders"
    } else {
        "total_quantity"
    };
    let top = df
        .clone()
        .lazy()
        .group_by([col(key)])
        .agg([col("total_revenue").sum(), col(count).sum()])
        .sort_by_exprs(
            [col("total_revenue"), col(key)],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
        .limit(5)
        .collect()?;
    let names = top.column(key)?.str()?.clone();
    let revenue = top.column("total_revenue")?.f64()?.clone();
    let counts = top.column(count)?.cast(&DataType::Int64)?;
    let counts = counts.i64()?;
    for i in 0..top.height() {
        target.push(format!(
            "{:<32} {:>12.2} revenue, {:>6} {}",
            names.get(i).unwrap_or("-"),
            revenue.get(i).unwrap_or(0.0),
            counts.get(i).unwrap_or(0),
            if table == "geo_heatmap" { "orders" } else { "units" }
        ));
    }
    Ok(())
}
