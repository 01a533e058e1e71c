//! Reading bronze lines: `JsonLine::parse` (the flat fast path) against
//! serde_json's visitor over the same lines (`JsonLine::parse_with_serde`,
//! what `parse` was before the fast path) and a full `serde_json::Value`,
//! in the same run, on lines shaped like the simulator's flashcommerce and
//! capstone profiles: first the parse alone, then the parse and the adapter
//! reading every field into an event, as the ETL does.
//! Run: `cargo bench -p pipegen-events --bench parse`.
//!
//! Timings here swing by 10-15% between runs; `ONLY=parse|adapt|visitor`
//! runs just that reader over 20,000 flashcommerce lines, for an instruction
//! count that does not (`valgrind --tool=callgrind`, less the count of
//! `ONLY=none`, which only builds the lines).

use std::hint::black_box;
use std::time::{Duration, Instant};

use pipegen_events::{Adapter, JsonLine, Record, SourceFormat};
use serde_json::{Map, Value};

fn flashcommerce(i: u64) -> String {
    format!(
        r#"{{"event_id":"EV{i:016x}","event_time":"2025-10-23T23:14:{:02}.{:03}+05:30","event_type":"purchase","user_id":"U{:04}","session_id":"S{:05}","product_id":"P00{}","product_name":"Smartphone","category":"Electronics","price":{}.{:02},"cost_price":6618.21,"discount_percentage":{},"quantity":{},"stock_quantity":36,"seller_id":"S005","city":"Ghaziabad","payment_type":"UPI","customer_age_group":"55+","customer_gender":"female","device_type":"desktop","referral_source":"instagram","campaign_id":"C{}","rating":{}.{},"promotion_active":{}}}"#,
        i % 60,
        i % 1000,
        i % 500,
        i % 40_000,
        i % 9,
        1000 + i % 9000,
        i % 100,
        i % 50,
        i % 5,
        i % 1000,
        1 + i % 5,
        i % 10,
        i.is_multiple_of(2),
    )
}

fn capstone(i: u64) -> String {
    format!(
        r#"{{"event_id":"evt_{i:016x}","timestamp":"2025-10-23T00:40:{:02}.{:06}Z","event_type":"add_to_cart","user_id":"u_{}","session_id":"sess_{:08x}","product_id":"p_{}","category":"electronics","device_type":"desktop","quantity":{},"price":{}.{:02}}}"#,
        i % 60,
        i % 1_000_000,
        10_000 + i % 90_000,
        i / 7,
        1000 + i % 200,
        1 + i % 5,
        10 + i % 90,
        i % 100,
    )
}

/// What the ETL does with a line: adapt it (every field the adapter reads).
fn adapt<R: Record>(adapter: &Adapter, r: &R) -> usize {
    let (event, reasons) = adapter.adapt_borrowed(r);
    event.event_id.len() + reasons.len()
}

fn time(lines: &[String], f: impl Fn(&str) -> usize) -> Duration {
    // Best of five: the least disturbed pass.
    (0..5)
        .map(|_| {
            let start = Instant::now();
            let found: usize = lines.iter().map(|l| f(l)).sum();
            black_box(found);
            start.elapsed()
        })
        .min()
        .unwrap()
}

fn main() {
    println!(
        "| profile | lines | parse | serde_json visitor | visitor/parse | parse + adapt | visitor + adapt | ratio | Value + adapt | ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, make, format) in [
        (
            "flashcommerce",
            flashcommerce as fn(u64) -> String,
            SourceFormat::Flashcommerce,
        ),
        ("capstone", capstone, SourceFormat::Capstone),
    ] {
        let adapter = Adapter::new(format);
        let lines: Vec<String> = (0..200_000).map(make).collect();
        if let Ok(only) = std::env::var("ONLY") {
            let lines = &lines[..20_000];
            let n: usize = match only.as_str() {
                "none" => 0,
                "parse" => lines
                    .iter()
                    .map(|l| JsonLine::parse(l).map_or(0, |r| r.keys().count()))
                    .sum(),
                "adapt" => lines
                    .iter()
                    .map(|l| JsonLine::parse(l).map_or(0, |r| adapt(&adapter, &r)))
                    .sum(),
                _ => lines
                    .iter()
                    .map(|l| JsonLine::parse_with_serde(l).map_or(0, |r| adapt(&adapter, &r)))
                    .sum(),
            };
            println!("{n}");
            return;
        }
        for l in &lines[..100] {
            let fast = JsonLine::parse(l).expect("a bench line parses");
            let slow = JsonLine::parse_with_serde(l).expect("a bench line parses");
            assert_eq!(adapter.adapt_borrowed(&fast), adapter.adapt_borrowed(&slow));
        }
        let parse = time(&lines, |l| JsonLine::parse(l).map_or(0, |r| r.keys().count()));
        let visitor = time(&lines, |l| {
            JsonLine::parse_with_serde(l).map_or(0, |r| r.keys().count())
        });
        let parse_adapt = time(&lines, |l| JsonLine::parse(l).map_or(0, |r| adapt(&adapter, &r)));
        let visitor_adapt = time(&lines, |l| {
            JsonLine::parse_with_serde(l).map_or(0, |r| adapt(&adapter, &r))
        });
        let value_adapt = time(&lines, |l| {
            serde_json::from_str::<Map<String, Value>>(l).map_or(0, |r| adapt(&adapter, &r))
        });
        let ns = |d: Duration| d.as_nanos() as f64 / lines.len() as f64;
        println!(
            "| {name} | {} | {:.0} ns | {:.0} ns | {:.2}x | {:.0} ns | {:.0} ns | {:.2}x | {:.0} ns | {:.2}x |",
            lines.len(),
            ns(parse),
            ns(visitor),
            ns(visitor) / ns(parse),
            ns(parse_adapt),
            ns(visitor_adapt),
            ns(visitor_adapt) / ns(parse_adapt),
            ns(value_adapt),
            ns(value_adapt) / ns(parse_adapt),
        );
    }
}
