//! Every gold table of spec/gold.md on a small fixture whose expected values
//! were computed by hand (see the comments next to each expectation).

use pipegen_etl::frame::SilverBatch;
use pipegen_etl::gold;
use pipegen_etl::settings::Settings;
use pipegen_etl::silver::clean_line;
use pipegen_events::SourceFormat;
use polars::prelude::*;
use serde_json::json;

/// FlashCommerce events (local zone Asia/Kolkata, +05:30):
/// 1-4: U1/U2 view P1, U1 carts and buys 2 x P1 (S001, Mumbai, price 100, cost 60)
/// 5-6: U3 views and carts P2 (S001), never buys
/// 7: U2 buys P3 (S002, Bengaluru, 50 - 10%, no cost) the next day at 18:00 local
/// 8: a stock update (catalogue: no gold table counts it)
/// 9: U4 searches (no product, no seller, no category)
fn fixture() -> Vec<String> {
    let e = |id: &str, t: &str, ty: &str, user: &str, session: &str, extra: serde_json::Value| {
        let mut v = json!({"event_id": id, "event_time": t, "event_type": ty, "user_id": user, "session_id": session});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v.to_string()
    };
    let p1 = json!({"product_id": "P1", "product_name": "Kurta", "category": "Clothing", "brand": "acme", "price": 100,
        "seller_id": "S001", "city": "Mumbai"});
    let p2 = json!({"product_id": "P2", "product_name": "Laptop", "category": "Electronics", "brand": "zen",
        "price": 1000, "seller_id": "S001", "city": "Mumbai"});
    let with = |base: &serde_json::Value, extra: serde_json::Value| {
        let mut v = base.clone();
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    vec![
        e("E1", "2025-10-23T04:30:00Z", "view", "U1", "S1", p1.clone()),
        e("E2", "2025-10-23T04:31:00Z", "view", "U2", "S2", p1.clone()),
        e(
            "E3",
            "2025-10-23T04:32:00Z",
            "add_to_cart",
            "U1",
            "S1",
            with(&p1, json!({"quantity": 2})),
        ),
        e(
            "E4",
            "2025-10-23T04:33:00Z",
            "purchase",
            "U1",
            "S1",
            with(&p1, json!({"quantity": 2, "cost_price": 60, "payment_type": "UPI"})),
        ),
        e("E5", "2025-10-23T05:00:00Z", "view", "U3", "S3", p2.clone()),
        e(
            "E6",
            "2025-10-23T05:01:00Z",
            "add_to_cart",
            "U3",
            "S3",
            with(&p2, json!({"quantity": 1})),
        ),
        e(
            "E7",
            "2025-10-24T12:30:00Z",
            "purchase",
            "U2",
            "S4",
            json!({"product_id": "P3", "product_name": "Novel", "category": "Books", "price": 50,
                "discount_percentage": 10, "quantity": 1, "seller_id": "S002", "city": "Bengaluru",
                "payment_type": "Cash on Delivery"}),
        ),
        e(
            "E8",
            "2025-10-23T06:00:00Z",
            "stock_update",
            "SYSTEM",
            "S0",
            with(&p1, json!({"stock_quantity": 40})),
        ),
        e(
            "E9",
            "2025-10-24T12:00:00Z",
            "search",
            "U4",
            "S5",
            json!({"search_query": "shoes"}),
        ),
    ]
}

pub fn silver_of(settings: &Settings, lines: &[String]) -> LazyFrame {
    let mut batch = SilverBatch::new("fixture", lines.len());
    let ingest = pipegen_events::time::parse_utc("2025-10-25T00:00:00Z").unwrap();
    for l in lines {
        let row = clean_line(settings, l, ingest).unwrap_or_else(|r| panic!("fixture line {l}: {r:?}"));
        batch.push(&row);
    }
    batch.into_frame().unwrap().lazy()
}

/// Rows as `a|b|c` strings (null as `null`), in the table's order.
pub fn rows(df: &DataFrame) -> Vec<String> {
    (0..df.height())
        .map(|i| {
            df.columns()
                .iter()
                .map(|c| match c.get(i).unwrap() {
                    AnyValue::Null => "null".to_string(),
                    AnyValue::String(s) => s.to_string(),
                    AnyValue::StringOwned(s) => s.to_string(),
                    v => v.to_string(),
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

fn table(name: &str) -> Vec<String> {
    let s = Settings::new(SourceFormat::Flashcommerce);
    let df = gold::query(name, silver_of(&s, &fixture())).unwrap().collect().unwrap();
    rows(&df)
}

#[test]
fn flashcommerce_tables() {
    // seller|product|name|category|revenue|profit|quantity|rank: profit (100-60) x 2 = 80; no cost -> null.
    assert_eq!(
        table("product_metrics"),
        [
            "S001|P1|kurta|Clothing|200.0|80.0|2|1",
            "S002|P3|novel|Books|45.0|null|1|1"
        ]
    );
    // Local times: 04:33Z = 10:03 IST; 12:30Z = 18:00 IST.
    assert_eq!(
        table("order_details"),
        [
            "S001|2025-10-23 10:03:00|U1|P1|kurta|100.0|2|Mumbai|UPI|1",
            "S002|2025-10-24 18:00:00|U2|P3|novel|45.0|1|Bangalore|Cash on Delivery|1"
        ]
    );
    // Customer actions per seller; the stock update is not one; the search has no seller.
    assert_eq!(
        table("event_counts"),
        ["S001|3|2|0|1", "S002|0|0|0|1", "unknown|0|0|0|0"]
    );
    assert_eq!(
        table("city_sales"),
        [
            "S001|Mumbai|West|Tier 1|19.076|72.8777|200.0|1",
            "S002|Bangalore|South|Tier 1|12.9716|77.5946|45.0|1"
        ]
    );
    assert_eq!(
        table("geo_heatmap"),
        [
            "Bangalore|South|Tier 1|12.9716|77.5946|45.0|1",
            "Mumbai|West|Tier 1|19.076|72.8777|200.0|1"
        ]
    );
    assert_eq!(
        table("daily_metrics"),
        ["S001|2025-10-23|200.0|80.0|1", "S002|2025-10-24|45.0|null|1"]
    );
}

#[test]
fn capstone_tables() {
    // P1: 2 views, 1 cart, 1 purchase -> 50 / 100 / 50. P3 has no views or carts: rates are 0.
    assert_eq!(
        table("product_funnel"),
        [
            "P1|Clothing|2|1|1|50.0|100.0|50.0",
            "P2|Electronics|1|1|0|100.0|0.0|0.0",
            "P3|Books|0|0|1|0.0|0.0|0.0"
        ]
    );
    assert_eq!(
        table("hourly_revenue"),
        ["2025-10-23|10|200.0|1|2|200.0", "2025-10-24|18|45.0|1|1|45.0"]
    );
    assert_eq!(table("product_popularity"), ["P1|Clothing|2|2", "P2|Electronics|1|1"]);
    assert_eq!(
        table("category_daily_performance"),
        [
            "2025-10-23|Clothing|4|2|1|1|200.0",
            "2025-10-23|Electronics|2|1|1|0|0.0",
            "2025-10-24|Books|1|0|0|1|45.0",
            "2025-10-24|unknown|1|0|0|0|0.0"
        ]
    );
    // 10-23: U1, U2, U3 in 3 sessions, 6 actions; 10-24: U2 and U4, 2 sessions, 2 actions.
    assert_eq!(
        table("daily_user_activity"),
        ["2025-10-23|3|3|6|2.0|1.0", "2025-10-24|2|2|2|1.0|1.0"]
    );
}

#[test]
fn insight_tables() {
    // U2 was first seen on 10-23: on 10-24 only U4 is new.
    assert_eq!(table("unique_visitors_daily"), ["2025-10-23|3|3", "2025-10-24|2|1"]);
    // U1 carted and bought P1; U3 carted P2 and left.
    assert_eq!(
        table("cart_abandonment"),
        ["2025-10-23|P1|1|1|0|0.0", "2025-10-23|P2|1|0|1|100.0"]
    );
    // Thursday 10:xx local: Clothing (1 purchase) ranks above Electronics (0).
    assert_eq!(
        table("category_hourly"),
        [
            "Fri|17|unknown|1|0|0.0|1",
            "Fri|18|Books|1|1|45.0|1",
            "Thu|10|Clothing|4|1|200.0|1",
            "Thu|10|Electronics|2|0|0.0|2"
        ]
    );
    // views 2/1/0 (median 1), rates 50/0/0 (median 0): only `unknown` is seen less than the median brand
    // while converting at least as well.
    assert_eq!(
        table("brand_performance"),
        [
            "acme|2|1|1|200.0|50.0|false",
            "unknown|0|0|1|45.0|0.0|true",
            "zen|1|1|0|0.0|0.0|false"
        ]
    );
}

#[test]
fn rankings_keep_five_and_break_ties_by_key() {
    // Six products of one seller with equal profit: ranks follow product_id; the 6th is cut.
    let lines: Vec<String> = (1..=6)
        .map(|i| {
            json!({"event_id": format!("R{i}"), "event_time": format!("2025-10-23T0{i}:00:00Z"),
                "event_type": "purchase", "user_id": "U9", "product_id": format!("Q{i}"), "price": 10,
                "cost_price": 5, "quantity": 1, "seller_id": "S003", "payment_type": "UPI"})
            .to_string()
        })
        .collect();
    let s = Settings::new(SourceFormat::Flashcommerce);
    let pm = gold::query("product_metrics", silver_of(&s, &lines))
        .unwrap()
        .collect()
        .unwrap();
    let ids: Vec<String> = rows(&pm)
        .iter()
        .map(|r| r.split('|').nth(1).unwrap().to_string())
        .collect();
    assert_eq!(ids, ["Q1", "Q2", "Q3", "Q4", "Q5"]);
    // The five latest orders, latest first.
    let od = gold::query("order_details", silver_of(&s, &lines))
        .unwrap()
        .collect()
        .unwrap();
    let ids: Vec<String> = rows(&od)
        .iter()
        .map(|r| r.split('|').nth(3).unwrap().to_string())
        .collect();
    assert_eq!(ids, ["Q6", "Q5", "Q4", "Q3", "Q2"]);
}

#[test]
fn every_table_has_the_catalog_columns() {
    let s = Settings::new(SourceFormat::Flashcommerce);
    for t in pipegen_events::lake::gold_tables() {
        let df = gold::query(t.name, silver_of(&s, &fixture()))
            .unwrap()
            .collect()
            .unwrap();
        let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
        let expected: Vec<&str> = t.partition_keys.iter().chain(t.columns).map(|c| c.name).collect();
        assert_eq!(names, expected, "{}", t.name);
        for (c, def) in df.columns().iter().zip(t.partition_keys.iter().chain(t.columns)) {
            assert_eq!(c.dtype(), &gold::dtype(def.glue_type), "{}.{}", t.name, def.name);
        }
    }
}
