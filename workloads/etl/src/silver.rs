//! Silver's rules for one line (spec/silver.md, steps 1-3 and 5): parse with
//! the source adapter, normalise, validate with every reason, enrich.
//! De-duplication (step 4) needs all rows and lives in [`crate::run`].
//!
//! This is plain Rust over one record rather than polars expressions: the
//! rules are per record, need the adapters of `pipegen-events` (shared with
//! the ingest Lambda), and must report every reason; polars takes over for
//! what needs many rows (de-duplication, partitions, gold).

use std::borrow::Cow;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use pipegen_events::{Adapter, Event, EventType, JsonLine, Raw, Reason, Record};

use crate::settings::Settings;

/// A record more than this after its ingest time is `future_event_time`.
const FUTURE_MARGIN_MICROS: i64 = 24 * 3_600 * 1_000_000;

pub const PAYMENT_TYPES: &[&str] = &["UPI", "Credit Card", "Debit Card", "Net Banking", "Cash on Delivery"];
pub const AGE_GROUPS: &[&str] = &["18-24", "25-34", "35-44", "45-54", "55+"];
pub const GENDERS: &[&str] = &["female", "male", "other"];
pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// One valid, normalised and enriched event. Its text is lent by the line
/// it was read from and by the settings (city names, regions) where it can
/// be: the ETL turns each row into columns at once and never keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct SilverRow<'a> {
    pub event: Event<Cow<'a, str>>,
    pub final_price: Option<f64>,
    pub revenue: f64,
    pub profit: Option<f64>,
    pub margin_pct: Option<f64>,
    pub order_flag: i32,
    pub conversion_eligible: i32,
    pub region: Option<Cow<'a, str>>,
    pub city_tier: Option<Cow<'a, str>>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// Wall-clock time in the reporting zone, microseconds (no offset).
    pub event_time_local: i64,
    pub event_date: NaiveDate,
    pub hour_of_day: i32,
    pub day_of_week: &'static str,
    pub is_peak_hour: bool,
    pub is_festival_day: bool,
}

impl SilverRow<'_> {
    /// The row with its text copied out of the line and the settings.
    pub fn into_owned(self) -> SilverRow<'static> {
        let own = |s: Option<Cow<'_, str>>| s.map(|s| Cow::Owned(s.into_owned()));
        let e = self.event.into_owned();
        SilverRow {
            event: Event {
                event_id: Cow::Owned(e.event_id),
                event_time: e.event_time,
                event_type: e.event_type,
                user_id: Cow::Owned(e.user_id),
                session_id: e.session_id.map(Cow::Owned),
                product_id: e.product_id.map(Cow::Owned),
                product_name: e.product_name.map(Cow::Owned),
                category: e.category.map(Cow::Owned),
                category_id: e.category_id.map(Cow::Owned),
                category_code: e.category_code.map(Cow::Owned),
                brand: e.brand.map(Cow::Owned),
                price: e.price,
                cost_price: e.cost_price,
                discount_percentage: e.discount_percentage,
                quantity: e.quantity,
                stock_quantity: e.stock_quantity,
                seller_id: e.seller_id.map(Cow::Owned),
                city: e.city.map(Cow::Owned),
                country: e.country.map(Cow::Owned),
                payment_type: e.payment_type.map(Cow::Owned),
                customer_age_group: e.customer_age_group.map(Cow::Owned),
                customer_gender: e.customer_gender.map(Cow::Owned),
                device_type: e.device_type.map(Cow::Owned),
                referral_source: e.referral_source.map(Cow::Owned),
                campaign_id: e.campaign_id.map(Cow::Owned),
                rating: e.rating,
                promotion_active: e.promotion_active,
                search_query: e.search_query.map(Cow::Owned),
                order_id: e.order_id.map(Cow::Owned),
            },
            region: own(self.region),
            city_tier: own(self.city_tier),
            ..self
        }
    }
}

/// Applies silver's rules to one bronze line (the row owns its text; the
/// ETL's own loop lends it instead, with [`clean_record`]).
pub fn clean_line(
    settings: &Settings,
    line: &str,
    fallback_ingest_micros: i64,
) -> Result<SilverRow<'static>, Vec<Reason>> {
    let Some(record) = JsonLine::parse(line) else {
        return Err(vec![Reason::MalformedJson]);
    };
    clean_record(settings, &record, fallback_ingest_micros).map(SilverRow::into_owned)
}

/// Applies silver's rules to one parsed bronze record. `fallback_ingest_micros`
/// is when the batch was ingested (the reference of `future_event_time`),
/// used when ingest stamped no `_arrival_time` on the record.
pub fn clean_record<'r>(
    settings: &'r Settings,
    record: &'r JsonLine<'_>,
    fallback_ingest_micros: i64,
) -> Result<SilverRow<'r>, Vec<Reason>> {
    let ingest = match record.field("_arrival_time") {
        Some(Raw::Str(s)) => pipegen_events::time::parse_utc(s),
        _ => None,
    }
    .unwrap_or(fallback_ingest_micros);
    let (event, reasons) = Adapter::new(settings.format).adapt_borrowed(record);
    clean_event(settings, event, reasons, ingest)
}

/// Steps 2, 3 and 5 on an adapted event and the adapter's reasons.
pub fn clean_event<'r>(
    settings: &'r Settings,
    mut e: Event<Cow<'r, str>>,
    mut reasons: Vec<Reason>,
    ingest_micros: i64,
) -> Result<SilverRow<'r>, Vec<Reason>> {
    // 2. Normalise. City aliases resolve before the city check.
    let city: Option<Result<&'r crate::cities::City, ()>> =
        e.city.as_deref().map(|c| settings.cities.lookup(c).ok_or(()));
    if let Some(Ok(c)) = city {
        e.city = Some(Cow::Borrowed(&c.name));
    }
    e.product_name = Some(match (e.product_name.take(), &e.category) {
        (Some(n), _) => lower_case(n),
        (None, Some(c)) => Cow::Owned(format!("unknown {}", c.to_lowercase())),
        (None, None) => Cow::Borrowed("unknown"),
    });
    let purchase = e.event_type == Some(EventType::Purchase);
    if !purchase {
        e.payment_type = Some(Cow::Borrowed("other"));
    }

    // 3. Validate: every reason, not only the first.
    if !reasons.contains(&Reason::MissingEventTime)
        && !reasons.contains(&Reason::BadEventTime)
        && e.event_time > ingest_micros.saturating_add(FUTURE_MARGIN_MICROS)
    {
        reasons.push(Reason::FutureEventTime);
    }
    let priced = matches!(
        e.event_type,
        Some(EventType::Purchase | EventType::AddToCart | EventType::RemoveFromCart)
    );
    match e.price {
        Some(p) if p <= 0.0 => reasons.push(Reason::NonPositivePrice),
        None if priced => reasons.push(Reason::NonPositivePrice),
        _ => {}
    }
    if e.cost_price.is_some_and(|c| c <= 0.0) {
        reasons.push(Reason::BadCostPrice);
    }
    match e.quantity {
        Some(q) if q < 0 => reasons.push(Reason::BadQuantity),
        Some(q) if purchase && q < 1 => reasons.push(Reason::BadQuantity),
        None if purchase => reasons.push(Reason::BadQuantity),
        _ => {}
    }
    if e.stock_quantity.is_some_and(|s| s < 0) {
        reasons.push(Reason::BadStock);
    }
    if e.rating.is_some_and(|r| !(1.0..=5.0).contains(&r)) {
        reasons.push(Reason::BadRating);
    }
    if e.discount_percentage.is_some_and(|d| !(0.0..=100.0).contains(&d)) {
        reasons.push(Reason::BadDiscount);
    }
    if matches!(city, Some(Err(()))) {
        reasons.push(Reason::UnknownCity);
    }
    if purchase && let Some(p) = &e.payment_type {
        match PAYMENT_TYPES.iter().find(|t| t.eq_ignore_ascii_case(p)) {
            Some(t) => e.payment_type = Some(Cow::Borrowed(t)),
            None => reasons.push(Reason::BadPaymentType),
        }
    }
    if let Some(a) = &e.customer_age_group
        && !AGE_GROUPS.contains(&a.as_ref())
    {
        reasons.push(Reason::BadAgeGroup);
    }
    if let Some(g) = &e.customer_gender {
        match GENDERS.iter().find(|x| x.eq_ignore_ascii_case(g)) {
            Some(x) => e.customer_gender = Some(Cow::Borrowed(x)),
            None => reasons.push(Reason::BadGender),
        }
    }
    if !reasons.is_empty() {
        reasons.sort();
        reasons.dedup();
        return Err(reasons);
    }
    if e.event_id.is_empty() {
        e.event_id = Cow::Owned(pipegen_events::id::event_id(&e));
    }

    // 5. Enrich.
    let final_price = e
        .price
        .map(|p| p * (1.0 - e.discount_percentage.unwrap_or(0.0) / 100.0));
    let quantity = e.quantity.unwrap_or(0) as f64;
    let revenue = match (purchase, final_price) {
        (true, Some(f)) => f * quantity,
        _ => 0.0,
    };
    let (profit, margin_pct) = match (purchase, final_price, e.cost_price) {
        (true, Some(f), Some(c)) => (Some((f - c) * quantity), (c > 0.0).then(|| (f - c) / c * 100.0)),
        _ => (None, None),
    };
    let reference = match city {
        Some(Ok(c)) => Some(c),
        _ => None,
    };
    let utc = chrono::DateTime::from_timestamp_micros(e.event_time).unwrap_or_default();
    let local: NaiveDateTime = settings.zone.from_utc_datetime(&utc.naive_utc()).naive_local();
    let event_date = local.date();
    let hour = local.hour();
    Ok(SilverRow {
        final_price,
        revenue,
        profit,
        margin_pct,
        order_flag: purchase as i32,
        conversion_eligible: (e.event_type == Some(EventType::View)) as i32,
        region: reference.map(|c| Cow::Borrowed(c.region.as_str())),
        city_tier: reference.map(|c| Cow::Borrowed(c.tier.as_str())),
        latitude: reference.map(|c| c.latitude),
        longitude: reference.map(|c| c.longitude),
        event_time_local: local.and_utc().timestamp_micros(),
        event_date,
        hour_of_day: hour as i32,
        day_of_week: WEEKDAYS[local.weekday().num_days_from_monday() as usize],
        is_peak_hour: settings.peak_hours.contains(hour),
        is_festival_day: settings.festival_dates.contains(&event_date),
        event: e,
    })
}

/// `s` in lower case, lent back unchanged when it already is (most product
/// names are; only those with capitals pay for a copy).
fn lower_case(s: Cow<'_, str>) -> Cow<'_, str> {
    if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_uppercase()) {
        s
    } else {
        Cow::Owned(s.to_lowercase())
    }
}
