//! The 15 gold tables of spec/gold.md, each a polars query over silver.
//!
//! Conventions of gold.md applied everywhere: customer-behaviour tables
//! read customer actions only; product-grain tables skip rows without a
//! product; a null grouping key is `unknown`; money is rounded to 2 decimals
//! when written (rankings compare the rounded values, so a last-bit
//! difference in a float sum can never reorder them); rates are `*_pct`,
//! 0-100, 0 when the denominator is 0; ties in rankings break by the key
//! columns ascending. Every table ends in [`conform`], which selects and casts
//! exactly the columns `pipegen_events::lake` declares (and the catalog
//! registers), then sorts all rows, so output is deterministic.

use pipegen_events::lake::{self, TableDef};
use polars::prelude::*;

const CUSTOMER_ACTIONS: [&str; 5] = ["view", "add_to_cart", "remove_from_cart", "purchase", "search"];

fn round2(e: Expr) -> Expr {
    e.round(2, RoundMode::HalfAwayFromZero)
}

fn unknown(name: &str) -> Expr {
    col(name).fill_null(lit("unknown")).alias(name)
}

fn is_type(t: &str) -> Expr {
    col("event_type").eq(lit(t))
}

fn count_of(t: &str) -> Expr {
    is_type(t).cast(DataType::Int64).sum()
}

/// A sum of money that does not depend on the order of the rows: each value
/// in millionths (far below the cent gold rounds to), summed as integers.
/// A float sum follows the order in which the streaming engine's threads
/// meet the rows, and a last-bit difference could move a total rounded to
/// the cent (the split-run test saw it).
fn money_sum(name: &str) -> Expr {
    (col(name) * lit(1e6))
        .round(0, RoundMode::HalfAwayFromZero)
        .cast(DataType::Int64)
        .sum()
        .cast(DataType::Float64)
        / lit(1e6)
}

/// A sum that stays null when every input is null (a source without cost
/// prices has no profit, not a profit of 0).
fn sum_or_null(name: &str) -> Expr {
    when(col(name).count().gt(lit(0)))
        .then(money_sum(name))
        .otherwise(lit(NULL).cast(DataType::Float64))
}

/// `num / den x 100`, 0 when `den` is 0.
fn pct(num: Expr, den: Expr) -> Expr {
    when(den.clone().gt(lit(0)))
        .then(round2(
            num.cast(DataType::Float64) / den.cast(DataType::Float64) * lit(100.0),
        ))
        .otherwise(lit(0.0))
}

fn actions(silver: LazyFrame) -> LazyFrame {
    let list = Series::new("actions".into(), CUSTOMER_ACTIONS);
    silver.filter(col("event_type").is_in(lit(list).implode(false), false))
}

fn purchases(silver: LazyFrame) -> LazyFrame {
    silver.filter(is_type("purchase"))
}

fn with_product(lf: LazyFrame) -> LazyFrame {
    lf.filter(col("product_id").is_not_null())
}

/// Adds `name`: 1, 2, ... within each `group`, in the order of `order`
/// (column, descending), then the remaining sort keys ascending.
fn rank_within(lf: LazyFrame, group: &[&str], order: &[(&str, bool)], name: &str) -> PolarsResult<LazyFrame> {
    let mut by: Vec<PlSmallStr> = group.iter().map(|g| (*g).into()).collect();
    let mut descending = vec![false; group.len()];
    for (c, d) in order {
        by.push((*c).into());
        descending.push(*d);
    }
    let sorted = lf.sort(
        by,
        SortMultipleOptions::default()
            .with_order_descending_multi(descending)
            .with_nulls_last(true)
            .with_maintain_order(true),
    );
    let group_exprs: Vec<Expr> = group.iter().map(|g| col(*g)).collect();
    let rank = col("_row")
        .rank(
            RankOptions {
                method: RankMethod::Ordinal,
                descending: false,
            },
            None,
        )
        .cast(DataType::Int32);
    let rank = if group_exprs.is_empty() {
        rank
    } else {
        rank.over(group_exprs)?
    };
    Ok(sorted.with_row_index("_row", None).with_column(rank.alias(name)))
}

/// Selects and casts the table's declared columns (partition keys first),
/// and sorts every row.
pub fn conform(lf: LazyFrame, table: &TableDef) -> LazyFrame {
    let cols: Vec<&lake::Column> = table.partition_keys.iter().chain(table.columns.iter()).collect();
    let select: Vec<Expr> = cols.iter().map(|c| col(c.name).cast(dtype(c.glue_type))).collect();
    let mut by: Vec<PlSmallStr> = table.partition_keys.iter().map(|c| c.name.into()).collect();
    for rank in ["rank", "rank_in_hour"] {
        if table.columns.iter().any(|c| c.name == rank) {
            // Rankings read in rank order within their group.
            let group: Vec<PlSmallStr> = match table.name {
                "category_hourly" => vec!["day_of_week".into(), "hour_of_day".into()],
                _ => vec![],
            };
            by.extend(group);
            by.push(rank.into());
        }
    }
    for c in &cols {
        if !by.iter().any(|b| b == c.name) {
            by.push(c.name.into());
        }
    }
    lf.select(select)
        .sort(by, SortMultipleOptions::default().with_maintain_order(true))
}

/// The polars type of a Glue type of `lake.rs`.
pub fn dtype(glue: &str) -> DataType {
    match glue {
        "double" => DataType::Float64,
        "int" => DataType::Int32,
        "bigint" => DataType::Int64,
        "boolean" => DataType::Boolean,
        "timestamp" => DataType::Datetime(TimeUnit::Microseconds, None),
        _ => DataType::String,
    }
}

/// One gold table as a query over silver (customer and catalogue events).
pub fn query(name: &str, silver: LazyFrame) -> PolarsResult<LazyFrame> {
    let lf = match name {
        "product_metrics" => {
            let agg = with_product(purchases(silver))
                .group_by([unknown("seller_id"), col("product_id")])
                .agg([
                    col("product_name").min(),
                    col("category").fill_null(lit("unknown")).min(),
                    round2(money_sum("revenue")).alias("total_revenue"),
                    round2(sum_or_null("profit")).alias("total_profit"),
                    col("quantity").cast(DataType::Int64).sum().alias("total_quantity"),
                ]);
            rank_within(
                agg,
                &["seller_id"],
                &[("total_profit", true), ("product_id", false)],
                "rank",
            )?
            .filter(col("rank").lt_eq(lit(5)))
        }
        "order_details" => {
            let p = purchases(silver).with_column(unknown("seller_id"));
            rank_within(
                p,
                &["seller_id"],
                &[("event_time_local", true), ("event_id", false)],
                "rank",
            )?
            .filter(col("rank").lt_eq(lit(5)))
            .with_column(round2(col("final_price")).alias("final_price"))
        }
        "event_counts" => actions(silver).group_by([unknown("seller_id")]).agg([
            count_of("view").alias("view_count"),
            count_of("add_to_cart").alias("add_to_cart_count"),
            count_of("remove_from_cart").alias("remove_from_cart_count"),
            count_of("purchase").alias("purchase_count"),
        ]),
        "city_sales" | "geo_heatmap" => {
            let mut keys = vec![
                unknown("city"),
                unknown("region"),
                unknown("city_tier"),
                col("latitude"),
                col("longitude"),
            ];
            if name == "city_sales" {
                keys.insert(0, unknown("seller_id"));
            }
            purchases(silver).group_by(keys).agg([
                round2(money_sum("revenue")).alias("total_revenue"),
                col("order_flag").cast(DataType::Int64).sum().alias("total_orders"),
            ])
        }
        "daily_metrics" => purchases(silver)
            .group_by([unknown("seller_id"), col("event_date")])
            .agg([
                round2(money_sum("revenue")).alias("total_revenue"),
                round2(sum_or_null("profit")).alias("total_profit"),
                col("order_flag").cast(DataType::Int64).sum().alias("total_orders"),
            ]),
        "product_funnel" => with_product(actions(silver))
            .group_by([col("product_id"), unknown("category")])
            .agg([
                count_of("view").alias("view_count"),
                count_of("add_to_cart").alias("add_to_cart_count"),
                count_of("purchase").alias("purchase_count"),
            ])
            .with_columns([
                pct(col("add_to_cart_count"), col("view_count")).alias("view_to_cart_pct"),
                pct(col("purchase_count"), col("add_to_cart_count")).alias("cart_to_purchase_pct"),
                pct(col("purchase_count"), col("view_count")).alias("view_to_purchase_pct"),
            ]),
        "hourly_revenue" => purchases(silver)
            .group_by([col("event_date"), col("hour_of_day")])
            .agg([
                money_sum("revenue").alias("revenue_sum"),
                len().cast(DataType::Int64).alias("purchase_count"),
                col("quantity").cast(DataType::Int64).sum().alias("total_items_sold"),
            ])
            .with_columns([
                round2(col("revenue_sum")).alias("total_revenue"),
                round2(col("revenue_sum") / col("purchase_count").cast(DataType::Float64)).alias("avg_order_value"),
            ]),
        "product_popularity" => with_product(silver.filter(is_type("view")))
            .group_by([col("product_id"), unknown("category")])
            .agg([
                len().cast(DataType::Int64).alias("view_count"),
                col("user_id").n_unique().cast(DataType::Int64).alias("unique_viewers"),
            ]),
        "category_daily_performance" => actions(silver).group_by([col("event_date"), unknown("category")]).agg([
            len().cast(DataType::Int64).alias("total_events"),
            count_of("view").alias("page_views"),
            count_of("add_to_cart").alias("add_to_carts"),
            count_of("purchase").alias("purchases"),
            round2(money_sum("revenue")).alias("total_revenue"),
        ]),
        "daily_user_activity" => actions(silver)
            .group_by([col("event_date")])
            .agg([
                col("user_id").n_unique().cast(DataType::Int64).alias("unique_users"),
                col("session_id")
                    .drop_nulls()
                    .n_unique()
                    .cast(DataType::Int64)
                    .alias("unique_sessions"),
                len().cast(DataType::Int64).alias("total_events"),
            ])
            .with_columns([
                round2(col("total_events").cast(DataType::Float64) / col("unique_users").cast(DataType::Float64))
                    .alias("events_per_user"),
                round2(col("unique_sessions").cast(DataType::Float64) / col("unique_users").cast(DataType::Float64))
                    .alias("sessions_per_user"),
            ]),
        "unique_visitors_daily" => {
            let a = actions(silver);
            let first_seen = a
                .clone()
                .group_by([col("user_id")])
                .agg([col("event_date").min().alias("first_date")])
                .group_by([col("first_date")])
                .agg([len().cast(DataType::Int64).alias("new_visitors")]);
            a.group_by([col("event_date")])
                .agg([col("user_id").n_unique().cast(DataType::Int64).alias("unique_visitors")])
                .left_join(first_seen, col("event_date"), col("first_date"))
                .with_column(col("new_visitors").fill_null(lit(0i64)))
        }
        "cart_abandonment" => with_product(actions(silver))
            .group_by([col("event_date"), col("product_id"), col("user_id")])
            .agg([
                is_type("add_to_cart").cast(DataType::Int64).max().alias("carted"),
                is_type("purchase").cast(DataType::Int64).max().alias("purchased"),
            ])
            .filter(col("carted").eq(lit(1i64)))
            .group_by([col("event_date"), col("product_id")])
            .agg([
                len().cast(DataType::Int64).alias("carted_users"),
                col("purchased").sum().alias("purchased_users"),
            ])
            .with_column((col("carted_users") - col("purchased_users")).alias("abandoned_users"))
            .with_column(pct(col("abandoned_users"), col("carted_users")).alias("abandonment_pct")),
        "category_hourly" => {
            let agg = actions(silver)
                .group_by([col("day_of_week"), col("hour_of_day"), unknown("category")])
                .agg([
                    len().cast(DataType::Int64).alias("events"),
                    col("order_flag").cast(DataType::Int64).sum().alias("purchases"),
                    round2(money_sum("revenue")).alias("revenue"),
                ]);
            rank_within(
                agg,
                &["day_of_week", "hour_of_day"],
                &[("purchases", true), ("revenue", true), ("category", false)],
                "rank_in_hour",
            )?
        }
        "brand_performance" => actions(silver)
            .group_by([unknown("brand")])
            .agg([
                count_of("view").alias("views"),
                count_of("add_to_cart").alias("add_to_carts"),
                count_of("purchase").alias("purchases"),
                round2(money_sum("revenue")).alias("revenue"),
            ])
            .with_column(pct(col("purchases"), col("views")).alias("view_to_purchase_pct"))
            .with_column(
                col("views")
                    .cast(DataType::Float64)
                    .lt(col("views").cast(DataType::Float64).median())
                    .and(col("view_to_purchase_pct").gt_eq(col("view_to_purchase_pct").median()))
                    .alias("needs_marketing"),
            ),
        other => polars_bail!(ComputeError: "no gold table named `{other}`"),
    };
    let table = lake::TABLES
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| polars_err!(ComputeError: "`{name}` is not in the lake's tables"))?;
    Ok(conform(lf, table))
}
