//! Raw records as the adapters read them: a field by name, borrowed.
//!
//! The adapters only ever look at top-level fields of a record, so they read
//! through [`Record`] rather than a `serde_json::Map`. Two implementations:
//! the `Map` every real-time workload already has, and [`JsonLine`], which
//! parses one JSON line without building a `Value` tree: strings without
//! escapes are borrowed from the line, nested values are checked and skipped,
//! and no key is hashed. The ETL reads tens of millions of lines, and building
//! `Value`s (an allocation per key and per string, an index map per line) was
//! half of its time.
//!
//! Both read the same JSON the same way: a line `JsonLine` accepts is exactly a
//! line `serde_json::from_str::<Value>` accepts as an object, numbers are the
//! same `serde_json::Number`, and of repeated keys the last one counts (as in
//! the `Map`). The tests below hold the two to that.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// One top-level field's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Raw<'a> {
    Str(&'a str),
    Num(&'a Number),
    Bool(bool),
    Null,
    /// An array or an object: no adapter field takes one.
    Nested,
}

/// A record whose fields can be read by name.
pub trait Record {
    fn field(&self, key: &str) -> Option<Raw<'_>>;
}

impl Record for Map<String, Value> {
    fn field(&self, key: &str) -> Option<Raw<'_>> {
        Some(match self.get(key)? {
            Value::String(s) => Raw::Str(s),
            Value::Number(n) => Raw::Num(n),
            Value::Bool(b) => Raw::Bool(*b),
            Value::Null => Raw::Null,
            Value::Array(_) | Value::Object(_) => Raw::Nested,
        })
    }
}

#[derive(Debug, PartialEq)]
enum Slot<'a> {
    Str(Cow<'a, str>),
    Num(Number),
    Bool(bool),
    Null,
    Nested,
}

/// One JSON object read from a line: its top-level fields, in line order.
#[derive(Debug, Default)]
pub struct JsonLine<'a> {
    fields: Vec<(Cow<'a, str>, Slot<'a>)>,
}

impl<'a> JsonLine<'a> {
    /// The line's object, or `None` when the line is not exactly one JSON
    /// object (what silver calls `malformed_json`).
    pub fn parse(line: &'a str) -> Option<JsonLine<'a>> {
        let mut de = serde_json::Deserializer::from_str(line);
        let record = de.deserialize_map(LineVisitor).ok()?;
        de.end().ok()?;
        Some(record)
    }

    /// The keys, in line order, repeats included.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(k, _)| k.as_ref())
    }
}

impl Record for JsonLine<'_> {
    /// A scan from the end (the last of repeated keys counts): a line has a
    /// few dozen short keys, where this beats sorting them for a binary
    /// search or hashing them.
    fn field(&self, key: &str) -> Option<Raw<'_>> {
        // Length, first and last byte first: keys of one length often share
        // a prefix, and a call to memcmp per candidate was most of the scan.
        let (first, last) = (key.as_bytes().first(), key.as_bytes().last());
        let (_, slot) = self.fields.iter().rev().find(|(k, _)| {
            k.len() == key.len() && k.as_bytes().first() == first && k.as_bytes().last() == last && k == key
        })?;
        Some(match slot {
            Slot::Str(s) => Raw::Str(s),
            Slot::Num(n) => Raw::Num(n),
            Slot::Bool(b) => Raw::Bool(*b),
            Slot::Null => Raw::Null,
            Slot::Nested => Raw::Nested,
        })
    }
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = JsonLine<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonLine<'de>, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(32));
        while let Some(key) = map.next_key_seed(Text)? {
            let value = map.next_value_seed(SlotSeed)?;
            fields.push((key, value));
        }
        Ok(JsonLine { fields })
    }
}

/// A string, borrowed from the input when it has no escapes.
struct Text;

impl<'de> DeserializeSeed<'de> for Text {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Text {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s))
    }
}

struct SlotSeed;

impl<'de> DeserializeSeed<'de> for SlotSeed {
    type Value = Slot<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Slot<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SlotSeed {
    type Value = Slot<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Slot<'de>, E> {
        Ok(Slot::Str(Cow::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Slot<'de>, E> {
        Ok(Slot::Str(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Slot<'de>, E> {
        Ok(Slot::Str(Cow::Owned(s)))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Slot<'de>, E> {
        Ok(Slot::Num(n.into()))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Slot<'de>, E> {
        Ok(Slot::Num(n.into()))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Slot<'de>, E> {
        // serde_json's `Value` turns a non-finite float into null; JSON text
        // cannot spell one, so this is only for completeness.
        Ok(Number::from_f64(n).map_or(Slot::Null, Slot::Num))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Slot<'de>, E> {
        Ok(Slot::Bool(b))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Slot<'de>, E> {
        Ok(Slot::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Slot<'de>, E> {
        Ok(Slot::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Slot<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Slot::Nested)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Slot<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Slot::Nested)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Both readers agree on a line: both reject it, or both read the same
    /// value for every key (and for a key that is not there).
    fn agree(line: &str, keys: &[&str]) {
        let value = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        };
        let borrowed = JsonLine::parse(line);
        assert_eq!(value.is_some(), borrowed.is_some(), "{line}");
        if let (Some(m), Some(b)) = (value, borrowed) {
            for k in b.keys() {
                assert!(m.contains_key(k), "{line}: {k}");
            }
            for k in keys.iter().copied().chain(m.keys().map(String::as_str)) {
                assert_eq!(m.field(k), b.field(k), "{line}: {k}");
            }
        }
    }

    #[test]
    fn reads_what_a_value_reads() {
        let keys = ["a", "b", "c", "price", "missing"];
        for line in [
            r#"{"a":"x","b":1,"c":1.5,"price":"19.99"}"#,
            r#"  {"a":"esc\"aped \u00e9","b":-3,"c":1e3,"price":null}  "#,
            r#"{"a":true,"b":false,"c":[1,{"d":2}],"price":{"x":[]}}"#,
            r#"{"a":1,"a":2,"b":"first","b":"second"}"#,
            r#"{"b":18446744073709551615,"c":-9223372036854775808,"a":0.1}"#,
            r#"{}"#,
            r#"{"\u0061":"escaped key"}"#,
        ] {
            agree(line, &keys);
        }
        let dup = JsonLine::parse(r#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(
            dup.field("a"),
            Some(Raw::Num(&Number::from(2))),
            "the last repeat counts"
        );
    }

    #[test]
    fn rejects_what_a_value_rejects_as_an_object() {
        for line in [
            "",
            "[1, 2]",
            "\"text\"",
            "12",
            "null",
            r#"{"a":1"#,
            r#"{"a":1} {"b":2}"#,
            r#"{"a":1} x"#,
            r#"{"a":[1,}"#,
            r#"{"a":01}"#,
            r#"{a:1}"#,
            r#"{"a":"bad \x escape"}"#,
            r#"{"a":1,}"#,
        ] {
            assert!(JsonLine::parse(line).is_none(), "{line}");
            agree(line, &[]);
        }
    }

    proptest! {
        /// Any object of scalars and nested values, with repeated keys: the
        /// same fields as serde_json's `Map`.
        #[test]
        fn same_fields_as_a_map(
            pairs in prop::collection::vec(
                ("[a-d]{1,2}", prop_oneof![
                    any::<i64>().prop_map(|n| n.to_string()),
                    any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(|x| format!("{x:e}")),
                    "[ -~]{0,8}".prop_map(|s| serde_json::to_string(&s).unwrap()),
                    Just("true".to_string()),
                    Just("null".to_string()),
                    Just("[1, [2], {\"k\": null}]".to_string()),
                ]),
                0..12,
            )
        ) {
            let body: Vec<String> = pairs.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
            let line = format!("{{{}}}", body.join(", "));
            agree(&line, &["a", "b", "zz"]);
        }
    }
}
