//! Silver rows into polars frames with exactly the columns and types of the
//! `silver_events` table in `pipegen_events::lake` (what the Glue catalog
//! declares), plus the `event_date` partition column.

use polars::prelude::*;

use crate::silver::SilverRow;

pub const EVENT_DATE: &str = "event_date";

/// Column builder for the silver rows of one source object, in line order.
#[derive(Default)]
pub struct SilverBatch {
    rows: Vec<SilverRow>,
    /// The key of the bronze object every row comes from.
    source_object: String,
}

impl SilverBatch {
    /// Room for `rows` rows up front: growing by doubling copied megabytes
    /// of rows (and faulted in fresh pages) several times per object.
    pub fn new(source_object: &str, rows: usize) -> SilverBatch {
        SilverBatch {
            rows: Vec::with_capacity(rows),
            source_object: source_object.to_string(),
        }
    }

    pub fn push(&mut self, row: SilverRow) {
        self.rows.push(row);
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The batch as a frame (consumes the rows).
    pub fn into_frame(self) -> PolarsResult<DataFrame> {
        let rows = &self.rows;
        let text = |name: &str, f: &dyn Fn(&SilverRow) -> Option<&str>| {
            Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
        };
        let float = |name: &str, f: &dyn Fn(&SilverRow) -> Option<f64>| {
            Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
        };
        let int = |name: &str, f: &dyn Fn(&SilverRow) -> Option<i32>| {
            Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
        };
        let boolean = |name: &str, f: &dyn Fn(&SilverRow) -> Option<bool>| {
            Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
        };
        let micros = |name: &str, f: &dyn Fn(&SilverRow) -> i64| -> PolarsResult<Column> {
            Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
                .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
        };
        // A batch spans a day or two: format each date once, not per row.
        let mut dates = std::collections::BTreeMap::new();
        for r in rows {
            dates.entry(r.event_date).or_insert_with(|| r.event_date.to_string());
        }
        let clamp = |q: Option<i64>| q.map(|q| q.clamp(i32::MIN as i64, i32::MAX as i64) as i32);
        let columns = vec![
            text("event_id", &|r| Some(r.event.event_id.as_str())),
            micros("event_time", &|r| r.event.event_time)?,
            text("event_type", &|r| r.event.event_type.map(|t| t.as_str())),
            text("user_id", &|r| Some(r.event.user_id.as_str())),
            text("session_id", &|r| r.event.session_id.as_deref()),
            text("product_id", &|r| r.event.product_id.as_deref()),
            text("product_name", &|r| r.event.product_name.as_deref()),
            text("category", &|r| r.event.category.as_deref()),
            text("category_id", &|r| r.event.category_id.as_deref()),
            text("category_code", &|r| r.event.category_code.as_deref()),
            text("brand", &|r| r.event.brand.as_deref()),
            float("price", &|r| r.event.price),
            float("cost_price", &|r| r.event.cost_price),
            float("discount_percentage", &|r| r.event.discount_percentage),
            int("quantity", &|r| clamp(r.event.quantity)),
            int("stock_quantity", &|r| clamp(r.event.stock_quantity)),
            text("seller_id", &|r| r.event.seller_id.as_deref()),
            text("city", &|r| r.event.city.as_deref()),
            text("country", &|r| r.event.country.as_deref()),
            text("payment_type", &|r| r.event.payment_type.as_deref()),
            text("customer_age_group", &|r| r.event.customer_age_group.as_deref()),
            text("customer_gender", &|r| r.event.customer_gender.as_deref()),
            text("device_type", &|r| r.event.device_type.as_deref()),
            text("referral_source", &|r| r.event.referral_source.as_deref()),
            text("campaign_id", &|r| r.event.campaign_id.as_deref()),
            float("rating", &|r| r.event.rating),
            boolean("promotion_active", &|r| r.event.promotion_active),
            text("search_query", &|r| r.event.search_query.as_deref()),
            text("order_id", &|r| r.event.order_id.as_deref()),
            float("final_price", &|r| r.final_price),
            float("revenue", &|r| Some(r.revenue)),
            float("profit", &|r| r.profit),
            float("margin_pct", &|r| r.margin_pct),
            int("order_flag", &|r| Some(r.order_flag)),
            int("conversion_eligible", &|r| Some(r.conversion_eligible)),
            text("region", &|r| r.region.as_deref()),
            text("city_tier", &|r| r.city_tier.as_deref()),
            float("latitude", &|r| r.latitude),
            float("longitude", &|r| r.longitude),
            micros("event_time_local", &|r| r.event_time_local)?,
            int("hour_of_day", &|r| Some(r.hour_of_day)),
            text("day_of_week", &|r| Some(r.day_of_week)),
            boolean("is_peak_hour", &|r| Some(r.is_peak_hour)),
            boolean("is_festival_day", &|r| Some(r.is_festival_day)),
            Column::new("source_object".into(), vec![self.source_object.as_str(); rows.len()]),
            Column::new(
                EVENT_DATE.into(),
                rows.iter().map(|r| dates[&r.event_date].as_str()).collect::<Vec<_>>(),
            ),
        ];
        DataFrame::new(rows.len(), columns)
    }
}

/// An empty frame with the batch's schema (for runs with nothing new).
pub fn empty_silver() -> PolarsResult<DataFrame> {
    SilverBatch::default().into_frame()
}
