//! The detector Lambda's entry point: wires `lambda_runtime` to the handler.

use aws_lambda_events::event::kinesis::KinesisTimeWindowEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use pipegen_detector::aws::AwsSink;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .init();
    let cfg = pipegen_detector::Config::from_env()?;
    let aws = aws_config::load_from_env().await;
    let sink = AwsSink {
        dynamo: aws_sdk_dynamodb::Client::new(&aws),
        sns: aws_sdk_sns::Client::new(&aws),
        table: std::env::var("DETECTIONS_TABLE").map_err(|_| "DETECTIONS_TABLE is not set")?,
        topic_arn: std::env::var("ALERTS_TOPIC_ARN").map_err(|_| "ALERTS_TOPIC_ARN is not set")?,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<KinesisTimeWindowEvent>| {
        let (sink, cfg) = (&sink, &cfg);
        async move {
            let (response, outcome) = pipegen_detector::handle(&event.payload, sink, cfg).await?;
            tracing::info!(
                counted = outcome.counted,
                detections = outcome.new_detections.len(),
                alerts = outcome.alerts,
                "window invocation"
            );
            Ok::<_, Error>(response)
        }
    }))
    .await
}
