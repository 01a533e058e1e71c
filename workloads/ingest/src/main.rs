//! The ingest Lambda's entry point: wires `lambda_runtime` to the handler.

use aws_lambda_events::event::kinesis::KinesisEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .init();
    let cfg = pipegen_ingest::Config::from_env()?;
    let aws = aws_config::load_from_env().await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&aws).force_path_style(true).build());
    lambda_runtime::run(service_fn(|event: LambdaEvent<KinesisEvent>| {
        let (s3, cfg) = (&s3, &cfg);
        async move { Ok::<_, Error>(pipegen_ingest::handle(event.payload, s3, cfg).await) }
    }))
    .await
}
