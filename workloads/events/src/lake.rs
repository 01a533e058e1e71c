//! The lake's tables: every layer's columns, formats and partitions.
//!
//! One definition serves the ETL (which writes exactly these columns), the
//! generator (which registers them in the Glue catalog in both CloudFormation
//! and Terraform) and the local engine (which creates them in the emulator).
//! Gold tables follow `spec/gold.md` table by table.

use serde::Serialize;

/// A lake layer: where a table's objects live and in what format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Bronze,
    Silver,
    Invalid,
    Gold,
}

/// How a table's objects are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageFormat {
    /// gzip JSON lines (bronze, invalid).
    JsonLines,
    /// Apache Parquet (silver, gold).
    Parquet,
}

/// A column: name and Glue/Athena (Hive) type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Column {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub glue_type: &'static str,
}

/// One table of the lake.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TableDef {
    pub name: &'static str,
    pub layer: Layer,
    pub format: StorageFormat,
    /// Key prefix in the lake bucket, ending in `/`.
    pub prefix: &'static str,
    pub columns: &'static [Column],
    pub partition_keys: &'static [Column],
    /// One sentence: what a row is.
    pub grain: &'static str,
}

const fn c(name: &'static str, glue_type: &'static str) -> Column {
    Column { name, glue_type }
}

const S: &str = "string";
const D: &str = "double";
const I: &str = "int";
const B: &str = "bigint";
const TS: &str = "timestamp";
const BOOL: &str = "boolean";

const SELLER: &[Column] = &[c("seller_id", S)];
const EVENT_DATE: &[Column] = &[c("event_date", S)];

/// Bronze, silver, invalid and the 15 gold tables.
pub const TABLES: &[TableDef] = &[
    TableDef {
        name: "bronze_events",
        layer: Layer::Bronze,
        format: StorageFormat::JsonLines,
        prefix: "bronze/events/",
        grain: "one raw event as it arrived, with ingest metadata",
        columns: &[
            c("event_id", S),
            c("event_time", S),
            c("timestamp", S),
            c("event_type", S),
            c("user_id", S),
            c("session_id", S),
            c("product_id", S),
            c("product_name", S),
            c("category", S),
            c("price", D),
            c("quantity", I),
            c("seller_id", S),
            c("city", S),
            c("payment_type", S),
            c("_arrival_time", S),
            c("_shard_id", S),
            c("_sequence_number", S),
        ],
        partition_keys: &[c("year", S), c("month", S), c("day", S), c("hour", S)],
    },
    TableDef {
        name: "silver_events",
        layer: Layer::Silver,
        format: StorageFormat::Parquet,
        prefix: "silver/events/",
        grain: "one valid, de-duplicated, enriched event",
        columns: &[
            c("event_id", S),
            c("event_time", TS),
            c("event_type", S),
            c("user_id", S),
            c("session_id", S),
            c("product_id", S),
            c("product_name", S),
            c("category", S),
            c("category_id", S),
            c("category_code", S),
            c("brand", S),
            c("price", D),
            c("cost_price", D),
            c("discount_percentage", D),
            c("quantity", I),
            c("stock_quantity", I),
            c("seller_id", S),
            c("city", S),
            c("country", S),
            c("payment_type", S),
            c("customer_age_group", S),
            c("customer_gender", S),
            c("device_type", S),
            c("referral_source", S),
            c("campaign_id", S),
            c("rating", D),
            c("promotion_active", BOOL),
            c("search_query", S),
            c("order_id", S),
            c("final_price", D),
            c("revenue", D),
            c("profit", D),
            c("margin_pct", D),
            c("order_flag", I),
            c("conversion_eligible", I),
            c("region", S),
            c("city_tier", S),
            c("latitude", D),
            c("longitude", D),
            c("event_time_local", TS),
            c("hour_of_day", I),
            c("day_of_week", S),
            c("is_peak_hour", BOOL),
            c("is_festival_day", BOOL),
            c("source_object", S),
        ],
        partition_keys: EVENT_DATE,
    },
    TableDef {
        name: "invalid_events",
        layer: Layer::Invalid,
        format: StorageFormat::JsonLines,
        prefix: "invalid/",
        grain: "one rejected input line with every reason it failed",
        columns: &[
            c("raw_line", S),
            c("source_key", S),
            c("line_number", B),
            c("reasons", "array<string>"),
            c("run_id", S),
        ],
        partition_keys: &[c("ingest_date", S)],
    },
    TableDef {
        name: "product_metrics",
        layer: Layer::Gold,
        format: StorageFormat::Parquet,
        prefix: "gold/product_metrics/",
        grain: "top 5 products per seller by total profit",
        columns: &[
            c("product_id", S),
            c("product_name", S),
            c("category", S),
            c("total_revenue", D),
            c("total_profit", D),
            c("total_quantity", B),
            c("rank", I),
        ],
        partition_keys: SELLER,
    },
    TableDef {
        name: "order_details",
        layer: Layer::Gold,
        format: StorageFormat::Parquet,
        prefix: "gold/order_details/",
        grain: "5 latest orders per seller",
        columns: &[
            c("event_time_local", TS),
            c("user_id", S),
            c("product_id", S),
            c("product_name", S),
            c("final_price", D),
            c("quantity", I),
            c("city", S),
            c("payment_type", S),
            c("rank", I),
        ],
        partition_keys: SELLER,
    },
    TableDef {
        name: "event_counts",
        layer: Layer::Gold,
        format: StorageFormat::Parquet,
        prefix: "gold/event_counts/",
        grain: "customer actions per seller",
        columns: &[
            c("view_count", B),
            c("add_to_cart_count", B),
            c("remove_from_cart_count", B),
            c("purchase_count", B),
        ],
        partition_keys: SELLER,
    },
    TableDef {
        name: "city_sales",
        layer: Layer::Gold,
        format: StorageFormat::Parquet,
        prefix: "gold/city_sales/",
        grain: "revenue and orders per seller and city",
        columns: &[
            c("city", S),
            c("region", S),
            c("city_tier", S),
            c("latitude", D),
            c("longitude", D),
            c("total_revenue", D),
            c("total_orders", B),
        ],
        partition_keys: SELLER,
    },
    TableDef {
        name: "geo_heatmap",
        layer: Layer::Gold,
        format: StorageFormat::Parquet,
        prefix: "gold/geo_heatmap/",
        grain: "revenue and orders per city",
        columns: &[
            c("city", S),
            c("region", S),
            c("city_tier", S),
            c("latitude", D),
            c("longitude", D),
            c("total_revenue", D),
            c("total_orders", B),
        ],
        partition_keys: &[],
    },
    TableDef {
        name: "daily_metrics",
        layer: Layer::Gold,
        format: StorageFormat::Parquet,
        prefix: "gold/daily_metrics/",
        grain: "revenue, profit and orders per seller and day",
        columns: &[c("total_revenue", D), c("total_profit", D), c("total_orders", B)],
        partition_keys: &[c("seller_id", S), c("event_date", S)],
    },
    TableDef {
        name: "product_funnel",
        layer: Layer::Gold,
        format: StorageFormat::Parquet,
        prefix: "gold/product_funnel/",
        grain: "view -> cart -> purchase conversion per product",
        columns: &[
            c("product_id", S),
            c("category", S),
            c("view_count", B),
            c("add_to_cart_count", B),
            c("purchase_count", B),
            c("view_to_cart_pct", D),
            c("cart_to_purchase_pct", D),
            c("view_to_purchase_pct", D),
        ],
        partition_keys: &[],
    },
    TableDef {
        name: "hourly_revenue",
        layer: Layer::Gold,
        format: StorageFormat::Parquet,
        prefix: "gold/hourly_revenue/",
        grain: "purchases per local date and hour",
        columns: &[
            c("hour_of_day", I),
            c("total_revenue", D),
            c("purchase_count", B),
            c("total_items_sold", B),
            c("avg_order_value", D),
        ],
        partition_keys: EVENT_DATE,
    },
    TableDef {
        name: "product_popularity",
        layer: Layer::Gold,
        format: StorageFormat::Parquet,
        prefix: "gold/product_popularity/",
        grain: "views and unique viewers per product",
        columns: &[
            c("product_id", S),
            c("category", S),
            c("view_count", B),
            c("unique_viewers", B),
        ],
        partition_keys: &[],
    },
    TableDef {
        name: "category_daily_performance",
        layer: Layer::Gold,
        format: StorageFormat::Parquet,
        prefix: "gold/category_daily_performance/",
        grain: "customer actions and revenue per category and day",
        columns: &[
            c("category", S),
            c("total_events", B),
            c("page_views", B),
            c("add_to_carts", B),
            c("purchases", B),
            c("total_revenue", D),
        ],
        partition_keys: EVENT_DATE,
    },
    TableDef {
        name: "daily_user_activity",
        layer: Layer::Gold,
        format: StorageFormat::Parquet,
        prefix: "gold/daily_user_activity/",
        grain: "users, sessions and events per day",
        columns: &[
            c("unique_users", B),
            c("unique_sessions", B),
            c("total_events", B),
            c("events_per_user", D),
            c("sessions_per_user", D),
        ],
        partition_keys: EVENT_DATE,
    },
    TableDef {
        name: "unique_visitors_daily",
        layer: Layer::Gold,
        format: StorageFormat::Parquet,
        prefix: "gold/unique_visitors_daily/",
        grain: "unique and first-time visitors per day",
        columns: &[c("unique_visitors", B), c("new_visitors", B)],
        partition_keys: EVENT_DATE,
    },
    TableDef {
        name: "cart_abandonment",
        layer: Layer::Gold,
        format: StorageFormat::Parquet,
        prefix: "gold/cart_abandonment/",
        grain: "users who carted a product and did not buy it that day",
        columns: &[
            c("product_id", S),
            c("carted_users", B),
            c("purchased_users", B),
            c("abandoned_users", B),
            c("abandonment_pct", D),
        ],
        partition_keys: EVENT_DATE,
    },
    TableDef {
        name: "category_hourly",
        layer: Layer::Gold,
        format: StorageFormat::Parquet,
        prefix: "gold/category_hourly/",
        grain: "events, purchases and revenue per weekday, hour and category",
        columns: &[
            c("day_of_week", S),
            c("hour_of_day", I),
            c("category", S),
            c("events", B),
            c("purchases", B),
            c("revenue", D),
            c("rank_in_hour", I),
        ],
        partition_keys: &[],
    },
    TableDef {
        name: "brand_performance",
        layer: Layer::Gold,
        format: StorageFormat::Parquet,
        prefix: "gold/brand_performance/",
        grain: "customer actions, revenue and conversion per brand",
        columns: &[
            c("brand", S),
            c("views", B),
            c("add_to_carts", B),
            c("purchases", B),
            c("revenue", D),
            c("view_to_purchase_pct", D),
            c("needs_marketing", BOOL),
        ],
        partition_keys: &[],
    },
];

/// The gold tables only.
pub fn gold_tables() -> impl Iterator<Item = &'static TableDef> {
    TABLES.iter().filter(|t| t.layer == Layer::Gold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifteen_gold_tables_with_unique_names_and_prefixes() {
        assert_eq!(gold_tables().count(), 15);
        let mut names: Vec<_> = TABLES.iter().map(|t| t.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), TABLES.len());
        for t in TABLES {
            assert!(t.prefix.ends_with('/'), "{}", t.name);
            for col in t.partition_keys {
                assert!(
                    !t.columns.iter().any(|c| c.name == col.name),
                    "{} repeats partition key {}",
                    t.name,
                    col.name
                );
            }
        }
    }
}
