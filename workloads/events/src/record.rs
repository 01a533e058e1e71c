//! Raw records as the adapters read them: a field by name, borrowed.
//!
//! The adapters only ever look at top-level fields of a record, so they read
//! through [`Record`] rather than a `serde_json::Map`. Two implementations:
//! the `Map` every real-time workload already has, and [`JsonLine`], which
//! reads one JSON line without building a `Value` tree. The ETL reads tens of
//! millions of lines, and building `Value`s (an allocation per key and per
//! string, an index map per line) was half of its time.
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
#[derive(Clone, Debug, PartialEq)]
pub enum Raw<'a> {
    Str(&'a str),
    Num(Number),
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
            Value::Number(n) => Raw::Num(n.clone()),
            Value::Bool(b) => Raw::Bool(*b),
            Value::Null => Raw::Null,
            Value::Array(_) | Value::Object(_) => Raw::Nested,
        })
    }
}

/// One JSON object read from a line: its top-level fields, in line order.
#[derive(Debug)]
pub struct JsonLine<'a> {
    fields: Fields<'a>,
    /// The fields by key, an open-addressing table: a lookup is about one
    /// probe and one comparison (an adapter asks for ~30 keys per line, a
    /// third of them absent; scanning the keys for each was a tenth of the
    /// ETL's work). `None` for lines of more fields than it numbers, whose
    /// lookups scan the keys.
    index: Option<Index>,
}

/// Field numbers ([`ABSENT`] for none) in slots from [`slot`], a key in the
/// first free slot from its own. Of repeated keys, the last one counts.
type Index = [u8; 256];
const ABSENT: u8 = u8::MAX;
/// At most this many fields are indexed: the table keeps free slots, so
/// that every probe sequence ends.
const INDEXED: usize = 192;

#[derive(Debug)]
enum Fields<'a> {
    /// A flat object without escapes (nearly every bronze line): where each
    /// key and value lies in the line; values are decoded when read.
    Flat { line: &'a str, spans: Vec<Span> },
    /// Any other object, as serde_json's visitor decoded it.
    Decoded(Vec<(Cow<'a, str>, Slot<'a>)>),
}

/// A flat field: byte ranges of the key (without quotes) and of the value's
/// text (with the quotes of a string), as `u32`s so that a field is 16 bytes
/// written at once (a wider tuple of `Cow`s and an enum, built on the stack
/// and copied into the vector, stalled the parse on every field).
#[derive(Clone, Copy, Debug)]
struct Span {
    key: [u32; 2],
    value: [u32; 2],
}

#[derive(Debug, PartialEq)]
enum Slot<'a> {
    Str(Cow<'a, str>),
    Num(Number),
    Bool(bool),
    Null,
    Nested,
}

/// A key's slot among 256 (its first probe), from its length and its first and last eight
/// bytes (which cover every byte of keys up to 16 bytes long).
#[inline]
fn slot(key: &[u8]) -> usize {
    let n = key.len();
    let (head, tail) = if n >= 8 {
        (word(key, 0), word(key, n - 8))
    } else {
        let mut w = [0; 8];
        w[..n].copy_from_slice(key);
        (u64::from_le_bytes(w), 0)
    };
    let mixed = (head ^ tail.rotate_left(29) ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 56) as usize
}

impl<'a> JsonLine<'a> {
    /// The line's object, or `None` when the line is not exactly one JSON
    /// object (what silver calls `malformed_json`).
    pub fn parse(line: &'a str) -> Option<JsonLine<'a>> {
        match flat_object(line) {
            Some(spans) => Some(JsonLine::indexed(Fields::Flat { line, spans })),
            None => JsonLine::parse_with_serde(line),
        }
    }

    /// [`JsonLine::parse`] by serde_json's visitor alone: what decides the
    /// lines the fast path leaves, and its reference in tests and benches.
    pub fn parse_with_serde(line: &'a str) -> Option<JsonLine<'a>> {
        let mut de = serde_json::Deserializer::from_str(line);
        let fields = de.deserialize_map(LineVisitor).ok()?;
        de.end().ok()?;
        Some(JsonLine::indexed(Fields::Decoded(fields)))
    }

    /// The fields with their index: each key in the first free slot from its
    /// own, or in the slot of the same key earlier in the line (of repeated
    /// keys, the last one counts).
    fn indexed(fields: Fields<'a>) -> JsonLine<'a> {
        let mut line = JsonLine { fields, index: None };
        let n = line.len();
        if n <= INDEXED {
            let mut index = [ABSENT; 256];
            for i in 0..n {
                let key = line.key_bytes(i);
                let mut s = slot(key);
                while index[s] != ABSENT && !line.key_is(index[s] as usize, key) {
                    s = (s + 1) % index.len();
                }
                index[s] = i as u8;
            }
            line.index = Some(index);
        }
        line
    }

    fn len(&self) -> usize {
        match &self.fields {
            Fields::Flat { spans, .. } => spans.len(),
            Fields::Decoded(fields) => fields.len(),
        }
    }

    fn key(&self, i: usize) -> &str {
        match &self.fields {
            Fields::Flat { line, spans } => {
                let [from, to] = spans[i].key;
                &line[from as usize..to as usize]
            }
            Fields::Decoded(fields) => &fields[i].0,
        }
    }

    /// [`JsonLine::key`] as bytes (no check of character boundaries, which
    /// the flat reader's spans are on anyway).
    #[inline]
    fn key_bytes(&self, i: usize) -> &[u8] {
        match &self.fields {
            Fields::Flat { line, spans } => {
                let [from, to] = spans[i].key;
                &line.as_bytes()[from as usize..to as usize]
            }
            Fields::Decoded(fields) => fields[i].0.as_bytes(),
        }
    }

    #[inline]
    fn key_is(&self, i: usize, key: &[u8]) -> bool {
        same_bytes(self.key_bytes(i), key)
    }

    fn value(&self, i: usize) -> Raw<'_> {
        match &self.fields {
            Fields::Flat { line, spans } => {
                let [from, to] = spans[i].value;
                flat_value(&line[from as usize..to as usize])
            }
            Fields::Decoded(fields) => match &fields[i].1 {
                Slot::Str(s) => Raw::Str(s),
                Slot::Num(n) => Raw::Num(n.clone()),
                Slot::Bool(b) => Raw::Bool(*b),
                Slot::Null => Raw::Null,
                Slot::Nested => Raw::Nested,
            },
        }
    }

    /// The keys, in line order, repeats included.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|i| self.key(i))
    }
}

impl Record for JsonLine<'_> {
    /// The index's probes from the key's slot to its field or a free slot
    /// (without an index, a scan from the end, where the last repeat is).
    fn field(&self, key: &str) -> Option<Raw<'_>> {
        let key = key.as_bytes();
        let Some(index) = &self.index else {
            let i = (0..self.len()).rev().find(|&i| self.key_is(i, key))?;
            return Some(self.value(i));
        };
        let mut s = slot(key);
        loop {
            match index[s] {
                ABSENT => return None,
                i if self.key_is(i as usize, key) => return Some(self.value(i as usize)),
                _ => s = (s + 1) % index.len(),
            }
        }
    }
}

/// Two byte strings are equal, compared eight bytes at a time (the last
/// word overlapping the one before): keys are short, and a call to `memcmp`
/// per lookup was a third of the lookup.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let mut at = 0;
    while at + 8 < n {
        if word(a, at) != word(b, at) {
            return false;
        }
        at += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

/// The eight bytes of `s` from `at` (there must be eight) as one word.
#[inline]
fn word(s: &[u8], at: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&s[at..at + 8]);
    u64::from_le_bytes(w)
}

/// The value of a flat field from its text, which [`flat_object`] checked.
fn flat_value(text: &str) -> Raw<'_> {
    match text.as_bytes().first() {
        Some(b'"') => Raw::Str(&text[1..text.len() - 1]),
        Some(b't') => Raw::Bool(true),
        Some(b'f') => Raw::Bool(false),
        // flat_object kept only numbers this reads.
        Some(b'-' | b'0'..=b'9') => number(text).map_or(Raw::Null, Raw::Num),
        _ => Raw::Null,
    }
}

/// What serde_json reads a number's text as (the text is of JSON's number
/// grammar), or `None` when it rejects it (out of range, as `1e400`).
///
/// Two common shapes are read here, the same way: plain non-negative
/// integers of up to 18 digits (a `u64`), and decimals of up to 15 digits
/// ("8927.08"), whose digits' integer and power of ten are both exact in
/// f64, so that their quotient is the correctly rounded value (serde_json
/// divides the same two numbers). Anything else goes to serde_json's parser.
fn number(text: &str) -> Option<Number> {
    let bytes = text.as_bytes();
    let negative = bytes.first() == Some(&b'-');
    let body = &bytes[negative as usize..];
    // One pass: the digits' value, and where a point is; anything else
    // (an exponent) leaves the shapes read here.
    let (mut value, mut point) = (0u64, None);
    for (i, &b) in body.iter().enumerate() {
        match b {
            b'0'..=b'9' => value = value.wrapping_mul(10).wrapping_add(u64::from(b - b'0')),
            b'.' => point = Some(i),
            _ => return text.parse::<Number>().ok(),
        }
    }
    match point {
        None if !negative && body.len() <= 18 => Some(Number::from(value)),
        Some(p) if body.len() <= 16 => {
            let x = value as f64 / POWERS_OF_TEN[body.len() - 1 - p];
            Number::from_f64(if negative { -x } else { x })
        }
        _ => text.parse::<Number>().ok(),
    }
}

const POWERS_OF_TEN: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Where the fields of a line lie, when the line is one flat JSON object
/// whose strings have no escapes; `None` for any other line, which serde_json
/// then reads (or rejects). Bronze lines are nearly all flat.
///
/// It accepts only what serde_json accepts: strings hold no backslash and
/// no control character (serde_json rejects the latter), numbers are of
/// JSON's grammar and in range (see [`number`]), and anything else (an
/// escape, a nested value, a syntax error) is left to serde_json whole.
fn flat_object(line: &str) -> Option<Vec<Span>> {
    let bytes = line.as_bytes();
    u32::try_from(bytes.len()).ok()?;
    let mut spans = Vec::with_capacity(32);
    let mut at = space(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at = space(bytes, at + 1);
    if bytes.get(at) == Some(&b'}') {
        at += 1;
    } else {
        loop {
            if bytes.get(at) != Some(&b'"') {
                return None;
            }
            let key_end = string_end(bytes, at + 1)?;
            let key = [at as u32 + 1, key_end as u32];
            at = space(bytes, key_end + 1);
            if bytes.get(at) != Some(&b':') {
                return None;
            }
            let from = space(bytes, at + 1);
            at = scalar_end(bytes, from)?;
            spans.push(Span {
                key,
                value: [from as u32, at as u32],
            });
            at = space(bytes, at);
            match bytes.get(at)? {
                b',' => at = space(bytes, at + 1),
                b'}' => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (space(bytes, at) == bytes.len()).then_some(spans)
}

/// The first byte at or after `at` that is not JSON whitespace (serde_json
/// accepts no other).
fn space(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

/// Where the string whose text starts at `at` has its closing quote, when
/// it holds no escape and no control character. The scan stops only on
/// ASCII bytes, so every slice taken of the line is on a character boundary.
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    let rest = bytes.get(at..)?;
    // Eight bytes at a time (most of a line's bytes are in strings): the
    // first byte that stops the scan is the lowest one `stops_in` marks.
    let mut words = rest.chunks_exact(8);
    let mut offset = 0;
    for w in words.by_ref() {
        let stops = stops_in(word(w, 0));
        if stops != 0 {
            let end = offset + (stops.trailing_zeros() / 8) as usize;
            return (rest[end] == b'"').then_some(at + end);
        }
        offset += 8;
    }
    // The last few bytes, padded with a byte that does not stop the scan.
    let mut tail = [b' '; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    let stops = stops_in(u64::from_le_bytes(tail));
    let end = offset + (stops.trailing_zeros() / 8) as usize;
    (stops != 0 && rest[end] == b'"').then_some(at + end)
}

/// The bytes of a word that end the scan of a string, as their high bits,
/// exact up to the first one: its closing quote, and the two things the fast
/// path leaves to serde_json (an escape, which needs decoding, and a control
/// character, which serde_json rejects). Bit tricks of "Bit Twiddling
/// Hacks": a byte equal to `c` is a zero byte of `w ^ c`; a borrow from a
/// byte below `n` can mark bytes after it, never before.
#[inline]
fn stops_in(w: u64) -> u64 {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    below(w ^ (ONES * u64::from(b'"')), 1) | below(w ^ (ONES * u64::from(b'\\')), 1) | below(w, 0x20)
}

/// Where the string, number, boolean or null starting at `at` ends; `None`
/// for a nested value or anything serde_json would reject.
fn scalar_end(bytes: &[u8], at: usize) -> Option<usize> {
    let literal = |word: &[u8]| bytes[at..].starts_with(word).then_some(at + word.len());
    match *bytes.get(at)? {
        b'"' => string_end(bytes, at + 1).map(|end| end + 1),
        b't' => literal(b"true"),
        b'f' => literal(b"false"),
        b'n' => literal(b"null"),
        b'-' | b'0'..=b'9' => number_end(bytes, at),
        _ => None,
    }
}

/// Where the number starting at `at` ends, when it is of JSON's grammar
/// (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`) and serde_json reads
/// it (a number out of f64's range is an error there).
fn number_end(bytes: &[u8], start: usize) -> Option<usize> {
    let digits = |at: &mut usize| {
        let from = *at;
        while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
            *at += 1;
        }
        *at - from
    };
    let mut at = start + (bytes[start] == b'-') as usize;
    let whole = digits(&mut at);
    // No digits, or a leading zero followed by more digits ("01").
    if whole == 0 || (whole > 1 && bytes[at - whole] == b'0') {
        return None;
    }
    let mut common = whole <= 15;
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        let decimals = digits(&mut at);
        if decimals == 0 {
            return None;
        }
        common = common && whole + decimals <= 15;
    }
    if let Some(b'e' | b'E') = bytes.get(at) {
        at += 1;
        if let Some(b'+' | b'-') = bytes.get(at) {
            at += 1;
        }
        if digits(&mut at) == 0 {
            return None;
        }
        common = false;
    }
    // Short plain numbers are always in range; the rest are checked once
    // here by the parser that will read them.
    if !common {
        number(std::str::from_utf8(&bytes[start..at]).ok()?)?;
    }
    Some(at)
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = Vec<(Cow<'de, str>, Slot<'de>)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(32));
        while let Some(key) = map.next_key_seed(Text)? {
            let value = map.next_value_seed(SlotSeed)?;
            fields.push((key, value));
        }
        Ok(fields)
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
            // In line order, then backwards, then each key twice in a row:
            // a lookup must not depend on the ones before it.
            let all: Vec<&str> = keys.iter().copied().chain(m.keys().map(String::as_str)).collect();
            for k in all.iter().chain(all.iter().rev()).flat_map(|k| [k, k]) {
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
            "\t{ \"a\" : 1 ,\"b\":\r\n\"x\" }\n",
            r#"{"a":-0,"b":0,"c":-0.0,"price":1E+2}"#,
            r#"{"a":1e-7,"b":123456789012345678,"c":1234567890123456789,"price":99999999999999999999}"#,
            r#"{"a":-9223372036854775809,"b":18446744073709551616,"c":0.30000000000000004,"price":2.5e-308}"#,
            r#"{"a":"","b":"é ü 日本","c":"tab\tin escape","price":"  19.99 "}"#,
        ] {
            agree(line, &keys);
        }
        let dup = JsonLine::parse(r#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(
            dup.field("a"),
            Some(Raw::Num(Number::from(2))),
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
            r#"{"a":1e400}"#,
            r#"{"a":1.}"#,
            r#"{"a":.5}"#,
            r#"{"a":-}"#,
            r#"{"a":+1}"#,
            r#"{"a":1e}"#,
            r#"{"a":tru}"#,
            r#"{"a":nul}"#,
            r#"{"a":truex}"#,
            "{\"a\":\"raw\ttab\"}",
            "{\"a\":\"raw\u{1}control\"}",
            r#"{"a" 1}"#,
            r#"{"a":1 "b":2}"#,
            r#"{,"a":1}"#,
            r#"{"a":"unterminated}"#,
            "{\"a\":1}\u{a0}",
        ] {
            assert!(JsonLine::parse(line).is_none(), "{line}");
            agree(line, &[]);
        }
    }

    /// Flat lines of escape-free strings, numbers, booleans and nulls, as
    /// bronze is made of, are read by the fast path; anything else is
    /// serde_json's (the tests above hold both to the same results).
    #[test]
    fn flat_lines_take_the_fast_path() {
        for line in [
            r#"{"event_id":"EVf5","price":8927.08,"quantity":3,"promotion_active":true,"x":null}"#,
            r#" { "a" : -1.5e3 } "#,
            "{}",
        ] {
            assert!(flat_object(line).is_some(), "{line}");
        }
        for line in [
            r#"{"a":"esc\"aped"}"#,
            r#"{"a":[1]}"#,
            r#"{"a":{}}"#,
            r#"{"a":01}"#,
            "[1]",
        ] {
            assert!(flat_object(line).is_none(), "{line}");
        }
    }

    /// The string scan reads eight bytes at a time: a byte that stops it
    /// (a quote, a backslash, a control character) or does not (UTF-8, DEL,
    /// the last byte before a control) at every offset of a word, in keys
    /// and in values, reads as serde_json reads it.
    #[test]
    fn string_scan_at_every_offset() {
        for stop in ["\"", "\\n", "\u{1}", "\u{1f}", "\t", " ", "\u{7f}", "é", "日", "\u{20}"] {
            for before in 0..20 {
                for after in [0, 1, 7, 8, 9] {
                    let text = format!("{}{stop}{}", "x".repeat(before), "y".repeat(after));
                    agree(&format!("{{\"k\":\"{text}\"}}"), &["k"]);
                    agree(&format!("{{\"{text}\":1,\"k\":2}}"), &["k"]);
                }
            }
        }
    }

    /// Keys that share a first slot (found among many), a key repeated, a
    /// line of as many fields as the index takes, and lines of more: every
    /// lookup still reads what a `Map` reads.
    #[test]
    fn shared_slots_repeats_and_wide_lines() {
        let names: Vec<String> = (0..2000).map(|i| format!("k{i}")).collect();
        let (a, b) = names
            .iter()
            .enumerate()
            .find_map(|(i, a)| {
                names[..i]
                    .iter()
                    .find(|b| slot(b.as_bytes()) == slot(a.as_bytes()))
                    .map(|b| (a, b))
            })
            .expect("2,000 keys in 256 slots share one");
        for line in [
            format!(r#"{{"{a}":1,"{b}":2,"x":3}}"#),
            format!(r#"{{"{b}":"one","x":null,"{a}":"two","{b}":"three"}}"#),
            format!(r#"{{"{a}":1,"{a}":2}}"#),
        ] {
            assert!(flat_object(&line).is_some(), "{line}");
            agree(&line, &[a, b, "x", "k1999"]);
        }
        for n in [INDEXED, INDEXED + 1, 600] {
            let wide: Vec<String> = names[..n]
                .iter()
                .enumerate()
                .map(|(i, k)| format!("\"{k}\":{i}"))
                .collect();
            let wide = format!("{{{}}}", wide.join(","));
            assert_eq!(
                JsonLine::parse(&wide).map(|l| l.index.is_some()),
                Some(n <= INDEXED),
                "{n} fields"
            );
            agree(&wide, &["k0", "k191", "k192", "k599", "k600"]);
        }
    }

    proptest! {
        /// Lines of JSON's tokens and near-tokens, most of them broken:
        /// accepted and rejected alike, and read alike when accepted.
        #[test]
        fn same_verdict_on_jsonish_lines(
            tokens in prop::collection::vec(prop::sample::select(vec![
                "{", "}", "[", "]", ":", ",", " ", "\t", "\n", "\"a\"", "\"b\"", "\"\"", "\"x y\"",
                "\"tab\there\"", "\"bell\u{7}\"", "\"esc\\\"q\"", "\"\\u00e9\"", "\"\\x\"", "\"open",
                "0", "01", "-0", "-", "1.", ".5", "1e5", "2E-3", "1e", "-12.5", "+1", "1e400",
                "18446744073709551615", "18446744073709551616", "true", "tru", "false", "null", "nul", "é",
            ]), 0..14)
        ) {
            let line = tokens.concat();
            agree(&line, &["a", "b"]);
            agree(&format!("{{{line}}}"), &["a", "b"]);
            agree(&format!("{{\"a\":{line}}}"), &["a", "b"]);
        }

        /// Objects whose values are each right or nearly right (a leading
        /// zero, a raw control character, a bad escape, half a literal):
        /// one bad value must reject the line on both paths.
        #[test]
        fn same_verdict_on_nearly_right_values(
            pairs in prop::collection::vec((
                prop::sample::select(vec!["\"a\"", "\"b\"", "\"\\u0062\"", "\"k\tx\"", "a"]),
                prop::sample::select(vec![
                    "0", "01", "-0", "-01", "1.", ".5", "1e5", "1e", "-", "+1", "1e400", "3.25", "-7",
                    "18446744073709551616", "true", "tru", "false", "null", "nul", "nulls", "\"x\"",
                    "\"tab\there\"", "\"bell\u{7}\"", "\"us\u{1f}\"", "\"esc\\\"q\"", "\"\\x\"", "\"é\"", "[1,2]", "{}",
                ]),
                prop::sample::select(vec![":", " : ", ": "]),
            ), 1..5),
            comma in prop::sample::select(vec![",", " , ", ",\n"]),
        ) {
            let body: Vec<String> = pairs.iter().map(|(k, v, colon)| format!("{k}{colon}{v}")).collect();
            agree(&format!("{{{}}}", body.join(comma)), &["a", "b"]);
        }

        /// Any number text: the same `Number` as serde_json's, or rejected
        /// by both.
        #[test]
        fn same_numbers(n in r#"-?(0|[1-9][0-9]{0,22})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?"#) {
            agree(&format!("{{\"a\":{n}}}"), &["a"]);
        }

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
