//! The events inside one Kinesis record's data: one JSON object, several
//! separated by newlines (the FlashCommerce producer appends `\n`), or a KPL
//! aggregate of either. Anything else is returned as bad, with its reason,
//! for the caller to quarantine; nothing is dropped.

use crate::kpl;

/// One payload of a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// The text of one JSON object, trimmed.
    Json(String),
    /// Bytes that are not a JSON object: the KPL user record index they came
    /// from (0 when not aggregated) and why they were rejected.
    Bad {
        bytes: Vec<u8>,
        sub_index: usize,
        reason: String,
    },
}

/// Splits a record's data into payloads.
pub fn split(data: &[u8]) -> Vec<Payload> {
    if kpl::is_aggregated(data) {
        return match kpl::deaggregate(data) {
            Err(e) => vec![Payload::Bad {
                bytes: data.to_vec(),
                sub_index: 0,
                reason: format!("kpl: {e}"),
            }],
            Ok(records) => records
                .iter()
                .enumerate()
                .flat_map(|(i, r)| split_lines(&r.data, i))
                .collect(),
        };
    }
    split_lines(data, 0)
}

fn split_lines(data: &[u8], sub_index: usize) -> Vec<Payload> {
    let text = match std::str::from_utf8(data) {
        Ok(t) => t,
        Err(e) => {
            return vec![Payload::Bad {
                bytes: data.to_vec(),
                sub_index,
                reason: format!("not UTF-8: {e}"),
            }];
        }
    };
    text.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match serde_json::from_str::<serde_json::Value>(l) {
            Ok(serde_json::Value::Object(_)) => Payload::Json(l.to_string()),
            Ok(_) => Payload::Bad {
                bytes: l.as_bytes().to_vec(),
                sub_index,
                reason: "not a JSON object".into(),
            },
            Err(e) => Payload::Bad {
                bytes: l.as_bytes().to_vec(),
                sub_index,
                reason: format!("not JSON: {e}"),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_objects_and_garbage() {
        let got = split(b"{\"a\":1}\n\n  {\"b\":2}\r\n[1]\nnope");
        assert_eq!(got[0], Payload::Json("{\"a\":1}".into()));
        assert_eq!(got[1], Payload::Json("{\"b\":2}".into()));
        assert!(matches!(&got[2], Payload::Bad { reason, .. } if reason == "not a JSON object"));
        assert!(matches!(&got[3], Payload::Bad { reason, .. } if reason.starts_with("not JSON")));
        assert!(matches!(&split(&[0xff])[0], Payload::Bad { reason, .. } if reason.starts_with("not UTF-8")));
    }

    #[test]
    fn kpl_user_records_keep_their_index() {
        let agg = kpl::aggregate(&[
            kpl::UserRecord {
                partition_key: "a".into(),
                data: b"{\"n\":1}".to_vec(),
            },
            kpl::UserRecord {
                partition_key: "a".into(),
                data: b"bad".to_vec(),
            },
        ]);
        let got = split(&agg);
        assert_eq!(got[0], Payload::Json("{\"n\":1}".into()));
        assert!(matches!(&got[1], Payload::Bad { sub_index: 1, .. }));
    }
}
