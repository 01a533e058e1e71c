//! Buckets (and their policies), streams and tables: where data lives.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification, ScalarAttributeType,
};
use aws_sdk_kinesis::types::{StreamMode, StreamModeDetails};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging, VersioningConfiguration,
};
use serde_json::json;

use super::{Ctx, LocalError, Props, State};
use crate::resources::{Kind, Resource};

fn name(r: &Resource) -> &str {
    r.name.as_deref().unwrap_or(&r.id)
}

fn bucket_of(cx: &Ctx<'_>, r: &Resource) -> String {
    match r.kind {
        Kind::BucketPolicy => cx.name_of(r.properties.str_of("bucket_id").unwrap_or_default()),
        _ => name(r).to_string(),
    }
}

pub async fn state(cx: &Ctx<'_>, r: &Resource) -> Result<State, LocalError> {
    let em = cx.em;
    match r.kind {
        Kind::Bucket => {
            let on = match em.s3.get_bucket_versioning().bucket(name(r)).send().await {
                Ok(v) => v.status() == Some(&BucketVersioningStatus::Enabled),
                Err(e) if e.code() == Some("NoSuchBucket") => return Ok(State::Absent),
                // moto 5.2 names the response's root element
                // `GetBucketVersioningResponse`, which the SDK refuses to
                // parse; the status is still in the body.
                Err(e) => match e.raw_response().and_then(|r| r.body().bytes()) {
                    Some(body) if body.windows(6).any(|w| w == b"Status") => {
                        String::from_utf8_lossy(body).contains("<Status>Enabled</Status>")
                    }
                    _ => return Err(cx.api(r, "GetBucketVersioning")(e)),
                },
            };
            let mut d = Vec::new();
            if on != r.properties.bool_of("versioned") {
                d.push("versioned".to_string());
            }
            Ok(State::Present(d))
        }
        Kind::BucketPolicy => match em.s3.get_bucket_policy().bucket(bucket_of(cx, r)).send().await {
            Ok(_) => Ok(State::Present(vec![])),
            Err(e) if matches!(e.code(), Some("NoSuchBucketPolicy" | "NoSuchBucket")) => Ok(State::Absent),
            Err(e) => Err(cx.api(r, "GetBucketPolicy")(e)),
        },
        Kind::Stream => match em.kinesis.describe_stream_summary().stream_name(name(r)).send().await {
            Ok(s) => {
                let mut d = Vec::new();
                let want = r.properties.u64_of("retention_hours").unwrap_or(24) as i32;
                if s.stream_description_summary().map(|s| s.retention_period_hours()) != Some(want) {
                    d.push("retention_hours".to_string());
                }
                Ok(State::Present(d))
            }
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(State::Absent),
            Err(e) => Err(cx.api(r, "DescribeStreamSummary")(e)),
        },
        Kind::DynamoTable => match em.dynamodb.describe_table().table_name(name(r)).send().await {
            Ok(_) => Ok(State::Present(vec![])),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(State::Absent),
            Err(e) => Err(cx.api(r, "DescribeTable")(e)),
        },
        _ => Ok(State::Absent),
    }
}

pub async fn create(cx: &Ctx<'_>, r: &Resource) -> Result<(), LocalError> {
    let em = cx.em;
    let p = &r.properties;
    match r.kind {
        Kind::Bucket => {
            let mut req = em.s3.create_bucket().bucket(name(r));
            if em.region != "us-east-1" {
                req = req.create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(em.region.as_str()))
                        .build(),
                );
            }
            req.send().await.map_err(cx.api(r, "CreateBucket"))?;
            let tags = cx
                .tags()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(cx.api(r, "PutBucketTagging"))?;
            em.s3
                .put_bucket_tagging()
                .bucket(name(r))
                .tagging(
                    Tagging::builder()
                        .set_tag_set(Some(tags))
                        .build()
                        .map_err(cx.api(r, "PutBucketTagging"))?,
                )
                .send()
                .await
                .map_err(cx.api(r, "PutBucketTagging"))?;
            if p.bool_of("block_public_access") {
                em.s3
                    .put_public_access_block()
                    .bucket(name(r))
                    .public_access_block_configuration(
                        PublicAccessBlockConfiguration::builder()
                            .block_public_acls(true)
                            .block_public_policy(true)
                            .ignore_public_acls(true)
                            .restrict_public_buckets(true)
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(cx.api(r, "PutPublicAccessBlock"))?;
            }
            // KMS is not emulated: SSE-S3 keeps "encrypted at rest" true locally.
            let sse = ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::Aes256)
                .build()
                .map_err(cx.api(r, "PutBucketEncryption"))?;
            em.s3
                .put_bucket_encryption()
                .bucket(name(r))
                .server_side_encryption_configuration(
                    ServerSideEncryptionConfiguration::builder()
                        .rules(
                            ServerSideEncryptionRule::builder()
                                .apply_server_side_encryption_by_default(sse)
                                .build(),
                        )
                        .build()
                        .map_err(cx.api(r, "PutBucketEncryption"))?,
                )
                .send()
                .await
                .map_err(cx.api(r, "PutBucketEncryption"))?;
            lifecycle(cx, r).await?;
            update(cx, r, &["versioned".to_string()]).await
        }
        Kind::BucketPolicy => {
            let bucket = bucket_of(cx, r);
            let policy = json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}
                }]
            });
            em.s3
                .put_bucket_policy()
                .bucket(bucket)
                .policy(policy.to_string())
                .send()
                .await
                .map_err(cx.api(r, "PutBucketPolicy"))?;
            Ok(())
        }
        Kind::Stream => {
            let mut req = em.kinesis.create_stream().stream_name(name(r));
            match p.u64_of("shards") {
                Some(n) => {
                    req = req.shard_count(n as i32).stream_mode_details(
                        StreamModeDetails::builder()
                            .stream_mode(StreamMode::Provisioned)
                            .build()
                            .map_err(cx.api(r, "CreateStream"))?,
                    )
                }
                None => {
                    req = req.stream_mode_details(
                        StreamModeDetails::builder()
                            .stream_mode(StreamMode::OnDemand)
                            .build()
                            .map_err(cx.api(r, "CreateStream"))?,
                    )
                }
            }
            req.send().await.map_err(cx.api(r, "CreateStream"))?;
            let mut tags = em.kinesis.add_tags_to_stream().stream_name(name(r));
            for (k, v) in cx.tags() {
                tags = tags.tags(k, v);
            }
            tags.send().await.map_err(cx.api(r, "AddTagsToStream"))?;
            update(cx, r, &["retention_hours".to_string()]).await
        }
        Kind::DynamoTable => {
            let key = |k: &str| -> Option<(String, String)> {
                let v = p.get(k)?;
                Some((
                    v.str_of("name")?.to_string(),
                    v.str_of("type").unwrap_or("S").to_string(),
                ))
            };
            let mut req = em
                .dynamodb
                .create_table()
                .table_name(name(r))
                .billing_mode(BillingMode::PayPerRequest);
            for (k, role) in [("partition_key", KeyType::Hash), ("sort_key", KeyType::Range)] {
                if let Some((n, t)) = key(k) {
                    req = req
                        .key_schema(
                            KeySchemaElement::builder()
                                .attribute_name(&n)
                                .key_type(role)
                                .build()
                                .map_err(cx.api(r, "CreateTable"))?,
                        )
                        .attribute_definitions(
                            AttributeDefinition::builder()
                                .attribute_name(&n)
                                .attribute_type(ScalarAttributeType::from(t.as_str()))
                                .build()
                                .map_err(cx.api(r, "CreateTable"))?,
                        );
                }
            }
            for (k, v) in cx.tags() {
                req = req.tags(
                    aws_sdk_dynamodb::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                        .map_err(cx.api(r, "CreateTable"))?,
                );
            }
            req.send().await.map_err(cx.api(r, "CreateTable"))?;
            if p.bool_of("point_in_time_recovery") {
                em.dynamodb
                    .update_continuous_backups()
                    .table_name(name(r))
                    .point_in_time_recovery_specification(
                        PointInTimeRecoverySpecification::builder()
                            .point_in_time_recovery_enabled(true)
                            .build()
                            .map_err(cx.api(r, "UpdateContinuousBackups"))?,
                    )
                    .send()
                    .await
                    .map_err(cx.api(r, "UpdateContinuousBackups"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

async fn lifecycle(cx: &Ctx<'_>, r: &Resource) -> Result<(), LocalError> {
    let Some(rules) = r.properties.get("lifecycle_rules").and_then(|v| v.as_array()) else {
        return Ok(());
    };
    let mut out = Vec::new();
    for rule in rules {
        let mut b = LifecycleRule::builder()
            .id(rule.str_of("id").unwrap_or("rule"))
            .status(ExpirationStatus::Enabled)
            .filter(
                LifecycleRuleFilter::builder()
                    .prefix(rule.str_of("prefix").unwrap_or(""))
                    .build(),
            );
        if let Some(d) = rule.u64_of("expiration_days") {
            b = b.expiration(LifecycleExpiration::builder().days(d as i32).build());
        }
        if let Some(d) = rule.u64_of("noncurrent_days") {
            b = b.noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder().noncurrent_days(d as i32).build(),
            );
        }
        if let Some(d) = rule.u64_of("abort_incomplete_days") {
            b = b.abort_incomplete_multipart_upload(
                aws_sdk_s3::types::AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(d as i32)
                    .build(),
            );
        }
        out.push(b.build().map_err(cx.api(r, "PutBucketLifecycleConfiguration"))?);
    }
    cx.em
        .s3
        .put_bucket_lifecycle_configuration()
        .bucket(name(r))
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .set_rules(Some(out))
                .build()
                .map_err(cx.api(r, "PutBucketLifecycleConfiguration"))?,
        )
        .send()
        .await
        .map_err(cx.api(r, "PutBucketLifecycleConfiguration"))?;
    Ok(())
}

pub async fn update(cx: &Ctx<'_>, r: &Resource, settings: &[String]) -> Result<(), LocalError> {
    let em = cx.em;
    let p = &r.properties;
    for s in settings {
        match (r.kind, s.as_str()) {
            (Kind::Bucket, "versioned") => {
                let status = if p.bool_of("versioned") {
                    BucketVersioningStatus::Enabled
                } else {
                    BucketVersioningStatus::Suspended
                };
                em.s3
                    .put_bucket_versioning()
                    .bucket(name(r))
                    .versioning_configuration(VersioningConfiguration::builder().status(status).build())
                    .send()
                    .await
                    .map_err(cx.api(r, "PutBucketVersioning"))?;
            }
            (Kind::Stream, "retention_hours") => {
                let want = p.u64_of("retention_hours").unwrap_or(24) as i32;
                let have = em
                    .kinesis
                    .describe_stream_summary()
                    .stream_name(name(r))
                    .send()
                    .await
                    .map_err(cx.api(r, "DescribeStreamSummary"))?
                    .stream_description_summary()
                    .map(|s| s.retention_period_hours())
                    .unwrap_or(24);
                if want > have {
                    em.kinesis
                        .increase_stream_retention_period()
                        .stream_name(name(r))
                        .retention_period_hours(want)
                        .send()
                        .await
                        .map_err(cx.api(r, "IncreaseStreamRetentionPeriod"))?;
                } else if want < have {
                    em.kinesis
                        .decrease_stream_retention_period()
                        .stream_name(name(r))
                        .retention_period_hours(want)
                        .send()
                        .await
                        .map_err(cx.api(r, "DecreaseStreamRetentionPeriod"))?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

pub async fn delete(cx: &Ctx<'_>, r: &Resource) -> Result<(), LocalError> {
    let em = cx.em;
    match r.kind {
        Kind::Bucket => {
            empty_bucket(&em.s3, name(r))
                .await
                .map_err(|e| super::LocalError::Api {
                    id: r.id.clone(),
                    name: name(r).to_string(),
                    action: "empty bucket",
                    message: e,
                })?;
            em.s3
                .delete_bucket()
                .bucket(name(r))
                .send()
                .await
                .map_err(cx.api(r, "DeleteBucket"))?;
        }
        Kind::BucketPolicy => {
            em.s3
                .delete_bucket_policy()
                .bucket(bucket_of(cx, r))
                .send()
                .await
                .map_err(cx.api(r, "DeleteBucketPolicy"))?;
        }
        Kind::Stream => {
            em.kinesis
                .delete_stream()
                .stream_name(name(r))
                .enforce_consumer_deletion(true)
                .send()
                .await
                .map_err(cx.api(r, "DeleteStream"))?;
        }
        Kind::DynamoTable => {
            em.dynamodb
                .delete_table()
                .table_name(name(r))
                .send()
                .await
                .map_err(cx.api(r, "DeleteTable"))?;
        }
        _ => {}
    }
    Ok(())
}

/// Deletes every object version and delete marker of a bucket, a page (and a
/// 1,000-key batch) at a time, so buckets of any size empty. Returns how many
/// versions were deleted.
pub async fn empty_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<u64, String> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    let mut deleted = 0u64;
    loop {
        // Always list from the start: deleting while paging moves the markers.
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .max_keys(1000)
            .send()
            .await
            .map_err(|e| super::err_text(&e))?;
        let mut ids = Vec::new();
        for v in page.versions() {
            ids.push((
                v.key().unwrap_or_default().to_string(),
                v.version_id().map(str::to_string),
            ));
        }
        for m in page.delete_markers() {
            ids.push((
                m.key().unwrap_or_default().to_string(),
                m.version_id().map(str::to_string),
            ));
        }
        if ids.is_empty() {
            return Ok(deleted);
        }
        for chunk in ids.chunks(1000) {
            let objects = chunk
                .iter()
                .map(|(k, v)| ObjectIdentifier::builder().key(k).set_version_id(v.clone()).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| super::err_text(&e))?;
            let out = s3
                .delete_objects()
                .bucket(bucket)
                .delete(
                    Delete::builder()
                        .set_objects(Some(objects))
                        .quiet(true)
                        .build()
                        .map_err(|e| super::err_text(&e))?,
                )
                .send()
                .await
                .map_err(|e| super::err_text(&e))?;
            if let Some(err) = out.errors().first() {
                return Err(format!(
                    "{} of {} deletes failed, first {}: {}",
                    out.errors().len(),
                    chunk.len(),
                    err.key().unwrap_or_default(),
                    err.message().unwrap_or_default()
                ));
            }
            deleted += chunk.len() as u64;
        }
    }
}
