//! Against the local emulator (moto): bronze read from and silver, gold,
//! invalid and state written to its S3; tables and partitions registered in
//! its Glue catalog and visible through the Glue API.

use std::collections::BTreeSet;

use pipegen_etl::catalog::Catalog;
use pipegen_etl::run::{Options, run};
use pipegen_etl::settings::Settings;
use pipegen_etl::store::Store;
use pipegen_events::SourceFormat;
use pipegen_simulator::profile::Profile;

use crate::common::{gzip, simulated};

#[test]
fn s3_and_the_glue_catalog_of_the_emulator() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let aws = pipegen_testkit::moto().await;
        let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&aws).force_path_style(true).build());
        let glue = aws_sdk_glue::Client::new(&aws);
        let bucket = format!("etl-test-{}", std::process::id());
        let database = format!("etl_test_{}", std::process::id());
        s3.create_bucket().bucket(&bucket).send().await.unwrap();
        glue.create_database()
            .database_input(
                aws_sdk_glue::types::DatabaseInput::builder()
                    .name(&database)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let (objects, manifest) = simulated(Profile::Flashcommerce, 600, 0.1, 1, 100);
        for (key, lines) in &objects {
            s3.put_object()
                .bucket(&bucket)
                .key(key)
                .body(gzip(lines).into())
                .send()
                .await
                .unwrap();
        }
        let store = Store::s3(s3.clone(), &bucket);
        let catalog = Catalog {
            client: glue.clone(),
            database: database.clone(),
            bucket: bucket.clone(),
        };
        let mut opts = Options::new("moto-1");
        opts.work_dir = std::env::temp_dir().join(format!("pipegen-etl-moto-{}", std::process::id()));
        let settings = Settings::new(SourceFormat::Flashcommerce);
        let report = run(&store, &settings, &opts, Some(&catalog)).await.unwrap();
        assert_eq!(report.totals.lines, manifest.lines);
        assert_eq!(report.totals.invalid, manifest.invalid);
        assert_eq!(report.totals.duplicates, manifest.duplicates);
        assert_eq!(report.catalog_tables_created, 17);

        let keys: Vec<String> = store.list("").await.unwrap().into_iter().map(|o| o.key).collect();
        let has = |p: &str| keys.iter().any(|k| k.starts_with(p));
        for p in [
            "silver/events/event_date=",
            "invalid/ingest_date=",
            "_state/etl/bookmark.json",
            "_state/etl/runs/",
        ] {
            assert!(has(p), "no {p} in the bucket");
        }
        for t in pipegen_events::lake::gold_tables() {
            assert!(has(&format!("gold/{}/", t.name)), "gold table {} missing in S3", t.name);
        }

        // The catalog: every table, with the lake's columns and partitions.
        let tables = glue.get_tables().database_name(&database).send().await.unwrap();
        let names: BTreeSet<&str> = tables.table_list().iter().map(|t| t.name()).collect();
        assert_eq!(names.len(), 17, "{names:?}");
        let silver = glue
            .get_table()
            .database_name(&database)
            .name("silver_events")
            .send()
            .await
            .unwrap();
        let sd = silver.table().unwrap().storage_descriptor().unwrap();
        assert_eq!(sd.location(), Some(format!("s3://{bucket}/silver/events/").as_str()));
        assert_eq!(sd.columns().len(), pipegen_etl::run::silver_table().columns.len());
        let parts = glue
            .get_partitions()
            .database_name(&database)
            .table_name("silver_events")
            .send()
            .await
            .unwrap();
        let dates: BTreeSet<String> = parts.partitions().iter().map(|p| p.values()[0].clone()).collect();
        let written: BTreeSet<String> = report.silver_partitions_written.iter().cloned().collect();
        assert_eq!(dates, written);
        let sellers = glue
            .get_partitions()
            .database_name(&database)
            .table_name("event_counts")
            .send()
            .await
            .unwrap();
        assert!(sellers.partitions().len() >= 7, "one partition per seller");

        // Nothing new: nothing to do.
        opts.run_id = "moto-2".into();
        let idle = run(&store, &settings, &opts, Some(&catalog)).await.unwrap();
        assert_eq!(idle.totals.objects, 0);
    });
}
