//! The detector's handler on Lambda-shaped time-window events: windows over
//! many invocations, the final invocation, redelivery, failures; with an
//! in-memory sink, and with DynamoDB and SNS (to an SQS subscriber) on the
//! moto server. The simulator's bots are exactly the users flagged.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_lambda_events::event::kinesis::KinesisTimeWindowEvent;
use base64::Engine;
use pipegen_detector::{Config, Detection, Error, Sink, handle};
use pipegen_events::SourceFormat;
use pipegen_simulator::{Generator, Profile, Settings};
use serde_json::json;

fn cfg() -> Config {
    Config {
        threshold: 10,
        window_seconds: 10,
        app_server: "app-server-tomcat-123".into(),
        namespace: "ecommerce-namespace-1".into(),
        source_format: SourceFormat::Flashcommerce,
        state_cap_bytes: 900_000,
    }
}

/// A time-window event as Lambda delivers it.
fn window_event(lines: &[String], start: i64, state: HashMap<String, String>, last: bool) -> KinesisTimeWindowEvent {
    let records: Vec<_> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            json!({
                "eventID": format!("shardId-000000000000:{}", 1000 + i),
                "kinesis": {"approximateArrivalTimestamp": start, "data": base64::engine::general_purpose::STANDARD.encode(l),
                    "partitionKey": "p", "sequenceNumber": (1000 + i).to_string()}
            })
        })
        .collect();
    serde_json::from_value(json!({
        "Records": records,
        "window": {"start": chrono::DateTime::from_timestamp(start, 0).unwrap().to_rfc3339(), "end": chrono::DateTime::from_timestamp(start + 10, 0).unwrap().to_rfc3339()},
        "state": state,
        "shardId": "shardId-000000000000",
        "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/s",
        "isFinalInvokeForWindow": last,
        "isWindowTerminatedEarly": false,
    }))
    .unwrap()
}

fn actions(user: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            json!({"event_time": "2025-10-23T10:00:01Z", "event_type": "view", "user_id": user, "n": i}).to_string()
        })
        .collect()
}

#[derive(Default)]
struct Memory {
    items: RefCell<BTreeMap<(String, i64), (Detection, bool)>>,
    alerts: RefCell<Vec<(String, String)>>,
    fail_puts: RefCell<bool>,
    fail_publish: RefCell<bool>,
}

impl Sink for Memory {
    async fn put_if_new(&self, d: &Detection) -> Result<bool, Error> {
        if *self.fail_puts.borrow() {
            return Err(Error::Dynamo("table not found".into()));
        }
        let mut items = self.items.borrow_mut();
        let key = (d.pk.clone(), d.window_start);
        if items.contains_key(&key) {
            return Ok(false);
        }
        items.insert(key, (d.clone(), false));
        Ok(true)
    }
    async fn alerted(&self, d: &Detection) -> Result<bool, Error> {
        Ok(self.items.borrow()[&(d.pk.clone(), d.window_start)].1)
    }
    async fn mark_alerted(&self, d: &Detection) -> Result<(), Error> {
        self.items
            .borrow_mut()
            .get_mut(&(d.pk.clone(), d.window_start))
            .unwrap()
            .1 = true;
        Ok(())
    }
    async fn publish(&self, subject: &str, message: &str) -> Result<(), Error> {
        if *self.fail_publish.borrow() {
            return Err(Error::Sns("throttled".into()));
        }
        self.alerts.borrow_mut().push((subject.into(), message.into()));
        Ok(())
    }
}

const W: i64 = 1_761_213_600;

#[tokio::test]
async fn counts_carry_across_invocations_and_only_the_final_one_acts() {
    let sink = Memory::default();
    let mut state = HashMap::new();
    // 3 invocations: the bot makes 4 + 4 + 3 = 11 actions, the human 10.
    for (bot, human) in [(4, 4), (4, 4), (3, 2)] {
        let mut lines = actions("U9000", bot);
        lines.extend(actions("U0001", human));
        let (resp, out) = handle(&window_event(&lines, W, state, false), &sink, &cfg())
            .await
            .unwrap();
        assert!(
            out.new_detections.is_empty() && sink.items.borrow().is_empty(),
            "nothing before the final invocation"
        );
        state = resp.state;
    }
    let (resp, out) = handle(&window_event(&[], W, state, true), &sink, &cfg()).await.unwrap();
    assert!(resp.state.is_empty(), "the next window starts empty");
    let flagged: Vec<&str> = out.new_detections.iter().map(|d| d.user_id.as_str()).collect();
    assert_eq!(flagged, ["U9000"], "11 > 10 is flagged; exactly 10 is not");
    let d = &out.new_detections[0];
    assert_eq!(d.pk, "userid#U9000#appserver#app-server-tomcat-123");
    assert_eq!((d.window_start, d.window_end, d.actions), (W, W + 10, 11));
    assert_eq!(sink.alerts.borrow().len(), 1);
    assert_eq!(
        sink.alerts.borrow()[0].0,
        "Possible DDoS detected, by user_id U9000 with a number of attempts of : 11/window"
    );
    assert!(
        out.metric_lines
            .iter()
            .any(|l| l.contains("ecomm-user-high-volume-events") && l.contains("U9000"))
    );
}

#[tokio::test]
async fn a_redelivered_final_invocation_neither_writes_nor_alerts_twice() {
    let sink = Memory::default();
    let event = window_event(&actions("U9000", 12), W, HashMap::new(), true);
    handle(&event, &sink, &cfg()).await.unwrap();
    let (_, again) = handle(&event, &sink, &cfg()).await.unwrap();
    assert_eq!((again.new_detections.len(), again.redelivered, again.alerts), (0, 1, 0));
    assert_eq!(sink.items.borrow().len(), 1);
    assert_eq!(sink.alerts.borrow().len(), 1);
}

#[tokio::test]
async fn failures_fail_the_invocation_and_a_retry_alerts_exactly_once() {
    let sink = Memory::default();
    let event = window_event(&actions("U9000", 12), W, HashMap::new(), true);
    *sink.fail_puts.borrow_mut() = true;
    assert!(matches!(handle(&event, &sink, &cfg()).await, Err(Error::Dynamo(_))));
    *sink.fail_puts.borrow_mut() = false;
    *sink.fail_publish.borrow_mut() = true;
    assert!(
        matches!(handle(&event, &sink, &cfg()).await, Err(Error::Sns(_))),
        "the item is written, the alert is not"
    );
    *sink.fail_publish.borrow_mut() = false;
    let (_, out) = handle(&event, &sink, &cfg()).await.unwrap();
    assert_eq!(out.alerts, 1, "the retry publishes the missing alert");
    handle(&event, &sink, &cfg()).await.unwrap();
    assert_eq!(sink.alerts.borrow().len(), 1, "and only once");
}

#[tokio::test]
async fn early_terminated_windows_are_still_evaluated_on_their_final_invocation() {
    let sink = Memory::default();
    let mut ev = window_event(&actions("U9000", 11), W, HashMap::new(), true);
    ev.time_window_properties.is_window_terminated_early = true;
    let (_, out) = handle(&ev, &sink, &cfg()).await.unwrap();
    assert_eq!(out.new_detections.len(), 1);
}

#[tokio::test]
async fn the_simulators_bots_are_exactly_the_users_flagged() {
    let mut s = Settings::new(Profile::Flashcommerce, 20_000, 21);
    s.bots = 5;
    s.fault_rate = 0.02;
    let mut g = Generator::new(s);
    let lines: Vec<_> = g.by_ref().collect();
    let manifest = g.manifest().clone();
    // Group lines into the 10-second tumbling windows of their event time, as
    // the event source mapping would for records arriving as they happen.
    let mut windows: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for l in &lines {
        windows
            .entry((l.time_micros / 1_000_000).div_euclid(10) * 10)
            .or_default()
            .push(l.text.clone());
    }
    let aws = moto().await;
    let (sink, sqs, queue_url) = moto_sink(&aws, "bots").await;
    for (start, texts) in &windows {
        let mut state = HashMap::new();
        for chunk in texts.chunks(7) {
            state = handle(&window_event(chunk, *start, state, false), &sink, &cfg())
                .await
                .unwrap()
                .0
                .state;
        }
        handle(&window_event(&[], *start, state, true), &sink, &cfg())
            .await
            .unwrap();
    }
    let items = sink.dynamo.scan().table_name(&sink.table).send().await.unwrap();
    let flagged: BTreeSet<(String, i64, u32)> = items
        .items()
        .iter()
        .map(|i| {
            (
                i["user_id"].as_s().unwrap().clone(),
                i["window_start"].as_n().unwrap().parse().unwrap(),
                i["actions"].as_n().unwrap().parse().unwrap(),
            )
        })
        .collect();
    let bots: BTreeSet<(String, i64, u32)> = manifest
        .bots
        .iter()
        .map(|b| (b.user_id.clone(), b.window_start, b.actions))
        .collect();
    assert_eq!(flagged, bots);
    let mut alerts = 0;
    loop {
        let got = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if got.messages().is_empty() {
            break;
        }
        for m in got.messages() {
            alerts += 1;
            sqs.delete_message()
                .queue_url(&queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(alerts, bots.len(), "one alert per bot");
}

/// A detections table and an alerts topic with an SQS subscriber on moto.
async fn moto_sink(
    aws: &aws_config::SdkConfig,
    name: &str,
) -> (pipegen_detector::aws::AwsSink, aws_sdk_sqs::Client, String) {
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
    let id = format!("{name}-{}", std::process::id());
    let dynamo = aws_sdk_dynamodb::Client::new(aws);
    let table = format!("detections-{id}");
    dynamo
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("window_start")
                .attribute_type(ScalarAttributeType::N)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("window_start")
                .key_type(KeyType::Range)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let sns = aws_sdk_sns::Client::new(aws);
    let sqs = aws_sdk_sqs::Client::new(aws);
    let topic = sns
        .create_topic()
        .name(format!("alerts-{id}"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("alerts-{id}"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .send()
        .await
        .unwrap();
    (
        pipegen_detector::aws::AwsSink {
            dynamo,
            sns,
            table,
            topic_arn: topic,
        },
        sqs,
        queue_url,
    )
}

async fn moto() -> aws_config::SdkConfig {
    pipegen_testkit::moto().await
}

#[tokio::test]
async fn against_dynamodb_and_sns_on_moto() {
    let aws = moto().await;
    let (sink, sqs, queue_url) = moto_sink(&aws, "redelivery").await;
    let (dynamo, table) = (sink.dynamo.clone(), sink.table.clone());

    let event = window_event(&actions("U9000", 13), W, HashMap::new(), true);
    handle(&event, &sink, &cfg()).await.unwrap();
    handle(&event, &sink, &cfg()).await.unwrap(); // redelivered
    let items = dynamo.scan().table_name(&table).send().await.unwrap();
    assert_eq!(items.count(), 1, "one item for the user-window");
    let item = &items.items()[0];
    assert_eq!(
        item["pk"].as_s().unwrap(),
        "userid#U9000#appserver#app-server-tomcat-123"
    );
    assert_eq!(item["window_start"].as_n().unwrap(), &W.to_string());
    assert_eq!(item["actions"].as_n().unwrap(), "13");
    let received = sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert_eq!(received.messages().len(), 1, "one alert");
    let body: serde_json::Value = serde_json::from_str(received.messages()[0].body().unwrap()).unwrap();
    assert!(
        body["Subject"]
            .as_str()
            .unwrap()
            .starts_with("Possible DDoS detected, by user_id U9000")
    );

    // The table missing: the invocation fails (Lambda retries), no alert.
    let gone = pipegen_detector::aws::AwsSink {
        dynamo: dynamo.clone(),
        sns: aws_sdk_sns::Client::new(&aws),
        table: "no-such-table".into(),
        topic_arn: sink.topic_arn.clone(),
    };
    let other = window_event(&actions("U9001", 12), W + 10, HashMap::new(), true);
    assert!(matches!(handle(&other, &gone, &cfg()).await, Err(Error::Dynamo(_))));
}
