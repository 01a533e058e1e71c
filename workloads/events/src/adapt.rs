//! Source adapters: each source format's records onto the canonical event.
//!
//! An adapter maps field names, casts values and applies the rules that need
//! the source's meaning (REES46's `cart`, UK retail's cancellations). Every
//! problem found is returned together (silver.md: "ALL failed reasons"); a
//! value that cannot be cast is a failure of its field's rule, never a silent
//! zero (the originals defaulted rating to 1.0 and prices to 0.0).

use std::borrow::Cow;

use chrono_tz::Tz;

use crate::event::{Event, EventType};
use crate::id::event_id;
use crate::reason::Reason;
use crate::record::{JsonLine, Raw, Record};
use crate::time;

/// The source formats of spec/events.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    Flashcommerce,
    Capstone,
    Rees46,
    UkRetail,
}

impl SourceFormat {
    pub fn parse(s: &str) -> Option<SourceFormat> {
        Some(match s {
            "flashcommerce" => SourceFormat::Flashcommerce,
            "capstone" => SourceFormat::Capstone,
            "rees46" => SourceFormat::Rees46,
            "uk-retail" => SourceFormat::UkRetail,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Flashcommerce => "flashcommerce",
            SourceFormat::Capstone => "capstone",
            SourceFormat::Rees46 => "rees46",
            SourceFormat::UkRetail => "uk-retail",
        }
    }

    /// The zone of the source's times when they carry no offset: UK retail
    /// invoices are UK wall-clock times; the others are UTC.
    pub fn source_zone(self) -> Tz {
        match self {
            SourceFormat::UkRetail => chrono_tz::Europe::London,
            _ => chrono_tz::UTC,
        }
    }

    /// The raw fields naming the user, first present wins.
    pub fn user_fields(self) -> &'static [&'static str] {
        match self {
            SourceFormat::UkRetail => &["CustomerID"],
            _ => &["user_id"],
        }
    }

    /// The raw fields carrying the event time, first parseable wins.
    pub fn time_fields(self) -> &'static [&'static str] {
        match self {
            SourceFormat::UkRetail => &["InvoiceDate"],
            SourceFormat::Capstone => &["timestamp", "event_time"],
            _ => &["event_time"],
        }
    }

    /// The event time of a raw record (microseconds since the epoch, UTC),
    /// read the cheap way real-time consumers need: no full adaptation.
    pub fn event_time_micros<R: Record + ?Sized>(self, record: &R) -> Option<i64> {
        let zone = self.source_zone();
        self.time_fields().iter().find_map(|k| match record.field(k)? {
            Raw::Str(s) => time::parse_in_zone(s, zone),
            _ => None,
        })
    }
}

/// Maps records of one source format.
#[derive(Clone, Copy, Debug)]
pub struct Adapter {
    pub format: SourceFormat,
}

impl Adapter {
    pub fn new(format: SourceFormat) -> Adapter {
        Adapter { format }
    }

    /// One JSON line. A line that is not a JSON object is `malformed_json`.
    pub fn adapt_line(&self, line: &str) -> Result<Event, Vec<Reason>> {
        match JsonLine::parse(line) {
            Some(record) => self.adapt(&record),
            None => Err(vec![Reason::MalformedJson]),
        }
    }

    /// One record (a JSON object, or a CSV row read as one).
    pub fn adapt<R: Record + ?Sized>(&self, r: &R) -> Result<Event, Vec<Reason>> {
        let (e, reasons) = self.adapt_partial(r);
        if reasons.is_empty() { Ok(e) } else { Err(reasons) }
    }

    /// One record mapped as far as it goes, with every reason found so far
    /// (sorted, no repeats). Silver's value rules run on the partial event
    /// too, so that a record reports all its reasons, not only the adapter's.
    /// The event id is derived only when there is no reason.
    pub fn adapt_partial<R: Record + ?Sized>(&self, r: &R) -> (Event, Vec<Reason>) {
        let (e, reasons) = self.adapt_borrowed(r);
        (e.into_owned(), reasons)
    }

    /// [`Adapter::adapt_partial`] with the event's text lent by the record
    /// where it can be (a trimmed string field is a slice of the record's);
    /// only numbers read as text and rewritten values are owned.
    pub fn adapt_borrowed<'r, R: Record + ?Sized>(&self, r: &'r R) -> (Event<Cow<'r, str>>, Vec<Reason>) {
        let mut reasons = Vec::new();
        let mut e = Event::<Cow<'r, str>>::default();
        let zone = self.format.source_zone();
        let f = Fields { r };
        match self.format {
            SourceFormat::Flashcommerce | SourceFormat::Capstone => {
                let time_key = if self.format == SourceFormat::Capstone && f.text("event_time").is_none() {
                    "timestamp"
                } else {
                    "event_time"
                };
                e.event_time = f.time(time_key, zone, &mut reasons);
                e.event_type = f.event_type("event_type", &mut reasons);
                e.user_id = f.required_text("user_id", Reason::MissingUserId, &mut reasons);
                e.session_id = f.text("session_id");
                e.product_id = f.text("product_id");
                e.product_name = f.text("product_name");
                e.category = f.text("category");
                e.category_id = f.text("category_id");
                e.category_code = f.text("category_code");
                e.brand = f.text("brand");
                e.price = f.number("price", Reason::NonPositivePrice, &mut reasons);
                e.cost_price = f.number("cost_price", Reason::BadCostPrice, &mut reasons);
                e.discount_percentage = f.number("discount_percentage", Reason::BadDiscount, &mut reasons);
                e.quantity = f.integer("quantity", Reason::BadQuantity, &mut reasons);
                e.stock_quantity = f.integer("stock_quantity", Reason::BadStock, &mut reasons);
                e.seller_id = f.text("seller_id");
                e.city = f.text("city");
                e.country = f.text("country");
                e.payment_type = f.text("payment_type");
                e.customer_age_group = f.text("customer_age_group");
                e.customer_gender = f.text("customer_gender");
                e.device_type = f.text("device_type");
                e.referral_source = f.text("referral_source");
                e.campaign_id = f.text("campaign_id");
                e.rating = f.number("rating", Reason::BadRating, &mut reasons);
                e.promotion_active = f.boolean("promotion_active");
                e.search_query = f.text("search_query");
                e.order_id = f.text("order_id");
                e.event_id = f.text("event_id").unwrap_or_default();
            }
            SourceFormat::Rees46 => {
                e.event_time = f.time("event_time", zone, &mut reasons);
                e.event_type = f.event_type("event_type", &mut reasons);
                e.user_id = f.required_text("user_id", Reason::MissingUserId, &mut reasons);
                e.session_id = f.text("user_session");
                e.product_id = f.text("product_id");
                e.category_id = f.text("category_id");
                e.category_code = f.text("category_code");
                e.category = e.category_code.as_ref().map(|c| match c {
                    Cow::Borrowed(c) => Cow::Borrowed(c.split('.').next().unwrap_or(c)),
                    Cow::Owned(c) => Cow::Owned(c.split('.').next().unwrap_or(c).to_string()),
                });
                e.brand = f.text("brand");
                e.price = f.number("price", Reason::NonPositivePrice, &mut reasons);
                e.quantity = f.integer("quantity", Reason::BadQuantity, &mut reasons);
                if e.event_type == Some(EventType::Purchase) && e.quantity.is_none() {
                    e.quantity = Some(1);
                }
            }
            SourceFormat::UkRetail => {
                let invoice = f.text("InvoiceNo");
                if invoice.as_deref().is_some_and(|i| i.starts_with(['C', 'c'])) {
                    reasons.push(Reason::Cancellation);
                }
                e.order_id = invoice;
                e.event_type = Some(EventType::Purchase);
                e.event_time = f.time("InvoiceDate", zone, &mut reasons);
                e.product_id = f.text("StockCode");
                e.product_name = f.text("Description");
                e.quantity = f.integer("Quantity", Reason::BadQuantity, &mut reasons);
                e.price = f.number("UnitPrice", Reason::NonPositivePrice, &mut reasons);
                // CustomerID is `NA` when unknown, and a float in some exports.
                e.user_id = match f.text("CustomerID").filter(|c| !c.eq_ignore_ascii_case("na")) {
                    Some(Cow::Borrowed(c)) => Cow::Borrowed(c.strip_suffix(".0").unwrap_or(c)),
                    Some(Cow::Owned(c)) => Cow::Owned(c.strip_suffix(".0").unwrap_or(&c).to_string()),
                    None => {
                        reasons.push(Reason::MissingUserId);
                        Cow::Borrowed("")
                    }
                };
                e.country = f.text("Country");
            }
        }
        if !reasons.is_empty() {
            reasons.sort();
            reasons.dedup();
            return (e, reasons);
        }
        if e.event_id.is_empty() {
            e.event_id = Cow::Owned(event_id(&e));
        }
        (e, reasons)
    }
}

/// `s.trim()`, without walking the characters at either end when both end
/// bytes are visible ASCII (nearly every value: `str::trim` decodes each end
/// to test Unicode's whitespace, and that was 2% of the ETL's instructions).
pub(crate) fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

struct Fields<'a, R: ?Sized> {
    r: &'a R,
}

impl<'a, R: Record + ?Sized> Fields<'a, R> {
    /// Trimmed text; empty strings and nulls are absent; numbers become text.
    fn text(&self, key: &str) -> Option<Cow<'a, str>> {
        match self.r.field(key)? {
            Raw::Str(s) => {
                let t = trim(s);
                (!t.is_empty()).then_some(Cow::Borrowed(t))
            }
            Raw::Num(n) => Some(Cow::Owned(n.to_string())),
            Raw::Bool(b) => Some(Cow::Owned(b.to_string())),
            Raw::Null | Raw::Nested => None,
        }
    }

    fn required_text(&self, key: &str, reason: Reason, reasons: &mut Vec<Reason>) -> Cow<'a, str> {
        self.text(key).unwrap_or_else(|| {
            reasons.push(reason);
            Cow::Borrowed("")
        })
    }

    fn time(&self, key: &str, zone: Tz, reasons: &mut Vec<Reason>) -> i64 {
        let text = match self.r.field(key) {
            Some(Raw::Str(s)) => Some(Cow::Borrowed(trim(s))).filter(|s| !s.is_empty()),
            Some(Raw::Num(n)) => Some(Cow::Owned(n.to_string())),
            Some(Raw::Bool(b)) => Some(Cow::Owned(b.to_string())),
            _ => None,
        };
        match text {
            None => {
                reasons.push(Reason::MissingEventTime);
                0
            }
            Some(s) => time::parse_in_zone(&s, zone).unwrap_or_else(|| {
                reasons.push(Reason::BadEventTime);
                0
            }),
        }
    }

    fn event_type(&self, key: &str, reasons: &mut Vec<Reason>) -> Option<EventType> {
        let t = match self.r.field(key) {
            Some(Raw::Str(s)) => EventType::parse(trim(s)),
            _ => None,
        };
        if t.is_none() {
            reasons.push(Reason::UnknownEventType);
        }
        t
    }

    fn number(&self, key: &str, reason: Reason, reasons: &mut Vec<Reason>) -> Option<f64> {
        let v = match self.r.field(key)? {
            Raw::Num(n) => n.as_f64(),
            Raw::Str(s) if trim(s).is_empty() => return None,
            Raw::Str(s) => trim(s).parse::<f64>().ok(),
            Raw::Null => return None,
            Raw::Bool(_) | Raw::Nested => None,
        };
        match v.filter(|x| x.is_finite()) {
            Some(x) => Some(x),
            None => {
                reasons.push(reason);
                None
            }
        }
    }

    fn integer(&self, key: &str, reason: Reason, reasons: &mut Vec<Reason>) -> Option<i64> {
        let x = self.number(key, reason, reasons)?;
        if x.fract() == 0.0 && x.abs() < 9.0e15 {
            Some(x as i64)
        } else {
            reasons.push(reason);
            None
        }
    }

    fn boolean(&self, key: &str) -> Option<bool> {
        match self.r.field(key)? {
            Raw::Bool(b) => Some(b),
            Raw::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Some(true),
                "false" | "0" | "no" => Some(false),
                _ => None,
            },
            Raw::Num(n) => n.as_i64().map(|i| i != 0),
            Raw::Null | Raw::Nested => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value, json};

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    proptest::proptest! {
        /// The shortcut trims exactly as `str::trim` does, Unicode's
        /// whitespace (a no-break space, an ideographic space) included.
        #[test]
        fn trim_is_str_trim(s in "[ \t\na-zA-Z0-9.\u{a0}\u{3000}\u{85}é]{0,12}") {
            proptest::prop_assert_eq!(trim(&s), s.trim());
        }
    }

    #[test]
    fn flashcommerce_maps_names_and_casts() {
        let a = Adapter::new(SourceFormat::Flashcommerce);
        let e = a
            .adapt(&obj(json!({
                "event_time": "2025-10-23T18:04:05+05:30", "event_type": "purchase", "user_id": "U0001",
                "session_id": "S10000", "product_id": "P001", "price": "1999.00", "quantity": 2,
                "rating": 4.5, "promotion_active": "true", "city": " Bengaluru ", "seller_id": "S003",
            })))
            .unwrap();
        assert_eq!(e.event_type, Some(EventType::Purchase));
        assert_eq!(e.price, Some(1999.0));
        assert_eq!(e.quantity, Some(2));
        assert_eq!(e.promotion_active, Some(true));
        assert_eq!(
            e.city.as_deref(),
            Some("Bengaluru"),
            "trimmed; aliasing is silver's job"
        );
        assert_eq!(e.event_time, time::parse_utc("2025-10-23T12:34:05Z").unwrap());
        assert!(e.event_id.starts_with("e-"));
    }

    #[test]
    fn every_failure_is_reported_and_nothing_defaults_to_zero() {
        let a = Adapter::new(SourceFormat::Flashcommerce);
        let err = a
            .adapt(&obj(json!({
                "event_time": "not a time", "event_type": "teleport", "price": "abc",
                "rating": "five", "quantity": 1.5, "discount_percentage": "x", "stock_quantity": "many",
                "cost_price": [1],
            })))
            .unwrap_err();
        assert_eq!(
            err,
            vec![
                Reason::BadEventTime,
                Reason::UnknownEventType,
                Reason::MissingUserId,
                Reason::NonPositivePrice,
                Reason::BadCostPrice,
                Reason::BadQuantity,
                Reason::BadStock,
                Reason::BadRating,
                Reason::BadDiscount,
            ]
        );
        assert_eq!(
            a.adapt(&obj(json!({"event_type": "view", "user_id": "u"})))
                .unwrap_err(),
            vec![Reason::MissingEventTime]
        );
        assert_eq!(a.adapt_line("[1, 2]").unwrap_err(), vec![Reason::MalformedJson]);
        assert_eq!(a.adapt_line("{\"user_id\": ").unwrap_err(), vec![Reason::MalformedJson]);
    }

    #[test]
    fn capstone_timestamp_and_page_view() {
        let a = Adapter::new(SourceFormat::Capstone);
        let e = a
            .adapt(&obj(
                json!({"timestamp": "2024-01-02T03:04:05Z", "event_type": "page_view", "user_id": "u_10001",
                "search_query": "red shoes", "product_id": "p_1001", "category": "electronics"}),
            ))
            .unwrap();
        assert_eq!(e.event_type, Some(EventType::View));
        assert_eq!(e.search_query.as_deref(), Some("red shoes"));
    }

    #[test]
    fn rees46_category_session_and_purchase_quantity() {
        let a = Adapter::new(SourceFormat::Rees46);
        let e = a
            .adapt(&obj(
                json!({"event_time": "2019-10-01 00:00:00 UTC", "event_type": "purchase", "product_id": "1",
                "category_id": "2053013555631882655", "category_code": "electronics.smartphone", "brand": "apple",
                "price": "489.07", "user_id": "5", "user_session": "abc"}),
            ))
            .unwrap();
        assert_eq!(e.category.as_deref(), Some("electronics"));
        assert_eq!(e.session_id.as_deref(), Some("abc"));
        assert_eq!(e.quantity, Some(1));
        let cart = a
            .adapt(&obj(json!({"event_time": "2019-10-01 00:00:00 UTC", "event_type": "cart", "user_id": "5", "category_code": ""})))
            .unwrap();
        assert_eq!(cart.event_type, Some(EventType::AddToCart));
        assert_eq!(cart.category, None);
    }

    #[test]
    fn uk_retail_cancellations_and_missing_customers() {
        let a = Adapter::new(SourceFormat::UkRetail);
        let ok = a
            .adapt(&obj(json!({"InvoiceNo": "557055", "StockCode": "23203", "Description": "JUMBO BAG", "Quantity": "20",
                "InvoiceDate": "2011-06-16 14:45:00", "UnitPrice": "2.08", "CustomerID": "12621", "Country": "Germany"})))
            .unwrap();
        assert_eq!(ok.event_type, Some(EventType::Purchase));
        assert_eq!(ok.order_id.as_deref(), Some("557055"));
        assert_eq!(
            ok.event_time,
            time::parse_utc("2011-06-16T13:45:00Z").unwrap(),
            "BST in June"
        );
        let err = a
            .adapt(&obj(
                json!({"InvoiceNo": "C546306", "StockCode": "1", "Quantity": "-2", "InvoiceDate": "2011-03-10 16:16:00",
                "UnitPrice": "2.95", "CustomerID": "NA", "Country": "United Kingdom"}),
            ))
            .unwrap_err();
        assert_eq!(err, vec![Reason::MissingUserId, Reason::Cancellation]);
    }
}
