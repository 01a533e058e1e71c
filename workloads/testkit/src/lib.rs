//! What the workloads' integration tests share: an AWS SDK configuration
//! pointing at the local moto server, started (once, idempotently) the way
//! users start it, with `localstack/moto.sh start`.

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
