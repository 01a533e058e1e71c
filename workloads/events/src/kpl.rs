//! Kinesis Producer Library (KPL) aggregated records.
//!
//! The original producer aggregated many user records into one Kinesis
//! record with `aws_kinesis_agg`: 4 magic bytes `F3 89 9A C2`, a protobuf
//! `AggregatedRecord`, and the MD5 digest of the protobuf bytes. A record that
//! starts with the magic bytes but is truncated, fails its checksum or does
//! not decode is an error (never silently passed through as data); a record
//! without the magic bytes is not aggregated.

use md5::{Digest, Md5};
use prost::Message;

pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
const DIGEST_LEN: usize = 16;

#[derive(Clone, PartialEq, Message)]
struct AggregatedRecord {
    #[prost(string, repeated, tag = "1")]
    partition_key_table: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    explicit_hash_key_table: Vec<String>,
    #[prost(message, repeated, tag = "3")]
    records: Vec<Record>,
}

#[derive(Clone, PartialEq, Message)]
struct Record {
    #[prost(uint64, required, tag = "1")]
    partition_key_index: u64,
    #[prost(uint64, optional, tag = "2")]
    explicit_hash_key_index: Option<u64>,
    #[prost(bytes = "vec", required, tag = "3")]
    data: Vec<u8>,
    #[prost(message, repeated, tag = "4")]
    tags: Vec<Tag>,
}

#[derive(Clone, PartialEq, Message)]
struct Tag {
    #[prost(string, required, tag = "1")]
    key: String,
    #[prost(string, optional, tag = "2")]
    value: Option<String>,
}

/// One user record taken out of an aggregated record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub partition_key: String,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KplError {
    #[error("aggregated record is truncated ({0} bytes)")]
    Truncated(usize),
    #[error("aggregated record fails its MD5 checksum")]
    Checksum,
    #[error("aggregated record does not decode: {0}")]
    Decode(String),
    #[error("user record {record} points at partition key {index}, but the table has {len}")]
    PartitionKeyIndex { record: usize, index: u64, len: usize },
}

/// True when `data` starts with the KPL magic bytes.
pub fn is_aggregated(data: &[u8]) -> bool {
    data.starts_with(&MAGIC)
}

/// The user records of an aggregated record.
pub fn deaggregate(data: &[u8]) -> Result<Vec<UserRecord>, KplError> {
    if data.len() < MAGIC.len() + DIGEST_LEN || !is_aggregated(data) {
        return Err(KplError::Truncated(data.len()));
    }
    let body = &data[MAGIC.len()..data.len() - DIGEST_LEN];
    let digest = &data[data.len() - DIGEST_LEN..];
    if Md5::digest(body).as_slice() != digest {
        return Err(KplError::Checksum);
    }
    let agg = AggregatedRecord::decode(body).map_err(|e| KplError::Decode(e.to_string()))?;
    agg.records
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let pk =
                agg.partition_key_table
                    .get(r.partition_key_index as usize)
                    .ok_or(KplError::PartitionKeyIndex {
                        record: i,
                        index: r.partition_key_index,
                        len: agg.partition_key_table.len(),
                    })?;
            Ok(UserRecord {
                partition_key: pk.clone(),
                data: r.data,
            })
        })
        .collect()
}

/// Aggregates user records the way the KPL does (partition keys deduplicated
/// into the table). Used by the simulator and tests.
pub fn aggregate(records: &[UserRecord]) -> Vec<u8> {
    let mut table: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        let index = match table.iter().position(|k| k == &r.partition_key) {
            Some(i) => i,
            None => {
                table.push(r.partition_key.clone());
                table.len() - 1
            }
        };
        out.push(Record {
            partition_key_index: index as u64,
            explicit_hash_key_index: None,
            data: r.data.clone(),
            tags: vec![],
        });
    }
    let body = AggregatedRecord {
        partition_key_table: table,
        explicit_hash_key_table: vec![],
        records: out,
    }
    .encode_to_vec();
    let mut data = MAGIC.to_vec();
    data.extend_from_slice(&body);
    data.extend_from_slice(Md5::digest(&body).as_slice());
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn records(n: usize) -> Vec<UserRecord> {
        (0..n)
            .map(|i| UserRecord {
                partition_key: format!("pk-{}", i % 3),
                data: format!("{{\"i\":{i}}}").into_bytes(),
            })
            .collect()
    }

    #[test]
    fn round_trip() {
        let rs = records(10);
        let agg = aggregate(&rs);
        assert!(is_aggregated(&agg));
        assert_eq!(deaggregate(&agg).unwrap(), rs);
    }

    /// Two records (partition keys "a" and "b", data "x" and "yz") encoded by
    /// hand from the KPL's proto2 schema, where required fields are always
    /// written (`08 00` for index 0), as the Java KPL and `aws_kinesis_agg` do.
    #[test]
    fn decodes_a_reference_record() {
        let body: Vec<u8> = vec![
            0x0a, 0x01, b'a', 0x0a, 0x01, b'b', 0x1a, 0x05, 0x08, 0x00, 0x1a, 0x01, b'x', 0x1a, 0x06, 0x08, 0x01, 0x1a,
            0x02, b'y', b'z',
        ];
        let mut data = MAGIC.to_vec();
        data.extend_from_slice(&body);
        data.extend_from_slice(Md5::digest(&body).as_slice());
        let rs = deaggregate(&data).unwrap();
        assert_eq!(rs.len(), 2);
        assert_eq!(
            (rs[0].partition_key.as_str(), rs[0].data.as_slice()),
            ("a", b"x".as_slice())
        );
        assert_eq!(
            (rs[1].partition_key.as_str(), rs[1].data.as_slice()),
            ("b", b"yz".as_slice())
        );
        assert_eq!(aggregate(&rs), data, "our encoder writes the same bytes");
    }

    #[test]
    fn truncated_and_corrupted_records_are_errors() {
        let agg = aggregate(&records(5));
        assert_eq!(deaggregate(&agg[..30]), Err(KplError::Checksum));
        assert!(matches!(
            deaggregate(&agg[..MAGIC.len() + 3]),
            Err(KplError::Truncated(_))
        ));
        let mut flipped = agg.clone();
        flipped[8] ^= 0x40;
        assert_eq!(deaggregate(&flipped), Err(KplError::Checksum));
        // A valid checksum over bytes that are not an AggregatedRecord.
        let body = vec![0xff, 0xff, 0xff];
        let mut bad = MAGIC.to_vec();
        bad.extend_from_slice(&body);
        bad.extend_from_slice(Md5::digest(&body).as_slice());
        assert!(matches!(deaggregate(&bad), Err(KplError::Decode(_))));
        // A record pointing past the partition key table.
        let body = AggregatedRecord {
            partition_key_table: vec!["a".into()],
            explicit_hash_key_table: vec![],
            records: vec![Record {
                partition_key_index: 3,
                explicit_hash_key_index: None,
                data: vec![1],
                tags: vec![],
            }],
        }
        .encode_to_vec();
        let mut bad = MAGIC.to_vec();
        bad.extend_from_slice(&body);
        bad.extend_from_slice(Md5::digest(&body).as_slice());
        assert_eq!(
            deaggregate(&bad),
            Err(KplError::PartitionKeyIndex {
                record: 0,
                index: 3,
                len: 1
            })
        );
    }

    proptest! {
        #[test]
        fn any_records_round_trip(data in prop::collection::vec((any::<u8>(), prop::collection::vec(any::<u8>(), 0..64)), 0..40)) {
            let rs: Vec<UserRecord> = data.into_iter().map(|(k, d)| UserRecord { partition_key: format!("k{k}"), data: d }).collect();
            prop_assert_eq!(deaggregate(&aggregate(&rs)).unwrap(), rs);
        }

        #[test]
        fn any_truncation_or_corruption_is_an_error_not_a_panic(cut in 0usize..400, flip in 0usize..400) {
            let agg = aggregate(&records(12));
            let cut = cut.min(agg.len() - 1);
            prop_assert!(deaggregate(&agg[..cut]).is_err());
            let mut c = agg.clone();
            let i = flip % c.len();
            c[i] ^= 0x01;
            if i >= MAGIC.len() {
                prop_assert!(deaggregate(&c).is_err());
            }
        }
    }
}
