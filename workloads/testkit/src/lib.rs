//! What the workloads' integration tests share: an AWS SDK configuration
//! pointing at the local moto server, started (once, idempotently) the way
//! users start it, with `localstack/moto.sh start`; and reading back the gzip
//! JSON lines objects the workloads write.

use std::path::Path;
use std::process::Command;

/// Starts the emulator if needed and returns its endpoint URL.
pub fn moto_endpoint() -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../localstack/moto.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("start")
        .output()
        .expect("run localstack/moto.sh");
    assert!(
        out.status.success(),
        "moto did not start: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8 endpoint")
        .trim()
        .lines()
        .last()
        .expect("an endpoint line")
        .to_string()
}

/// An SDK configuration for the emulator (region us-east-1, test credentials).
pub async fn moto() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await
}

/// Every object under a prefix, gunzipped: (key, lines), in key order.
pub async fn gz_objects(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<(String, Vec<String>)> {
    let list = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("list objects");
    let mut out = Vec::new();
    for o in list.contents() {
        let key = o.key().expect("a key").to_string();
        let body = s3
            .get_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .expect("get object")
            .body
            .collect()
            .await
            .expect("body");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(body.into_bytes().as_ref()), &mut text)
            .expect("gzip text");
        out.push((key, text.lines().map(String::from).collect()));
    }
    out
}
