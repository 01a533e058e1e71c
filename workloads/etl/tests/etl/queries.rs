//! Every named query of `queries/` run locally (polars SQL, `query::run`) on
//! the ETL's real output over simulated FlashCommerce bronze, each result
//! checked against the same answer computed here with the DataFrame API from
//! the gold table (filters, sorts and formulas written out by hand, not SQL).

use std::path::{Path, PathBuf};

use pipegen_etl::query::{self, QueryResult};
use pipegen_etl::settings::Settings;
use pipegen_etl::store::Store;
use pipegen_events::SourceFormat;
use pipegen_events::lake;
use pipegen_simulator::profile::Profile;
use polars::prelude::*;
use serde_json::Value as Json;

use crate::common::*;

fn queries_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries")
}

fn sql(name: &str) -> String {
    std::fs::read_to_string(queries_dir().join(format!("{name}.sql"))).unwrap()
}

/// A gold table, read back.
fn table(rt: &tokio::runtime::Runtime, store: &Store, name: &str) -> DataFrame {
    let def = lake::gold_tables().find(|t| t.name == name).unwrap();
    rt.block_on(query::read_table(store, "gold/", def)).unwrap().0
}

/// The frame's rows as JSON, the way query results come back.
fn json_rows(df: &DataFrame, columns: &[&str]) -> Vec<Vec<Json>> {
    let df = df.select(columns.iter().copied()).unwrap();
    (0..df.height())
        .map(|i| {
            df.columns()
                .iter()
                .map(|c| match c.get(i).unwrap() {
                    AnyValue::Null => Json::Null,
                    AnyValue::Boolean(b) => Json::Bool(b),
                    AnyValue::Int32(n) => n.into(),
                    AnyValue::Int64(n) => n.into(),
                    AnyValue::Float64(f) => serde_json::Number::from_f64(f).map(Json::Number).unwrap(),
                    AnyValue::String(s) => Json::String(s.into()),
                    AnyValue::StringOwned(s) => Json::String(s.to_string()),
                    other => Json::String(other.to_string()),
                })
                .collect()
        })
        .collect()
}

/// The rows whose string column `name` equals `value`.
fn rows_where(df: &DataFrame, name: &str, value: &str) -> DataFrame {
    df.filter(&df.column(name).unwrap().as_materialized_series().equal(value).unwrap())
        .unwrap()
}

/// The first value of a string column.
fn first(df: &DataFrame, name: &str) -> String {
    df.column(name).unwrap().str().unwrap().get(0).unwrap().to_string()
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn close(a: &[Vec<Json>], b: &[Vec<Json>], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: row count");
    for (i, (ra, rb)) in a.iter().zip(b).enumerate() {
        for (j, (x, y)) in ra.iter().zip(rb).enumerate() {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) if !matches!((ra[j].is_i64(), rb[j].is_i64()), (true, true)) => {
                    assert!((x - y).abs() < 1e-9, "{what}: row {i} column {j}: {x} vs {y}")
                }
                _ => assert_eq!(x, y, "{what}: row {i} column {j}"),
            }
        }
    }
}

#[test]
fn every_named_query_runs_locally_with_checked_results() {
    let (objects, _) = simulated(Profile::Flashcommerce, 4_000, 0.05, 2, 250);
    let root = temp_dir("queries");
    write_bronze(&root, &objects);
    let rt = rt();
    let settings = Settings::new(SourceFormat::Flashcommerce);
    rt.block_on(run_once(&root, &settings, "q1", |_| {}));
    let store = Store::dir(&root);
    let run = |name: &str, params: &[String]| -> QueryResult {
        rt.block_on(query::run(&store, "gold/", &sql(name), params))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let sort = |df: &DataFrame, by: &[&str], descending: &[bool]| -> DataFrame {
        df.sort(
            by.to_vec(),
            SortMultipleOptions::default()
                .with_order_descending_multi(descending.to_vec())
                .with_maintain_order(true),
        )
        .unwrap()
    };
    let mut checked = Vec::new();

    // product_conversion_funnel: the 10 most viewed products.
    let f = table(&rt, &store, "product_funnel");
    let r = run("product_conversion_funnel", &[]);
    let cols = [
        "product_id",
        "category",
        "view_count",
        "add_to_cart_count",
        "purchase_count",
        "view_to_cart_pct",
        "cart_to_purchase_pct",
        "view_to_purchase_pct",
    ];
    assert_eq!(r.columns, cols);
    close(
        &r.rows,
        &json_rows(
            &sort(&f, &["view_count", "product_id"], &[true, false]).head(Some(10)),
            &cols,
        ),
        "funnel",
    );
    assert_eq!(r.rows.len(), 10.min(f.height()));
    checked.push("product_conversion_funnel");

    // hourly_revenue_trends: the latest 20 date-hours.
    let h = table(&rt, &store, "hourly_revenue");
    let r = run("hourly_revenue_trends", &[]);
    let cols = [
        "event_date",
        "hour_of_day",
        "total_revenue",
        "purchase_count",
        "total_items_sold",
        "avg_order_value",
    ];
    close(
        &r.rows,
        &json_rows(
            &sort(&h, &["event_date", "hour_of_day"], &[true, true]).head(Some(20)),
            &cols,
        ),
        "hourly",
    );
    checked.push("hourly_revenue_trends");

    // top_products_by_engagement: views per viewer, rounded, viewed products only.
    let p = table(&rt, &store, "product_popularity");
    let r = run("top_products_by_engagement", &[]);
    let viewed = p
        .filter(
            &p.column("unique_viewers")
                .unwrap()
                .as_materialized_series()
                .gt(0)
                .unwrap(),
        )
        .unwrap();
    let top = sort(&viewed, &["view_count", "product_id"], &[true, false]).head(Some(20));
    let mut expected = json_rows(&top, &["product_id", "category", "view_count", "unique_viewers"]);
    for row in &mut expected {
        let per = round2(row[2].as_f64().unwrap() / row[3].as_f64().unwrap());
        row.push(per.into());
    }
    close(&r.rows, &expected, "engagement");
    assert!(!r.rows.is_empty());
    checked.push("top_products_by_engagement");

    // category_performance: conversion in percent, 0 without views.
    let c = table(&rt, &store, "category_daily_performance");
    let r = run("category_performance", &[]);
    let top = sort(&c, &["event_date", "total_revenue", "category"], &[false, true, false]);
    let mut expected = json_rows(
        &top,
        &["event_date", "category", "total_revenue", "page_views", "purchases"],
    );
    for row in &mut expected {
        let views = row[3].as_f64().unwrap();
        let pct = if views == 0.0 {
            0.0
        } else {
            round2(100.0 * row[4].as_f64().unwrap() / views)
        };
        row.push(pct.into());
    }
    close(&r.rows, &expected, "category_performance");
    checked.push("category_performance");

    // user_activity_trends and unique_visitors_per_day: by date.
    let u = table(&rt, &store, "daily_user_activity");
    let r = run("user_activity_trends", &[]);
    let cols = [
        "event_date",
        "unique_users",
        "unique_sessions",
        "total_events",
        "events_per_user",
        "sessions_per_user",
    ];
    close(
        &r.rows,
        &json_rows(&sort(&u, &["event_date"], &[false]), &cols),
        "user_activity",
    );
    checked.push("user_activity_trends");
    let v = table(&rt, &store, "unique_visitors_daily");
    let r = run("unique_visitors_per_day", &[]);
    close(
        &r.rows,
        &json_rows(
            &sort(&v, &["event_date"], &[false]),
            &["event_date", "unique_visitors", "new_visitors"],
        ),
        "visitors",
    );
    checked.push("unique_visitors_per_day");

    // carted_not_purchased: one day's abandoned products, a parameter.
    let a = table(&rt, &store, "cart_abandonment");
    let day = first(&a, "event_date");
    let r = run("carted_not_purchased", &[day.clone()]);
    let that_day = a
        .filter(
            &(a.column("event_date")
                .unwrap()
                .as_materialized_series()
                .equal(day.as_str())
                .unwrap()
                & a.column("abandoned_users")
                    .unwrap()
                    .as_materialized_series()
                    .gt(0)
                    .unwrap()),
        )
        .unwrap();
    let cols = [
        "event_date",
        "product_id",
        "carted_users",
        "purchased_users",
        "abandoned_users",
        "abandonment_pct",
    ];
    close(
        &r.rows,
        &json_rows(
            &sort(&that_day, &["abandoned_users", "product_id"], &[true, false]),
            &cols,
        ),
        "carted",
    );
    assert!(!r.rows.is_empty(), "the simulated day has abandoned carts");
    checked.push("carted_not_purchased");

    // top_categories_by_hour_weekday: top 3 per hour of the week, Mon first.
    let ch = table(&rt, &store, "category_hourly");
    let r = run("top_categories_by_hour_weekday", &[]);
    let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let mut expected = json_rows(
        &ch.filter(
            &ch.column("rank_in_hour")
                .unwrap()
                .as_materialized_series()
                .lt_eq(3)
                .unwrap(),
        )
        .unwrap(),
        &[
            "day_of_week",
            "hour_of_day",
            "rank_in_hour",
            "category",
            "events",
            "purchases",
            "revenue",
        ],
    );
    expected.sort_by_key(|row| {
        (
            days.iter().position(|d| Some(*d) == row[0].as_str()).unwrap_or(6),
            row[1].as_i64().unwrap(),
            row[2].as_i64().unwrap(),
        )
    });
    close(&r.rows, &expected, "category_hourly");
    checked.push("top_categories_by_hour_weekday");

    // brands_needing_marketing.
    let b = table(&rt, &store, "brand_performance");
    let r = run("brands_needing_marketing", &[]);
    let flagged = b.filter(b.column("needs_marketing").unwrap().bool().unwrap()).unwrap();
    let cols = [
        "brand",
        "views",
        "add_to_carts",
        "purchases",
        "revenue",
        "view_to_purchase_pct",
    ];
    close(
        &r.rows,
        &json_rows(
            &sort(&flagged, &["view_to_purchase_pct", "brand"], &[true, false]),
            &cols,
        ),
        "brands",
    );
    checked.push("brands_needing_marketing");

    // top_products_per_seller and latest_orders_per_seller: a seller parameter.
    let pm = table(&rt, &store, "product_metrics");
    let seller = first(&pm, "seller_id");
    let r = run("top_products_per_seller", &[seller.clone()]);
    let mine = rows_where(&pm, "seller_id", &seller);
    let cols = [
        "seller_id",
        "rank",
        "product_id",
        "product_name",
        "category",
        "total_revenue",
        "total_profit",
        "total_quantity",
    ];
    close(
        &r.rows,
        &json_rows(&sort(&mine, &["rank"], &[false]), &cols),
        "top_products_per_seller",
    );
    assert!(!r.rows.is_empty() && r.rows.len() <= 5);
    checked.push("top_products_per_seller");
    let od = table(&rt, &store, "order_details");
    let r = run("latest_orders_per_seller", &[seller.clone()]);
    let mine = rows_where(&od, "seller_id", &seller);
    let cols = [
        "seller_id",
        "rank",
        "event_time_local",
        "user_id",
        "product_id",
        "product_name",
        "final_price",
        "quantity",
        "city",
        "payment_type",
    ];
    let expected = json_rows(&sort(&mine, &["rank"], &[false]), &cols);
    assert_eq!(r.rows.len(), expected.len());
    for (a, b) in r.rows.iter().zip(&expected) {
        assert_eq!(a[1], b[1], "rank");
        assert_eq!(a[3..], b[3..], "order columns");
        // Timestamps print as Athena does; the frame's own text differs in form only.
        assert!(
            a[2].as_str().unwrap().starts_with(&b[2].as_str().unwrap()[..16]),
            "{a:?} vs {b:?}"
        );
    }
    checked.push("latest_orders_per_seller");

    // revenue_by_city: every city, by revenue.
    let g = table(&rt, &store, "geo_heatmap");
    let r = run("revenue_by_city", &[]);
    let cols = [
        "city",
        "region",
        "city_tier",
        "latitude",
        "longitude",
        "total_revenue",
        "total_orders",
    ];
    close(
        &r.rows,
        &json_rows(&sort(&g, &["total_revenue", "city"], &[true, false]), &cols),
        "cities",
    );
    assert!(r.rows.len() > 3);
    checked.push("revenue_by_city");

    // Every query file was checked.
    let mut files: Vec<String> = std::fs::read_dir(queries_dir())
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    files.sort();
    checked.sort();
    assert_eq!(files, checked);

    // Wrong parameter counts are errors, not empty results.
    assert!(matches!(
        rt.block_on(query::run(&store, "gold/", &sql("top_products_per_seller"), &[])),
        Err(query::QueryError::Parameters { expected: 1, given: 0 })
    ));
}
