//! Ingest cost of one 10,000-record batch (Lambda's maximum): plan (split,
//! validate JSON, group per partition, add metadata) and gzip the objects, in
//! memory, without S3. The peer, in the same run, is the original's layout:
//! one gzip object per record. Peak memory is the process's high-water mark.
//! Run: `cargo bench -p pipegen-ingest --bench batch`.

use std::time::Instant;

use base64::Engine;
use pipegen_ingest::{Config, gzip_lines, plan};

fn hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        })
        .unwrap_or(0)
}

fn main() {
    let cfg = Config {
        bucket: "b".into(),
        bronze_prefix: "bronze/events/".into(),
        quarantine_prefix: "bronze/_quarantine/".into(),
        environment: "bench".into(),
    };
    let records: Vec<_> = (0..10_000)
        .map(|i| {
            let data = serde_json::json!({
                "event_id": format!("EV{i:016x}"), "event_time": "2025-10-23T18:04:05.123+05:30", "event_type": "view",
                "user_id": format!("U{:04}", i % 500), "session_id": "S12345", "product_id": "P001", "product_name": "Cotton Kurta",
                "category": "Clothing", "price": 1499.0, "cost_price": 999.0, "discount_percentage": 10, "quantity": 0,
                "stock_quantity": 50, "seller_id": "S001", "city": "Mumbai", "payment_type": "other", "customer_age_group": "25-34",
                "customer_gender": "female", "device_type": "mobile", "referral_source": "instagram", "campaign_id": "C123",
                "rating": 4.5, "promotion_active": false,
            })
            .to_string();
            serde_json::json!({
                "eventID": format!("shardId-000000000000:{}", 49_000_000 + i),
                "kinesis": {"approximateArrivalTimestamp": 1_761_213_600 + i / 100, "data": base64::engine::general_purpose::STANDARD.encode(data),
                    "partitionKey": "P001", "sequenceNumber": (49_000_000 + i).to_string()}
            })
        })
        .collect();
    let event = serde_json::from_value(serde_json::json!({"Records": records})).unwrap();
    let before = hwm_kb();
    let mut best = f64::MAX;
    let mut objects = 0;
    for _ in 0..10 {
        let t = Instant::now();
        let p = plan(&event, &cfg);
        let bytes: usize = p.objects.iter().map(|o| gzip_lines(&o.lines).len()).sum();
        assert!(bytes > 0);
        objects = p.objects.len();
        best = best.min(t.elapsed().as_secs_f64());
    }
    let after = hwm_kb();
    let mut peer_best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let p = plan(&event, &cfg);
        let n: usize = p
            .objects
            .iter()
            .flat_map(|o| &o.lines)
            .map(|l| gzip_lines(std::slice::from_ref(l)).len())
            .sum();
        assert!(n > 0);
        peer_best = peer_best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "| batch | pipegen ingest (plan + gzip) | objects | peer: one gzip object per record | ratio | peak RSS of the process |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| 10,000 records | {:.1} ms | {objects} | {:.1} ms | {:.1}x | {} MB (input built: {} MB) |",
        best * 1e3,
        peer_best * 1e3,
        peer_best / best,
        after / 1024,
        before / 1024
    );
}
