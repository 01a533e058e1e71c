//! One ETL run (spec/silver.md and spec/gold.md, "Incremental processing"):
//!
//! 1. list bronze, keep the objects the bookmark has not seen (key + ETag);
//! 2. parse each new object line by line ([`crate::silver`]); its valid rows
//!    become its silver files, one per `event_date` it has rows for, written
//!    at once into the run's local copy of silver, and its event ids a small
//!    scratch file; invalid lines go to `invalid/ingest_date=.../` with all
//!    their reasons;
//! 3. de-duplicate the new rows against each other (first copy in delivery
//!    and line order wins) and against silver from earlier runs, on the ids
//!    alone;
//! 4. rewrite the few new files that lost duplicates, upload the new files,
//!    delete the files of reprocessed objects that are no longer produced;
//! 5. recompute gold from all of silver with the streaming engine, write the
//!    objects whose bytes changed, delete the ones that no longer exist;
//! 6. register tables and partitions in the Glue catalog;
//! 7. write the report, then - only when every output is written - the
//!    bookmark.
//!
//! Silver holds one object per bronze object and `event_date`, named after
//! the bronze key: a run that adds objects never rewrites what silver
//! already has, and each row is encoded once, by the parse that read it (a
//! partition-wide rewrite read and re-encoded every row a second time, a
//! quarter of a full run). Memory grows with the objects in flight, the
//! number of event ids (tens of bytes each) and of gold groups, not with
//! whole rows.
//!
//! Why a rerun after a crash gives the same result: every output key is
//! derived from its content's identity (partition, source object), so
//! writing it again replaces it, and a run ignores the silver files of the
//! objects it is processing (they are about to be replaced or deleted).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use pipegen_events::lake::{self, TableDef};
use pipegen_events::{JsonLine, Reason};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::catalog::{Catalog, CatalogError};
use crate::dedupe::IdSet;
use crate::frame::{EVENT_DATE, SilverBatch};
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
    /// Scratch space for the run's local copy of silver (removed after the run).
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

/// One new object: what parsing it found, then what writing it did.
struct Parsed {
    /// Its place in delivery order.
    index: usize,
    key: String,
    lines: u64,
    valid_before_dedupe: u64,
    /// Valid rows that were copies of an event seen before.
    duplicates: u64,
    invalid: Vec<InvalidRecord>,
    /// Its invalid records as the invalid layer's object, and that key.
    invalid_body: Option<Vec<u8>>,
    invalid_key: String,
    /// Its silver files: `(event_date, key, local file)`, one per date.
    files: Vec<(String, String, PathBuf)>,
    /// The local copy of silver: `<mirror>/event_date=<date>/<file_name>`.
    mirror: PathBuf,
    file_name: String,
    /// Non-null values per column of the rows written.
    non_null: BTreeMap<String, u64>,
}

impl Parsed {
    fn new(index: usize, obj: &ObjectInfo, invalid_key: String, mirror: PathBuf) -> Parsed {
        Parsed {
            index,
            key: obj.key.clone(),
            lines: 0,
            valid_before_dedupe: 0,
            duplicates: 0,
            invalid: Vec::new(),
            invalid_body: None,
            invalid_key,
            files: Vec::new(),
            mirror,
            file_name: silver_file_name(&obj.key),
            non_null: BTreeMap::new(),
        }
    }

    fn reconciliation(&self) -> ObjectReport {
        ObjectReport {
            key: self.key.clone(),
            lines: self.lines,
            valid: self.valid_before_dedupe.saturating_sub(self.duplicates),
            invalid: self.invalid.len() as u64,
            duplicates: self.duplicates,
        }
    }
}

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
    let mirror_dir = scratch.0.join("silver");
    work(&mirror_dir, std::fs::create_dir_all(&mirror_dir))?;

    // 2. Silver as it was, less the files of the objects being processed
    //    (they are about to be replaced), and the event ids it holds.
    let width = opts.parallel_objects.max(1);
    let silver_objects: Vec<ObjectInfo> = store
        .list(&opts.silver_prefix)
        .await?
        .into_iter()
        .filter(|o| o.key.ends_with(".parquet"))
        .collect();
    let delta_files: BTreeSet<String> = delta.iter().map(|o| silver_file_name(&o.key)).collect();
    let mut kept_existing: Vec<(String, PathBuf)> = Vec::new(); // (event_date, local file)
    let mut replaced: Vec<&ObjectInfo> = Vec::new();
    if !opts.full_refresh {
        let mut downloads = Vec::new();
        for o in &silver_objects {
            let name = o.key.rsplit('/').next().unwrap_or_default();
            let (Some(date), true) = (partition_value(&o.key, EVENT_DATE), is_silver_file_name(name)) else {
                return Err(EtlError::State {
                    key: o.key.clone(),
                    message: "not a silver object of this layout (one object per event_date and bronze object); \
                              run once with --full-refresh to rebuild silver from bronze"
                        .into(),
                });
            };
            if delta_files.contains(name) {
                replaced.push(o);
                continue;
            }
            let path = mirror_dir.join(format!("{EVENT_DATE}={date}")).join(name);
            downloads.push((o.key.clone(), path.clone()));
            kept_existing.push((date, path));
        }
        download_all(store, downloads, width).await?;
    }
    // The ids silver already has: files are read `width` at a time, their
    // ids added as each arrives (a set: the order does not matter). Their
    // rows are counted on the way: silver's rows after the run are these and
    // the rows this run writes.
    let mut ids = IdSet::default();
    let mut kept_rows: u64 = 0;
    let mut reading = tokio::task::JoinSet::new();
    let add = |ids: &mut IdSet, read: Result<Result<DataFrame, EtlError>, tokio::task::JoinError>| {
        let df = read.map_err(|e| EtlError::Task(e.to_string()))??;
        for id in df.column("event_id")?.str()?.iter() {
            ids.insert(id.unwrap_or_default());
        }
        Ok::<_, EtlError>(df.height() as u64)
    };
    for (_, path) in kept_existing.iter().cloned() {
        while reading.len() >= width.max(1) {
            kept_rows += add(&mut ids, reading.join_next().await.expect("reads in flight"))?;
        }
        reading.spawn_blocking(move || {
            let file = work(&path, std::fs::File::open(&path))?;
            Ok::<_, EtlError>(
                ParquetReader::new(file)
                    .with_columns(Some(vec!["event_id".into()]))
                    .finish()?,
            )
        });
    }
    while let Some(read) = reading.join_next().await {
        kept_rows += add(&mut ids, read)?;
    }
    timer.lap("read_silver");

    // 3. Parse, de-duplicate and write the new objects. Parsing (decode,
    //    rules, columns) runs a window of objects at once, refilled as each
    //    finishes; de-duplication takes them strictly in delivery order, so
    //    the first copy of an event wins (object in delivery order, then
    //    line), as it would had the runs been split between the copies;
    //    each object's silver files (one per `event_date`) and invalid
    //    records are then encoded and uploaded, again several at once.
    //    Every row is encoded once; memory holds the objects in flight and
    //    the ids.
    let mut parsed: Vec<Option<Parsed>> = delta.iter().map(|_| None).collect();
    let mut waiting: BTreeMap<usize, (Parsed, Option<DataFrame>)> = BTreeMap::new();
    let mut parsing = tokio::task::JoinSet::new();
    let mut writing = tokio::task::JoinSet::new();
    let (mut next_parse, mut next_commit, mut committed_rows) = (0, 0, 0);
    loop {
        while next_parse < delta.len() && parsing.len() < width && next_parse - next_commit < 2 * width {
            let index = next_parse;
            next_parse += 1;
            let store = store.clone();
            let settings = settings.clone();
            let obj = delta[index].clone();
            let run_id = opts.run_id.clone();
            let invalid_key = invalid_key(opts, &obj);
            let mirror = mirror_dir.clone();
            parsing.spawn(async move {
                let bytes = store.get(&obj.key).await?.unwrap_or_default();
                tokio::task::spawn_blocking(move || {
                    let parsed = Parsed::new(index, &obj, invalid_key, mirror);
                    parse_object(&settings, &obj, &bytes, &run_id, parsed)
                })
                .await
                .map_err(|e| EtlError::Task(e.to_string()))?
                .map(|p| (index, p))
            });
        }
        while writing.len() < width {
            let Some((mut p, rows)) = waiting.remove(&next_commit) else {
                break;
            };
            next_commit += 1;
            let keep = match &rows {
                Some(df) => {
                    // Room for the rest of the run at the rows per object so
                    // far, rather than growing (and rehashing) by doubling.
                    committed_rows += df.height();
                    if ids.room() < df.height() {
                        let remaining = delta.len() - next_commit + 1;
                        ids.reserve(committed_rows / next_commit * remaining);
                    }
                    first_copies(&mut ids, df)?
                }
                None => None,
            };
            p.duplicates = keep.as_ref().map_or(0, |k| k.iter().filter(|k| !**k).count() as u64);
            let store = store.clone();
            let (prefix, dry_run) = (opts.silver_prefix.clone(), opts.dry_run);
            writing.spawn(async move {
                let mut p = tokio::task::spawn_blocking(move || write_object(p, rows, keep, &prefix))
                    .await
                    .map_err(|e| EtlError::Task(e.to_string()))??;
                if !dry_run {
                    for (_, key, path) in &p.files {
                        store.put_file(key, path).await?;
                    }
                    if let Some(body) = p.invalid_body.take() {
                        store.put(&p.invalid_key, body).await?;
                    }
                }
                Ok::<_, EtlError>(p)
            });
        }
        tokio::select! {
            Some(r) = parsing.join_next(), if !parsing.is_empty() => {
                let (index, p) = r.map_err(|e| EtlError::Task(e.to_string()))??;
                waiting.insert(index, p);
            }
            Some(r) = writing.join_next(), if !writing.is_empty() => {
                let p = r.map_err(|e| EtlError::Task(e.to_string()))??;
                let index = p.index;
                parsed[index] = Some(p);
            }
            else => break,
        }
    }
    let parsed: Vec<Parsed> = parsed
        .into_iter()
        .map(|p| p.expect("every object was parsed and written"))
        .collect();
    timer.lap("parse");

    // Reconciliation, per object (each object also checked itself before
    // anything of it was written).
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for p in &parsed {
        let r = p.reconciliation();
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
    report.null_columns = null_columns(&parsed, report.totals.valid);

    // 4. Silver's other changes: the files of reprocessed objects that this
    //    run no longer produces are deleted.
    let mut new_files: Vec<(String, PathBuf)> = Vec::new(); // (event_date, local file)
    let mut written_keys: BTreeSet<String> = BTreeSet::new();
    let mut touched: BTreeSet<String> = BTreeSet::new();
    for p in &parsed {
        for (date, key, path) in &p.files {
            written_keys.insert(key.clone());
            new_files.push((date.clone(), path.clone()));
            touched.insert(date.clone());
        }
    }
    let stale: Vec<&ObjectInfo> = if opts.full_refresh {
        // Everything this run did not write: partitions and objects no
        // longer produced by any bronze object.
        silver_objects
            .iter()
            .filter(|o| !written_keys.contains(&o.key))
            .collect()
    } else {
        replaced
            .into_iter()
            .filter(|o| !written_keys.contains(&o.key))
            .collect()
    };
    touched.extend(stale.iter().filter_map(|o| partition_value(&o.key, EVENT_DATE)));
    if !opts.dry_run && !stale.is_empty() {
        let keys: Vec<String> = stale.iter().map(|o| o.key.clone()).collect();
        store.delete(&keys).await?;
    }
    report.silver_partitions_written = touched.iter().cloned().collect();
    let mut mirror = kept_existing;
    mirror.extend(new_files);
    timer.lap("write_silver");

    // 5. Gold from all of silver.
    // The ids are no longer needed (tens of bytes per event): give them
    // back before gold's groups grow.
    drop(ids);
    let all_silver = scan_mirror(&mirror)?;
    // The kept files' rows and the new ones (each object's reconciled valid
    // rows are exactly what its files hold).
    report.silver_rows = kept_rows + report.totals.valid;
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

/// Silver files (`(event_date, local file)`), with their `event_date`
/// column: one scan per date over all its files, in the order of their
/// keys. The order must not depend on how bronze was split into runs (a
/// run's new files come after the ones it kept, in delivery order): gold's
/// float sums follow the row order, and a last-bit difference can move a
/// total rounded to the cent (seen in the split-run property test).
fn scan_mirror(files: &[(String, PathBuf)]) -> PolarsResult<LazyFrame> {
    if files.is_empty() {
        return Ok(crate::frame::empty_silver()?.lazy());
    }
    let mut by_date: BTreeMap<&str, BTreeMap<&std::ffi::OsStr, &Path>> = BTreeMap::new();
    for (date, path) in files {
        by_date
            .entry(date.as_str())
            .or_default()
            .insert(path.file_name().unwrap_or_default(), path);
    }
    let frames = by_date
        .into_iter()
        .map(|(date, paths)| {
            let paths: Vec<PlRefPath> = paths
                .into_values()
                .map(|p| PlRefPath::new(p.to_string_lossy().as_ref()))
                .collect();
            Ok(LazyFrame::scan_parquet_files(paths.into(), ScanArgsParquet::default())?
                .with_column(lit(date).alias(EVENT_DATE)))
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    concat(frames, UnionArgs::default())
}

/// Zstd at level 1 for what this job writes: against the default level 3,
/// writing a million flashcommerce events' silver files took 10% less time
/// (0.52 s against 0.58 s) for files 4.5% larger (39.2 MB against 37.5 MB).
fn zstd() -> ParquetCompression {
    ParquetCompression::Zstd(polars::polars_utils::compression::ZstdLevel::try_new(1).ok())
}

/// The columns that are null in every new row written (none when nothing was).
fn null_columns(parsed: &[Parsed], kept: u64) -> Vec<String> {
    if kept == 0 {
        return Vec::new();
    }
    let mut non_null: BTreeMap<&str, u64> = BTreeMap::new();
    for p in parsed {
        for (name, n) in &p.non_null {
            *non_null.entry(name.as_str()).or_default() += n;
        }
    }
    // In the table's column order.
    silver_table()
        .columns
        .iter()
        .filter(|c| non_null.get(c.name) == Some(&0))
        .map(|c| c.name.to_string())
        .collect()
}

/// Which of an object's rows are the first copy of their event (`None`:
/// all), recording their ids: called for each object in delivery order.
fn first_copies(ids: &mut IdSet, rows: &DataFrame) -> PolarsResult<Option<Vec<bool>>> {
    let mut keep: Option<Vec<bool>> = None;
    for (r, id) in rows.column("event_id")?.str()?.iter().enumerate() {
        if !ids.insert(id.unwrap_or_default()) {
            keep.get_or_insert_with(|| vec![true; rows.height()])[r] = false;
        }
    }
    Ok(keep)
}

/// Writes an object's outputs locally: its silver rows that are first
/// copies (`keep`), one file per `event_date`, and its invalid records,
/// once its lines reconcile.
fn write_object(
    mut p: Parsed,
    rows: Option<DataFrame>,
    keep: Option<Vec<bool>>,
    silver_prefix: &str,
) -> Result<Parsed, EtlError> {
    let r = p.reconciliation();
    if !r.reconciles() || p.duplicates > p.valid_before_dedupe {
        return Err(EtlError::Reconciliation {
            key: r.key,
            lines: r.lines,
            valid: r.valid,
            invalid: r.invalid,
            duplicates: r.duplicates,
        });
    }
    if !p.invalid.is_empty() {
        let lines: Vec<String> = p
            .invalid
            .iter()
            .map(|r| serde_json::to_string(r).expect("serializable"))
            .collect();
        p.invalid_body = Some(gzip(&lines));
    }
    let Some(mut df) = rows else { return Ok(p) };
    if let Some(keep) = &keep {
        df = df.filter(&BooleanChunked::from_slice("keep".into(), keep))?;
    }
    if df.height() == 0 {
        return Ok(p);
    }
    for c in df.columns() {
        p.non_null
            .insert(c.name().to_string(), (c.len() - c.null_count()) as u64);
    }
    let dates = column_strings(&df, EVENT_DATE)?;
    let silver_columns: Vec<&str> = silver_table().columns.iter().map(|c| c.name).collect();
    let date_column = df.column(EVENT_DATE)?.str()?;
    for date in &dates {
        let mut part = if dates.len() == 1 {
            df.select(silver_columns.iter().copied())?
        } else {
            df.filter(&date_column.equal(date.as_str()))?
                .select(silver_columns.iter().copied())?
        };
        let dir = p.mirror.join(format!("{EVENT_DATE}={date}"));
        work(&dir, std::fs::create_dir_all(&dir))?;
        let path = dir.join(&p.file_name);
        write_silver_file(&mut part, &path)?;
        let key = format!("{silver_prefix}{EVENT_DATE}={date}/{}", p.file_name);
        p.files.push((date.clone(), key, path));
    }
    Ok(p)
}

/// One silver file: Zstd, with statistics (what readers prune on).
///
/// Buffered: the Parquet writer serialises page headers and the footer a few
/// bytes at a time (Thrift), and straight into a `File` that was one system
/// call each, some 650 000 for a million events.
fn write_silver_file(df: &mut DataFrame, path: &Path) -> Result<(), EtlError> {
    use std::io::Write;
    let tmp = path.with_extension("partial");
    let file = work(&tmp, std::fs::File::create(&tmp))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    ParquetWriter::new(&mut out).with_compression(zstd()).finish(df)?;
    work(&tmp, out.flush())?;
    drop(out);
    work(path, std::fs::rename(&tmp, path))
}

/// Downloads `(key, local file)` pairs, `width` at a time.
async fn download_all(store: &Store, files: Vec<(String, PathBuf)>, width: usize) -> Result<(), EtlError> {
    let mut tasks = tokio::task::JoinSet::new();
    for (key, path) in files {
        while tasks.len() >= width.max(1) {
            tasks
                .join_next()
                .await
                .expect("tasks in flight")
                .map_err(|e| EtlError::Task(e.to_string()))??;
        }
        let store = store.clone();
        tasks.spawn(async move {
            if let Some(dir) = path.parent() {
                work(dir, std::fs::create_dir_all(dir))?;
            }
            store.get_to_file(&key, &path).await?;
            Ok::<_, EtlError>(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.map_err(|e| EtlError::Task(e.to_string()))??;
    }
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
    ParquetWriter::new(&mut buf).with_compression(zstd()).finish(df)?;
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

/// An object's name without its path and its `.jsonl.gz`/`.gz`, and the
/// first 16 hex digits of the SHA-256 of its whole key: names of files
/// derived from one bronze object, unique however many share a name.
fn object_stem(key: &str) -> (&str, String) {
    let name = key.rsplit('/').next().unwrap_or("object");
    let stem = name
        .strip_suffix(".jsonl.gz")
        .or_else(|| name.strip_suffix(".gz"))
        .unwrap_or(name);
    (stem, hex(&Sha256::digest(key.as_bytes()))[..16].to_string())
}

/// `invalid/ingest_date=D/<object name>-<hash of its key>.jsonl.gz`: one per
/// source object, so a rerun replaces it.
fn invalid_key(opts: &Options, obj: &ObjectInfo) -> String {
    let (stem, hash) = object_stem(&obj.key);
    format!(
        "{}ingest_date={}/{stem}-{}.jsonl.gz",
        opts.invalid_prefix,
        ingest_date(obj),
        &hash[..12]
    )
}

/// The name of a bronze object's silver file in each `event_date=`
/// partition it has rows for: `<object name>-<hash of its key>.parquet`.
/// One file per source object, so a rerun of the object replaces its files
/// and a run that adds objects rewrites nothing already in silver.
pub fn silver_file_name(bronze_key: &str) -> String {
    let (stem, hash) = object_stem(bronze_key);
    format!("{stem}-{hash}.parquet")
}

/// Whether `name` is the name [`silver_file_name`] gives.
fn is_silver_file_name(name: &str) -> bool {
    name.strip_suffix(".parquet")
        .and_then(|n| n.rsplit_once('-'))
        .is_some_and(|(_, h)| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Decodes one object (gzip or plain text) and applies silver's rules to
/// every non-blank line: the valid rows as one frame (an object is an
/// ingest batch, thousands of lines), the invalid ones as records.
fn parse_object(
    settings: &Settings,
    obj: &ObjectInfo,
    bytes: &[u8],
    run_id: &str,
    parsed: Parsed,
) -> Result<(Parsed, Option<DataFrame>), EtlError> {
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
                return Ok((
                    Parsed {
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
                        lines: 1,
                        ..parsed
                    },
                    None,
                ));
            }
            buf
        } else {
            bytes
        };
        parse_text(settings, obj, text, run_id, parsed)
    })
}

/// The number of lines in `text` (a last line without a newline included).
fn line_count(text: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', text).count() + 1
}

/// Silver's rules over every non-blank line of an object's text: the
/// valid rows as a frame, in line order, and the invalid records.
fn parse_text(
    settings: &Settings,
    obj: &ObjectInfo,
    text: &[u8],
    run_id: &str,
    mut parsed: Parsed,
) -> Result<(Parsed, Option<DataFrame>), EtlError> {
    let fallback = ingest_micros(obj);
    let mut batch = SilverBatch::new(&obj.key, line_count(text));
    let mut start = 0;
    for (i, end) in memchr::memchr_iter(b'\n', text)
        .chain(std::iter::once(text.len()))
        .enumerate()
    {
        let raw = &text[start..end];
        start = end + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        parsed.lines += 1;
        let line_number = i as u64 + 1;
        let record = std::str::from_utf8(raw).ok().and_then(JsonLine::parse);
        let result = match &record {
            Some(record) => silver::clean_record(settings, record, fallback).map(|row| batch.push(&row)),
            None => Err(vec![Reason::MalformedJson]),
        };
        if let Err(reasons) = result {
            parsed.invalid.push(InvalidRecord {
                raw_line: String::from_utf8_lossy(raw).into_owned(),
                source_key: obj.key.clone(),
                line_number,
                reasons,
                run_id: run_id.into(),
            });
        }
    }
    parsed.valid_before_dedupe = batch.len() as u64;
    let rows = if batch.is_empty() {
        None
    } else {
        Some(batch.into_frame()?)
    };
    Ok((parsed, rows))
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
        let new = |o: &ObjectInfo| Parsed::new(0, o, "k".into(), dir.clone());
        let (p, rows) = parse_object(&settings, &recent, body, "r", new(&recent)).unwrap();
        assert_eq!(rows.map(|r| r.height()), Some(1));
        assert_eq!((p.lines, p.valid_before_dedupe, p.invalid.len()), (3, 1, 2));
        assert_eq!(p.invalid[1].reasons, vec![Reason::MalformedJson]);
        assert_eq!(p.invalid[1].line_number, 2);
        let bad_gzip = [0x1f, 0x8b, 0, 1, 2];
        let (p, rows) = parse_object(&settings, &obj("x.gz"), &bad_gzip, "r", new(&obj("x.gz"))).unwrap();
        assert!(rows.is_none());
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
