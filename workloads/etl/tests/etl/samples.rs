//! The real samples of ../shared/data through the whole ETL, checked against
//! the facts the data README states and against values computed here from
//! the CSV independently of the ETL's code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use pipegen_etl::settings::Settings;
use pipegen_events::SourceFormat;

use crate::common::*;

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(name)
}

/// The CSV's rows as JSON lines (what the simulator's replay puts in bronze).
fn replayed(name: &str) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let file = std::fs::File::open(sample(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut lines = Vec::new();
    let mut rows = Vec::new();
    for rec in pipegen_events::source::csv_records(file) {
        let rec = rec.unwrap();
        rows.push(
            rec.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect(),
        );
        lines.push(serde_json::Value::Object(rec).to_string());
    }
    (lines, rows)
}

fn objects(lines: &[String], per_object: usize) -> Vec<(String, Vec<String>)> {
    lines
        .chunks(per_object)
        .enumerate()
        .map(|(i, c)| {
            (
                format!("bronze/events/year=2026/month=01/day=01/hour=00/replay-{i:03}.jsonl.gz"),
                c.to_vec(),
            )
        })
        .collect()
}

#[test]
fn rees46_sample_counts_hold_in_silver_and_gold() {
    let (lines, rows) = replayed("rees46-2019-oct-sample.csv");
    assert_eq!(lines.len(), 1_000);
    let root = temp_dir("rees46");
    write_bronze(&root, &objects(&lines, 300));
    let s = Settings::new(SourceFormat::Rees46);
    let report = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(run_once(&root, &s, "rees46", |_| {}));
    assert_eq!(
        (
            report.totals.lines,
            report.totals.valid,
            report.totals.invalid,
            report.totals.duplicates
        ),
        (1_000, 1_000, 0, 0)
    );
    // The README's facts: 987 view, 3 cart, 10 purchase; 330 users; 128 category ids; one day.
    assert_eq!(gold_table(&root, "category_daily_performance").len() as u64, {
        let cats: BTreeSet<String> = rows
            .iter()
            .map(|r| {
                r["category_code"]
                    .split('.')
                    .next()
                    .filter(|c| !c.is_empty())
                    .unwrap_or("unknown")
                    .to_string()
            })
            .collect();
        cats.len() as u64
    });
    let totals = |table: &str, col: usize| -> u64 {
        gold_table(&root, table)
            .iter()
            .map(|r| r.split('|').nth(col).unwrap().parse::<u64>().unwrap())
            .sum()
    };
    assert_eq!(totals("category_daily_performance", 3), 987, "page views");
    assert_eq!(totals("category_daily_performance", 4), 3, "add to carts");
    assert_eq!(totals("category_daily_performance", 5), 10, "purchases");
    assert_eq!(totals("product_popularity", 2), 987);
    assert_eq!(gold_table(&root, "daily_user_activity"), {
        let users: BTreeSet<&str> = rows.iter().map(|r| r["user_id"].as_str()).collect();
        let sessions: BTreeSet<&str> = rows.iter().map(|r| r["user_session"].as_str()).collect();
        assert_eq!(users.len(), 330);
        let round2 = |x: f64| (x * 100.0).round() / 100.0;
        vec![format!(
            "2019-10-01|330|{}|1000|{}|{}",
            sessions.len(),
            round2(1000.0 / 330.0),
            round2(sessions.len() as f64 / 330.0)
        )]
    });
    let category_ids: BTreeSet<String> = silver_rows(&root)
        .iter()
        .map(|r| r.split('|').nth(9).unwrap().to_string())
        .collect();
    assert_eq!(category_ids.len(), 128);
    // Revenue of the 10 purchases, computed from the CSV (quantity 1 each).
    let revenue: f64 = rows
        .iter()
        .filter(|r| r["event_type"] == "purchase")
        .map(|r| r["price"].parse::<f64>().unwrap())
        .sum();
    let gold_revenue: f64 = gold_table(&root, "hourly_revenue")
        .iter()
        .map(|r| r.split('|').nth(2).unwrap().parse::<f64>().unwrap())
        .sum();
    assert!((gold_revenue - revenue).abs() < 0.01, "{gold_revenue} vs {revenue}");
    // No seller in REES46: seller tables are produced with `unknown`, and the report says so.
    assert!(gold_table(&root, "event_counts")[0].starts_with("unknown|987|3|0|10"));
    assert!(report.null_columns.contains(&"seller_id".to_string()));
    assert!(report.null_columns.contains(&"cost_price".to_string()));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn uk_retail_sample_reasons_duplicates_and_revenue() {
    let (lines, rows) = replayed("uk-online-retail-sample.csv");
    let root = temp_dir("uk");
    write_bronze(&root, &objects(&lines, 5_000));
    let s = Settings::new(SourceFormat::UkRetail);
    let report = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(run_once(&root, &s, "uk", |_| {}));
    // The rules, computed here from the CSV.
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    let mut valid_keys: BTreeSet<(String, String, String, String)> = BTreeSet::new();
    let mut duplicates = 0u64;
    let mut revenue = 0.0;
    for r in &rows {
        let qty: f64 = r["Quantity"].parse().unwrap();
        let price: f64 = r["UnitPrice"].parse().unwrap();
        let mut reasons = vec![];
        if r["CustomerID"] == "NA" {
            reasons.push("missing_user_id");
        }
        if price <= 0.0 {
            reasons.push("non_positive_price");
        }
        if qty < 1.0 {
            reasons.push("bad_quantity");
        }
        if r["InvoiceNo"].starts_with('C') {
            reasons.push("cancellation");
        }
        for x in &reasons {
            *by_reason.entry(x.to_string()).or_default() += 1;
        }
        if reasons.is_empty() {
            let key = (
                r["InvoiceNo"].clone(),
                r["StockCode"].clone(),
                r["InvoiceDate"].clone(),
                r["CustomerID"].clone(),
            );
            if valid_keys.insert(key) {
                revenue += qty * price;
            } else {
                duplicates += 1;
            }
        }
    }
    assert_eq!(report.totals.lines, 20_000);
    assert_eq!(report.invalid_by_reason, by_reason);
    assert_eq!(report.totals.duplicates, duplicates);
    assert_eq!(report.totals.valid, valid_keys.len() as u64);
    assert_eq!(by_reason["cancellation"], 350);
    let gold_revenue: f64 = gold_table(&root, "hourly_revenue")
        .iter()
        .map(|r| r.split('|').nth(2).unwrap().parse::<f64>().unwrap())
        .sum();
    let hours = gold_table(&root, "hourly_revenue").len() as f64;
    assert!(
        (gold_revenue - revenue).abs() <= 0.005 * hours + 1e-6,
        "{gold_revenue} vs {revenue}"
    );
    let _ = std::fs::remove_dir_all(&root);
}
