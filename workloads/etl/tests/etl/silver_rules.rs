//! spec/silver.md rule by rule, on single lines.

use pipegen_etl::settings::Settings;
use pipegen_etl::silver::{SilverRow, clean_line};
use pipegen_events::{Reason, SourceFormat, time::parse_utc};
use serde_json::{Value, json};

/// 2025-10-24T00:00:00Z: the ingest time the lines below are judged against.
fn ingest() -> i64 {
    parse_utc("2025-10-24T00:00:00Z").unwrap()
}

fn flash() -> Settings {
    Settings::new(SourceFormat::Flashcommerce)
}

/// A valid FlashCommerce purchase, with `changes` applied (null removes a field).
fn purchase(changes: Value) -> String {
    let mut v = json!({
        "event_id": "E1", "event_time": "2025-10-23T12:34:05Z", "event_type": "purchase", "user_id": "U0001",
        "session_id": "S10000", "product_id": "P001", "product_name": "Cotton Kurta", "category": "Clothing",
        "price": 1000.0, "cost_price": 700.0, "discount_percentage": 10, "quantity": 2, "stock_quantity": 50,
        "seller_id": "S001", "city": "Mumbai", "payment_type": "UPI", "customer_age_group": "25-34",
        "customer_gender": "female", "rating": 4.5
    });
    for (k, x) in changes.as_object().unwrap() {
        if x.is_null() {
            v.as_object_mut().unwrap().remove(k);
        } else {
            v[k] = x.clone();
        }
    }
    v.to_string()
}

fn ok(s: &Settings, line: &str) -> SilverRow<'static> {
    clean_line(s, line, ingest()).unwrap_or_else(|r| panic!("{line} was rejected: {r:?}"))
}

fn reasons(s: &Settings, line: &str) -> Vec<&'static str> {
    match clean_line(s, line, ingest()) {
        Ok(_) => panic!("{line} was accepted"),
        Err(r) => r.into_iter().map(Reason::as_str).collect(),
    }
}

#[test]
fn every_reason_of_the_table_on_its_own() {
    let s = flash();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"event_time": null}), "missing_event_time"),
        (json!({"event_time": "yesterday"}), "bad_event_time"),
        (json!({"event_time": "2025-10-25T00:00:01Z"}), "future_event_time"),
        (json!({"event_type": "teleport"}), "unknown_event_type"),
        (json!({"user_id": null}), "missing_user_id"),
        (json!({"user_id": "  "}), "missing_user_id"),
        (json!({"price": 0}), "non_positive_price"),
        (json!({"price": -5}), "non_positive_price"),
        (json!({"price": null}), "non_positive_price"),
        (json!({"price": "abc"}), "non_positive_price"),
        (json!({"cost_price": 0}), "bad_cost_price"),
        (json!({"quantity": -1}), "bad_quantity"),
        (json!({"quantity": 0}), "bad_quantity"),
        (json!({"quantity": null}), "bad_quantity"),
        (json!({"quantity": "two"}), "bad_quantity"),
        (json!({"stock_quantity": -3}), "bad_stock"),
        (json!({"rating": 5.5}), "bad_rating"),
        (json!({"rating": 0.5}), "bad_rating"),
        (json!({"rating": "five"}), "bad_rating"),
        (json!({"discount_percentage": 101}), "bad_discount"),
        (json!({"discount_percentage": -1}), "bad_discount"),
        (json!({"city": "Gotham"}), "unknown_city"),
        (json!({"city": "Gurgaon"}), "unknown_city"),
        (json!({"payment_type": "Bitcoin"}), "bad_payment_type"),
        (json!({"customer_age_group": "12-17"}), "bad_age_group"),
        (json!({"customer_gender": "robot"}), "bad_gender"),
    ];
    for (change, reason) in cases {
        assert_eq!(reasons(&s, &purchase(change.clone())), vec![reason], "{change}");
    }
    assert_eq!(reasons(&s, "{\"event_type\": \"view\""), vec!["malformed_json"]);
    assert_eq!(reasons(&s, "[1, 2, 3]"), vec!["malformed_json"]);
    assert_eq!(reasons(&s, "\"just text\""), vec!["malformed_json"]);
}

#[test]
fn a_record_reports_all_its_reasons_adapter_and_value_rules_together() {
    let s = flash();
    let line = purchase(json!({
        "event_time": "not a time", "user_id": null, "price": -1, "rating": 9, "city": "Gotham",
        "payment_type": "Bitcoin", "customer_gender": "robot", "cost_price": -2, "stock_quantity": -1,
    }));
    assert_eq!(
        reasons(&s, &line),
        vec![
            "bad_event_time",
            "missing_user_id",
            "non_positive_price",
            "bad_cost_price",
            "bad_stock",
            "bad_rating",
            "unknown_city",
            "bad_payment_type",
            "bad_gender"
        ]
    );
}

#[test]
fn city_aliases_resolve_before_the_city_check() {
    let s = flash();
    let row = ok(&s, &purchase(json!({"city": " Bengaluru "})));
    assert_eq!(row.event.city.as_deref(), Some("Bangalore"));
    assert_eq!(row.region.as_deref(), Some("South"));
    assert_eq!(row.city_tier.as_deref(), Some("Tier 1"));
    assert_eq!((row.latitude, row.longitude), (Some(12.9716), Some(77.5946)));
    for (alias, city) in [("Bombay", "Mumbai"), ("Calcutta", "Kolkata"), ("Madras", "Chennai")] {
        assert_eq!(
            ok(&s, &purchase(json!({"city": alias}))).event.city.as_deref(),
            Some(city)
        );
    }
    let no_city = ok(&s, &purchase(json!({"city": null})));
    assert_eq!(
        (no_city.region, no_city.latitude),
        (None, None),
        "null, never the string NULL"
    );
}

#[test]
fn the_future_margin_is_24_hours_after_ingest() {
    let s = flash();
    assert!(clean_line(&s, &purchase(json!({"event_time": "2025-10-24T23:59:59Z"})), ingest()).is_ok());
    assert!(clean_line(&s, &purchase(json!({"event_time": "2025-10-25T00:00:00Z"})), ingest()).is_ok());
    assert_eq!(
        reasons(&s, &purchase(json!({"event_time": "2025-10-25T00:00:00.000001Z"}))),
        vec!["future_event_time"]
    );
    // A record stamped by ingest is judged against its own arrival time.
    let stamped = purchase(json!({"event_time": "2025-10-30T00:00:00Z", "_arrival_time": "2025-10-29T12:00:00Z"}));
    assert!(clean_line(&s, &stamped, ingest()).is_ok());
}

#[test]
fn enrichment_formulas() {
    let s = flash();
    let row = ok(&s, &purchase(json!({})));
    assert_eq!(row.final_price, Some(900.0));
    assert_eq!(row.revenue, 1800.0);
    assert_eq!(row.profit, Some(400.0));
    assert!((row.margin_pct.unwrap() - 28.571428).abs() < 1e-5);
    assert_eq!((row.order_flag, row.conversion_eligible), (1, 0));
    assert_eq!(row.event.product_name.as_deref(), Some("cotton kurta"));
    assert_eq!(row.event.payment_type.as_deref(), Some("UPI"));
    // No discount: final price is the price. No cost: no profit, no margin.
    let plain = ok(&s, &purchase(json!({"discount_percentage": null, "cost_price": null})));
    assert_eq!((plain.final_price, plain.revenue), (Some(1000.0), 2000.0));
    assert_eq!((plain.profit, plain.margin_pct), (None, None));
    // A view: no revenue, conversion-eligible, payment type `other`.
    let view = ok(
        &s,
        &purchase(json!({"event_type": "page_view", "quantity": 0, "payment_type": "UPI", "product_name": null})),
    );
    assert_eq!(
        (view.revenue, view.profit, view.order_flag, view.conversion_eligible),
        (0.0, None, 0, 1)
    );
    assert_eq!(view.event.payment_type.as_deref(), Some("other"));
    assert_eq!(view.event.product_name.as_deref(), Some("unknown clothing"));
    let bare = ok(
        &s,
        &purchase(json!({"event_type": "search", "product_name": null, "category": null, "price": null})),
    );
    assert_eq!(bare.event.product_name.as_deref(), Some("unknown"));
}

#[test]
fn local_time_columns_follow_the_zone_with_dst() {
    let s = flash(); // Asia/Kolkata, +05:30
    let row = ok(&s, &purchase(json!({"event_time": "2025-10-23T12:34:05Z"})));
    assert_eq!(row.event_date.to_string(), "2025-10-23");
    assert_eq!((row.hour_of_day, row.day_of_week), (18, "Thu"));
    assert!(row.is_peak_hour && row.is_festival_day);
    let late = ok(&s, &purchase(json!({"event_time": "2025-10-23T19:00:00Z"})));
    assert_eq!(
        (late.event_date.to_string().as_str(), late.hour_of_day),
        ("2025-10-24", 0)
    );
    assert!(!late.is_festival_day && !late.is_peak_hour);

    let mut ny = flash();
    ny.zone = chrono_tz::America::New_York;
    // 2025-03-09: clocks jump from 02:00 EST to 03:00 EDT.
    let before = ok(&ny, &purchase(json!({"event_time": "2025-03-09T06:30:00Z"})));
    let after = ok(&ny, &purchase(json!({"event_time": "2025-03-09T07:30:00Z"})));
    assert_eq!((before.hour_of_day, after.hour_of_day), (1, 3));
    assert_eq!(after.event_time_local - before.event_time_local, 2 * 3_600_000_000);
    let mut london = flash();
    london.zone = chrono_tz::Europe::London;
    let summer = ok(&london, &purchase(json!({"event_time": "2025-06-30T23:30:00Z"})));
    assert_eq!(
        (summer.event_date.to_string().as_str(), summer.hour_of_day),
        ("2025-07-01", 0)
    );
}

#[test]
fn source_formats_rees46_and_uk_retail() {
    let r = Settings::new(SourceFormat::Rees46);
    let line = json!({"event_time": "2019-10-01 00:00:00 UTC", "event_type": "purchase", "product_id": "1004",
        "category_id": "2053013555631882655", "category_code": "electronics.smartphone", "brand": "apple",
        "price": "489.07", "user_id": "5", "user_session": "s"});
    let row = ok(&r, &line.to_string());
    assert_eq!(row.event.quantity, Some(1), "REES46 purchases default to quantity 1");
    assert_eq!(row.revenue, 489.07);
    assert_eq!(row.event.product_name.as_deref(), Some("unknown electronics"));
    assert_eq!(
        row.event.payment_type, None,
        "a purchase keeps its (absent) payment type"
    );

    let uk = Settings::new(SourceFormat::UkRetail);
    let cancel = json!({"InvoiceNo": "C536379", "StockCode": "D", "Description": "Discount", "Quantity": "-1",
        "InvoiceDate": "2010-12-01 09:41:00", "UnitPrice": "27.5", "CustomerID": "14527", "Country": "United Kingdom"});
    assert_eq!(reasons(&uk, &cancel.to_string()), vec!["bad_quantity", "cancellation"]);
    let sale = json!({"InvoiceNo": "536365", "StockCode": "85123A", "Description": "WHITE HANGING HEART",
        "Quantity": "6", "InvoiceDate": "2010-12-01 08:26:00", "UnitPrice": "2.55", "CustomerID": "17850",
        "Country": "United Kingdom"});
    let row = ok(&uk, &sale.to_string());
    assert_eq!(row.event.country.as_deref(), Some("United Kingdom"));
    assert!((row.revenue - 15.3).abs() < 1e-9);
}
