//! Topics, their subscriptions, and queues: how the pipeline tells people and
//! keeps what failed.

use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::QueueAttributeName;

use super::{Ctx, LocalError, Props, State};
use crate::resources::{Kind, Resource};

fn name(r: &Resource) -> &str {
    r.name.as_deref().unwrap_or(&r.id)
}

/// The subscription's ARN if the topic has one with this protocol and endpoint.
async fn find_subscription(cx: &Ctx<'_>, r: &Resource) -> Result<Option<String>, LocalError> {
    let topic = cx.arn_of(r.properties.str_of("topic_id").unwrap_or_default());
    let (protocol, endpoint) = (r.properties.str_of("protocol"), r.properties.str_of("endpoint"));
    let mut token = None;
    loop {
        let page = match cx
            .em
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(&topic)
            .set_next_token(token)
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) if e.code() == Some("NotFound") => return Ok(None),
            Err(e) => return Err(cx.api(r, "ListSubscriptionsByTopic")(e)),
        };
        for s in page.subscriptions() {
            if s.protocol() == protocol && s.endpoint() == endpoint {
                return Ok(Some(s.subscription_arn().unwrap_or_default().to_string()));
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(None);
        }
    }
}

pub async fn state(cx: &Ctx<'_>, r: &Resource) -> Result<State, LocalError> {
    let em = cx.em;
    match r.kind {
        Kind::Topic => match em.sns.get_topic_attributes().topic_arn(cx.arn_of(&r.id)).send().await {
            Ok(_) => Ok(State::Present(vec![])),
            Err(e) if e.code() == Some("NotFound") => Ok(State::Absent),
            Err(e) => Err(cx.api(r, "GetTopicAttributes")(e)),
        },
        Kind::Subscription => Ok(match find_subscription(cx, r).await? {
            Some(_) => State::Present(vec![]),
            None => State::Absent,
        }),
        Kind::Queue => match em.sqs.get_queue_url().queue_name(name(r)).send().await {
            Ok(url) => {
                let attrs = em
                    .sqs
                    .get_queue_attributes()
                    .queue_url(url.queue_url().unwrap_or_default())
                    .attribute_names(QueueAttributeName::MessageRetentionPeriod)
                    .send()
                    .await
                    .map_err(cx.api(r, "GetQueueAttributes"))?;
                let have = attrs
                    .attributes()
                    .and_then(|a| a.get(&QueueAttributeName::MessageRetentionPeriod))
                    .cloned();
                let want = r.properties.u64_of("retention_seconds").map(|s| s.to_string());
                Ok(State::Present(if want.is_some() && have != want {
                    vec!["retention_seconds".into()]
                } else {
                    vec![]
                }))
            }
            Err(e)
                if matches!(
                    e.code(),
                    Some("AWS.SimpleQueueService.NonExistentQueue" | "QueueDoesNotExist")
                ) =>
            {
                Ok(State::Absent)
            }
            Err(e) => Err(cx.api(r, "GetQueueUrl")(e)),
        },
        _ => Ok(State::Absent),
    }
}

pub async fn create(cx: &Ctx<'_>, r: &Resource) -> Result<(), LocalError> {
    let em = cx.em;
    match r.kind {
        Kind::Topic => {
            let mut req = em.sns.create_topic().name(name(r));
            for (k, v) in cx.tags() {
                req = req.tags(
                    aws_sdk_sns::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                        .map_err(cx.api(r, "CreateTopic"))?,
                );
            }
            req.send().await.map_err(cx.api(r, "CreateTopic"))?;
        }
        Kind::Subscription => {
            em.sns
                .subscribe()
                .topic_arn(cx.arn_of(r.properties.str_of("topic_id").unwrap_or_default()))
                .protocol(r.properties.str_of("protocol").unwrap_or("email"))
                .endpoint(r.properties.str_of("endpoint").unwrap_or_default())
                .send()
                .await
                .map_err(cx.api(r, "Subscribe"))?;
        }
        Kind::Queue => {
            let mut req = em.sqs.create_queue().queue_name(name(r));
            if let Some(s) = r.properties.u64_of("retention_seconds") {
                req = req.attributes(QueueAttributeName::MessageRetentionPeriod, s.to_string());
            }
            for (k, v) in cx.tags() {
                req = req.tags(k, v);
            }
            req.send().await.map_err(cx.api(r, "CreateQueue"))?;
        }
        _ => {}
    }
    Ok(())
}

async fn queue_url(cx: &Ctx<'_>, r: &Resource) -> Result<String, LocalError> {
    let out = cx
        .em
        .sqs
        .get_queue_url()
        .queue_name(name(r))
        .send()
        .await
        .map_err(cx.api(r, "GetQueueUrl"))?;
    Ok(out.queue_url().unwrap_or_default().to_string())
}

pub async fn update(cx: &Ctx<'_>, r: &Resource, settings: &[String]) -> Result<(), LocalError> {
    if r.kind == Kind::Queue && settings.iter().any(|s| s == "retention_seconds") {
        let url = queue_url(cx, r).await?;
        cx.em
            .sqs
            .set_queue_attributes()
            .queue_url(&url)
            .attributes(
                QueueAttributeName::MessageRetentionPeriod,
                r.properties.u64_of("retention_seconds").unwrap_or(345_600).to_string(),
            )
            .send()
            .await
            .map_err(cx.api(r, "SetQueueAttributes"))?;
    }
    Ok(())
}

pub async fn delete(cx: &Ctx<'_>, r: &Resource) -> Result<(), LocalError> {
    let em = cx.em;
    match r.kind {
        Kind::Topic => {
            em.sns
                .delete_topic()
                .topic_arn(cx.arn_of(&r.id))
                .send()
                .await
                .map_err(cx.api(r, "DeleteTopic"))?;
        }
        Kind::Subscription => {
            if let Some(arn) = find_subscription(cx, r).await? {
                em.sns
                    .unsubscribe()
                    .subscription_arn(arn)
                    .send()
                    .await
                    .map_err(cx.api(r, "Unsubscribe"))?;
            }
        }
        Kind::Queue => {
            let url = queue_url(cx, r).await?;
            em.sqs
                .delete_queue()
                .queue_url(&url)
                .send()
                .await
                .map_err(cx.api(r, "DeleteQueue"))?;
        }
        _ => {}
    }
    Ok(())
}
