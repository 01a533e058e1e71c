//! The adapters on the real data samples in ../shared/data: every row maps,
//! or fails with its rule's reason, and the counts the data README states hold.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::PathBuf;

use pipegen_events::source::csv_records;
use pipegen_events::{Adapter, EventType, Reason, SourceFormat, time};

fn sample(name: &str) -> File {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(name);
    File::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn rees46_every_row_maps_with_the_readme_counts() {
    let adapter = Adapter::new(SourceFormat::Rees46);
    let rows: Vec<_> = csv_records(sample("rees46-2019-oct-sample.csv"))
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 1000);
    let events: Vec<_> = rows
        .iter()
        .map(|r| adapter.adapt(r).unwrap_or_else(|e| panic!("{r:?}: {e:?}")))
        .collect();

    let mut by_type: BTreeMap<EventType, usize> = BTreeMap::new();
    for e in &events {
        *by_type.entry(e.event_type.unwrap()).or_default() += 1;
    }
    assert_eq!(by_type[&EventType::View], 987);
    assert_eq!(by_type[&EventType::AddToCart], 3);
    assert_eq!(by_type[&EventType::Purchase], 10);
    assert_eq!(events.iter().map(|e| &e.user_id).collect::<BTreeSet<_>>().len(), 330);
    assert_eq!(
        events
            .iter()
            .filter_map(|e| e.category_id.as_ref())
            .collect::<BTreeSet<_>>()
            .len(),
        128
    );
    let min = events.iter().map(|e| e.event_time).min().unwrap();
    let max = events.iter().map(|e| e.event_time).max().unwrap();
    assert_eq!(min, time::parse_utc("2019-10-01T00:00:00Z").unwrap());
    assert_eq!(max, time::parse_utc("2019-10-01T00:17:26Z").unwrap());
    assert!(
        events
            .iter()
            .filter(|e| e.event_type == Some(EventType::Purchase))
            .all(|e| e.quantity == Some(1))
    );

    // Field mapping checked against the raw rows.
    for (row, e) in rows.iter().zip(&events) {
        assert_eq!(
            Some(row["user_session"].as_str().unwrap()),
            e.session_id.as_deref().or(Some(""))
        );
        let code = row["category_code"].as_str().unwrap();
        if code.is_empty() {
            assert_eq!(e.category, None);
        } else {
            // events.md: category is the first segment of category_code.
            let first = &code[..code.find('.').unwrap_or(code.len())];
            assert_eq!(e.category.as_deref(), Some(first));
            assert_eq!(e.category_code.as_deref(), Some(code));
        }
        assert_eq!(e.price, Some(row["price"].as_str().unwrap().parse::<f64>().unwrap()));
    }
    // The second row of the file: appliances.environment.water_heater, aqua.
    assert_eq!(events[1].category.as_deref(), Some("appliances"));
    assert_eq!(events[1].brand.as_deref(), Some("aqua"));

    // Ids are deterministic and distinct exactly where the identity differs.
    let identities: BTreeSet<_> = events
        .iter()
        .map(|e| {
            (
                e.event_time,
                e.user_id.clone(),
                e.session_id.clone(),
                e.product_id.clone(),
                e.event_type,
            )
        })
        .collect();
    let ids: BTreeSet<_> = events.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(ids.len(), identities.len());
    let again: Vec<_> = rows.iter().map(|r| adapter.adapt(r).unwrap().event_id).collect();
    assert_eq!(again, events.iter().map(|e| e.event_id.clone()).collect::<Vec<_>>());
}

#[test]
fn uk_retail_every_row_maps_or_fails_with_its_rule() {
    let adapter = Adapter::new(SourceFormat::UkRetail);
    let rows: Vec<_> = csv_records(sample("uk-online-retail-sample.csv"))
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 20_000);
    let (mut ok, mut cancellations, mut missing_user) = (0, 0, 0);
    for row in &rows {
        let invoice = row["InvoiceNo"].as_str().unwrap();
        let customer = row["CustomerID"].as_str().unwrap();
        let expect_cancel = invoice.starts_with('C');
        let expect_missing = customer == "NA" || customer.is_empty();
        match adapter.adapt(row) {
            Ok(e) => {
                assert!(!expect_cancel && !expect_missing, "{row:?} should have failed");
                assert_eq!(e.event_type, Some(EventType::Purchase));
                assert_eq!(e.order_id.as_deref(), Some(invoice));
                assert_eq!(e.user_id, customer);
                assert_eq!(
                    e.quantity,
                    Some(row["Quantity"].as_str().unwrap().parse::<i64>().unwrap())
                );
                ok += 1;
            }
            Err(reasons) => {
                let mut expected = Vec::new();
                if expect_missing {
                    expected.push(Reason::MissingUserId);
                    missing_user += 1;
                }
                if expect_cancel {
                    expected.push(Reason::Cancellation);
                    cancellations += 1;
                }
                assert_eq!(reasons, expected, "{row:?}");
            }
        }
    }
    // The README's approximate figures: ~5,000 without a customer, ~350 cancellations.
    assert!((4_500..5_500).contains(&missing_user), "{missing_user}");
    assert!((300..400).contains(&cancellations), "{cancellations}");
    assert!(ok > 14_000);
    assert_eq!(
        ok + rows
            .iter()
            .filter(|r| r["InvoiceNo"].as_str().unwrap().starts_with('C') || r["CustomerID"] == "NA")
            .count(),
        rows.len()
    );
}
