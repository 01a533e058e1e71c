//! Silver rows into polars frames with exactly the columns and types of the
//! `silver_events` table in `pipegen_events::lake` (what the Glue catalog
//! declares), plus the `event_date` partition column.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use polars::prelude::*;

use crate::silver::SilverRow;

pub const EVENT_DATE: &str = "event_date";

/// A text column being built: values are copied into the column as each row
/// is pushed, while the row is still in cache.
struct Text(StringChunkedBuilder);

impl Text {
    fn new(name: &str, rows: usize) -> Text {
        Text(StringChunkedBuilder::new(name.into(), rows))
    }
    fn push(&mut self, v: Option<&str>) {
        self.0.append_option(v);
    }
    fn finish(self) -> PolarsResult<Column> {
        Ok(self.0.finish().into_column())
    }
}

/// A column of plain values (`Vec<T>` becomes a polars column as is).
struct Values<T>(Vec<T>, PlSmallStr);

impl<T> Values<T> {
    fn new(name: &str, rows: usize) -> Values<T> {
        Values(Vec::with_capacity(rows), name.into())
    }
    fn push(&mut self, v: T) {
        self.0.push(v);
    }
}

type Float = Values<Option<f64>>;
type Int = Values<Option<i32>>;
type Bool = Values<Option<bool>>;

impl Float {
    fn finish(self) -> PolarsResult<Column> {
        Ok(Column::new(self.1, self.0))
    }
}
impl Int {
    fn finish(self) -> PolarsResult<Column> {
        Ok(Column::new(self.1, self.0))
    }
}
impl Bool {
    fn finish(self) -> PolarsResult<Column> {
        Ok(Column::new(self.1, self.0))
    }
}

/// Microseconds since the epoch, as a `Datetime` column without a zone.
struct Micros(Values<i64>);

impl Micros {
    fn new(name: &str, rows: usize) -> Micros {
        Micros(Values::new(name, rows))
    }
    fn push(&mut self, v: i64) {
        self.0.push(v);
    }
    fn finish(self) -> PolarsResult<Column> {
        Column::new(self.0.1, self.0.0).cast(&DataType::Datetime(TimeUnit::Microseconds, None))
    }
}

/// Declares the column builders of a batch once: their names (the column
/// names), kinds, and how each is read from a row, in the table's order.
macro_rules! silver_columns {
    ($row:ident; $($name:ident: $kind:ident = $value:expr,)*) => {
        struct Columns {
            $($name: $kind,)*
        }

        impl Columns {
            fn new(rows: usize) -> Columns {
                Columns { $($name: $kind::new(stringify!($name), rows),)* }
            }

            fn push(&mut self, $row: &SilverRow<'_>) {
                $(self.$name.push($value);)*
            }

            fn finish(self) -> PolarsResult<Vec<Column>> {
                Ok(vec![$(self.$name.finish()?,)*])
            }
        }
    };
}

/// `quantity` and `stock_quantity` are `int` in the catalog.
fn clamp(q: Option<i64>) -> Option<i32> {
    q.map(|q| q.clamp(i32::MIN as i64, i32::MAX as i64) as i32)
}

silver_columns! { r;
    event_id: Text = Some(&*r.event.event_id),
    event_time: Micros = r.event.event_time,
    event_type: Text = r.event.event_type.map(|t| t.as_str()),
    user_id: Text = Some(&*r.event.user_id),
    session_id: Text = r.event.session_id.as_deref(),
    product_id: Text = r.event.product_id.as_deref(),
    product_name: Text = r.event.product_name.as_deref(),
    category: Text = r.event.category.as_deref(),
    category_id: Text = r.event.category_id.as_deref(),
    category_code: Text = r.event.category_code.as_deref(),
    brand: Text = r.event.brand.as_deref(),
    price: Float = r.event.price,
    cost_price: Float = r.event.cost_price,
    discount_percentage: Float = r.event.discount_percentage,
    quantity: Int = clamp(r.event.quantity),
    stock_quantity: Int = clamp(r.event.stock_quantity),
    seller_id: Text = r.event.seller_id.as_deref(),
    city: Text = r.event.city.as_deref(),
    country: Text = r.event.country.as_deref(),
    payment_type: Text = r.event.payment_type.as_deref(),
    customer_age_group: Text = r.event.customer_age_group.as_deref(),
    customer_gender: Text = r.event.customer_gender.as_deref(),
    device_type: Text = r.event.device_type.as_deref(),
    referral_source: Text = r.event.referral_source.as_deref(),
    campaign_id: Text = r.event.campaign_id.as_deref(),
    rating: Float = r.event.rating,
    promotion_active: Bool = r.event.promotion_active,
    search_query: Text = r.event.search_query.as_deref(),
    order_id: Text = r.event.order_id.as_deref(),
    final_price: Float = r.final_price,
    revenue: Float = Some(r.revenue),
    profit: Float = r.profit,
    margin_pct: Float = r.margin_pct,
    order_flag: Int = Some(r.order_flag),
    conversion_eligible: Int = Some(r.conversion_eligible),
    region: Text = r.region.as_deref(),
    city_tier: Text = r.city_tier.as_deref(),
    latitude: Float = r.latitude,
    longitude: Float = r.longitude,
    event_time_local: Micros = r.event_time_local,
    hour_of_day: Int = Some(r.hour_of_day),
    day_of_week: Text = Some(r.day_of_week),
    is_peak_hour: Bool = Some(r.is_peak_hour),
    is_festival_day: Bool = Some(r.is_festival_day),
}

/// The silver rows of one source object, in line order, built column by
/// column as they are pushed: a row is read once, while it is in cache, and
/// never stored (keeping ~800-byte rows and reading them back once per column
/// was a sixth of the parse).
pub struct SilverBatch {
    columns: Columns,
    rows: usize,
    /// Each row's `event_date`, as an index into `dates`: a batch spans a
    /// day or two, so each date is formatted once, not per row.
    date_of_row: Vec<u32>,
    dates: Vec<NaiveDate>,
    date_index: BTreeMap<NaiveDate, u32>,
    /// The key of the bronze object every row comes from.
    source_object: String,
}

impl Default for SilverBatch {
    fn default() -> SilverBatch {
        SilverBatch::new("", 0)
    }
}

impl SilverBatch {
    /// Room for `rows` rows up front: growing by doubling copied megabytes
    /// of columns (and faulted in fresh pages) several times per object.
    pub fn new(source_object: &str, rows: usize) -> SilverBatch {
        SilverBatch {
            columns: Columns::new(rows),
            rows: 0,
            date_of_row: Vec::with_capacity(rows),
            dates: Vec::new(),
            date_index: BTreeMap::new(),
            source_object: source_object.to_string(),
        }
    }

    pub fn push(&mut self, row: &SilverRow<'_>) {
        self.columns.push(row);
        let next = self.dates.len() as u32;
        let date = *self.date_index.entry(row.event_date).or_insert(next);
        if date == next {
            self.dates.push(row.event_date);
        }
        self.date_of_row.push(date);
        self.rows += 1;
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The batch as a frame.
    pub fn into_frame(self) -> PolarsResult<DataFrame> {
        let rows = self.rows;
        let mut columns = self.columns.finish()?;
        let dates: Vec<String> = self.dates.iter().map(NaiveDate::to_string).collect();
        columns.push(Column::new_scalar(
            "source_object".into(),
            Scalar::new(
                DataType::String,
                AnyValue::StringOwned(self.source_object.as_str().into()),
            ),
            rows,
        ));
        columns.push(Column::new(
            EVENT_DATE.into(),
            self.date_of_row
                .iter()
                .map(|d| dates[*d as usize].as_str())
                .collect::<Vec<_>>(),
        ));
        DataFrame::new(rows, columns)
    }
}

/// An empty frame with the batch's schema (for runs with nothing new).
pub fn empty_silver() -> PolarsResult<DataFrame> {
    SilverBatch::default().into_frame()
}
