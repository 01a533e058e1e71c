//! Structural check of a merged environment against the JSON Schema of the
//! typed model, collecting every problem with its location.
//!
//! Why check against the schema rather than let serde fail? serde stops at the
//! first error and knows neither file nor line; the schema is generated from the
//! same types (so the two cannot drift), and walking it lets pipegen report all
//! unknown keys, wrong types and out-of-range values at once, each at the line
//! that wrote it, with a "did you mean". The walk also types YAML's untyped
//! scalars by what the schema expects, then serde builds the model from the
//! result, which by then cannot fail on structure.

use serde_json::{Map, Number, Value as Json};

use super::yaml::{Node, Value};
use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};

/// Walks `node` against `schema` (a root schema with `$defs`). Returns the JSON
/// value when there is no problem; otherwise every problem, and the value with
/// the offending entries left out (so later checks can still run on the rest
/// and report their problems in the same pass).
pub fn check(node: &Node, schema: &Json) -> Result<Json, (Diagnostics, Json)> {
    let mut walker = Walker {
        root: schema,
        diagnostics: Diagnostics::default(),
    };
    let value = walker.walk(node, schema, "").unwrap_or(Json::Null);
    if walker.diagnostics.is_empty() {
        Ok(value)
    } else {
        Err((walker.diagnostics, value))
    }
}

struct Walker<'s> {
    root: &'s Json,
    diagnostics: Diagnostics,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl<'s> Walker<'s> {
    fn resolve(&self, mut schema: &'s Json) -> &'s Json {
        while let Some(reference) = schema.get("$ref").and_then(Json::as_str) {
            let pointer = reference.trim_start_matches('#');
            match self.root.pointer(pointer) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    fn error(&mut self, node: &Node, path: &str, message: String, help: Option<String>) {
        let mut d = Diagnostic::new(Some(node.location.clone()), path, message);
        d.help = help;
        self.diagnostics.push(d);
    }

    fn walk(&mut self, node: &Node, schema: &'s Json, path: &str) -> Option<Json> {
        let schema = self.resolve(schema);
        if schema == &Json::Bool(true) || schema.as_object().is_some_and(Map::is_empty) {
            return Some(untyped(node));
        }
        if let Some(values) = enum_values(self, schema) {
            return self.walk_enum(node, &values, schema, path);
        }
        for combinator in ["anyOf", "oneOf"] {
            if let Some(branches) = schema.get(combinator).and_then(Json::as_array) {
                return self.walk_any_of(node, branches, path);
            }
        }
        let types: Vec<&str> = match schema.get("type") {
            Some(Json::String(t)) => vec![t.as_str()],
            Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
            _ => return Some(untyped(node)),
        };
        if matches!(node.value, Value::Null) {
            if types.contains(&"null") {
                return Some(Json::Null);
            }
            self.error(
                node,
                path,
                format!("missing value: expected {}", describe(schema, &types)),
                Some("write a value after the colon, or remove the key to use the default".into()),
            );
            return None;
        }
        let concrete = types.iter().find(|t| **t != "null").copied().unwrap_or("null");
        match concrete {
            "object" => self.walk_object(node, schema, path),
            "array" => self.walk_array(node, schema, path),
            "string" => self.walk_string(node, schema, path),
            "integer" => self.walk_integer(node, schema, path),
            "number" => self.walk_number(node, schema, path),
            "boolean" => self.walk_boolean(node, path),
            _ => Some(untyped(node)),
        }
    }

    fn walk_any_of(&mut self, node: &Node, branches: &'s [Json], path: &str) -> Option<Json> {
        if matches!(node.value, Value::Null)
            && branches
                .iter()
                .any(|b| self.resolve(b).get("type").and_then(Json::as_str) == Some("null"))
        {
            return Some(Json::Null);
        }
        let candidates: Vec<&'s Json> = branches
            .iter()
            .filter(|b| self.resolve(b).get("type").and_then(Json::as_str) != Some("null"))
            .collect();
        // Try each branch quietly; if none fits, report the errors of the last
        // one tried (for `Option<T>` there is only one) and keep its partial value.
        let saved = std::mem::take(&mut self.diagnostics);
        let mut last = (None, Diagnostics::default());
        for branch in &candidates {
            let value = self.walk(node, branch, path);
            if value.is_some() && self.diagnostics.is_empty() {
                self.diagnostics = saved;
                return value;
            }
            last = (value, std::mem::take(&mut self.diagnostics));
        }
        self.diagnostics = saved;
        self.diagnostics.extend(last.1);
        last.0
    }

    fn walk_enum(&mut self, node: &Node, values: &[String], schema: &Json, path: &str) -> Option<Json> {
        let nullable = schema_allows_null(schema);
        match &node.value {
            Value::Null if nullable => Some(Json::Null),
            Value::Scalar { text, .. } if values.iter().any(|v| v == text) => Some(Json::String(text.clone())),
            Value::Scalar { text, .. } => {
                let hint = did_you_mean(text, values.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("use one of: {}", values.join(", ")));
                self.error(
                    node,
                    path,
                    format!("`{text}` is not one of: {}", values.join(", ")),
                    Some(hint),
                );
                None
            }
            _ => {
                self.error(
                    node,
                    path,
                    format!("expected one of: {}; found a {}", values.join(", "), node.type_name()),
                    None,
                );
                None
            }
        }
    }

    fn walk_object(&mut self, node: &Node, schema: &'s Json, path: &str) -> Option<Json> {
        let Value::Map(entries) = &node.value else {
            self.error(
                node,
                path,
                format!("expected a mapping (`key: value` lines), found a {}", node.type_name()),
                None,
            );
            return None;
        };
        let properties = schema.get("properties").and_then(Json::as_object);
        let additional = schema.get("additionalProperties");
        let mut out = Map::new();
        let mut ok = true;
        for (key, value) in entries {
            let key_path = join(path, &key.name);
            let sub = match (properties.and_then(|p| p.get(&key.name)), additional) {
                (Some(s), _) => s,
                (None, Some(s)) if s != &Json::Bool(false) => s,
                _ => {
                    let known: Vec<&str> = properties
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    let help = match did_you_mean(&key.name, known.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("known keys here: {}", known.join(", ")),
                    };
                    self.diagnostics.push(
                        Diagnostic::new(
                            Some(key.location.clone()),
                            key_path,
                            format!("unknown key `{}`", key.name),
                        )
                        .with_help(help),
                    );
                    ok = false;
                    continue;
                }
            };
            match self.walk(value, sub, &key_path) {
                Some(v) => {
                    out.insert(key.name.clone(), v);
                }
                None => ok = false,
            }
        }
        if let Some(required) = schema.get("required").and_then(Json::as_array) {
            for name in required.iter().filter_map(Json::as_str) {
                if !entries.iter().any(|(k, _)| k.name == name) {
                    let what = properties
                        .and_then(|p| p.get(name))
                        .map(|s| self.resolve(s))
                        .and_then(|s| s.get("description"))
                        .and_then(Json::as_str)
                        .map(first_sentence)
                        .unwrap_or_default();
                    self.error(
                        node,
                        &join(path, name),
                        format!("missing required key `{name}`"),
                        Some(if what.is_empty() {
                            format!("add `{name}: ...` here")
                        } else {
                            format!("add `{name}: ...` here ({what})")
                        }),
                    );
                    ok = false;
                }
            }
        }
        let _ = ok; // problems are recorded; keep the entries that were fine
        Some(Json::Object(out))
    }

    fn walk_array(&mut self, node: &Node, schema: &'s Json, path: &str) -> Option<Json> {
        let Value::Seq(items) = &node.value else {
            self.error(
                node,
                path,
                format!("expected a list, found a {}", node.type_name()),
                Some("write the items as `- item` lines or `[a, b]`".into()),
            );
            return None;
        };
        let item_schema = schema.get("items").unwrap_or(&Json::Bool(true));
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.walk(item, item_schema, &format!("{path}[{i}]")) {
                Some(v) => out.push(v),
                None => ok = false,
            }
        }
        let _ = ok; // problems are recorded; keep the items that were fine
        Some(Json::Array(out))
    }

    fn walk_string(&mut self, node: &Node, schema: &Json, path: &str) -> Option<Json> {
        let Value::Scalar { text, .. } = &node.value else {
            self.error(
                node,
                path,
                format!("expected a text value, found a {}", node.type_name()),
                None,
            );
            return None;
        };
        let len = text.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Json::as_u64)
            && len < min
        {
            self.error(node, path, format!("`{text}` is shorter than {min} characters"), None);
            return Some(Json::String(text.clone()));
        }
        if let Some(max) = schema.get("maxLength").and_then(Json::as_u64)
            && len > max
        {
            self.error(
                node,
                path,
                format!("`{text}` is {len} characters long; at most {max} are allowed"),
                None,
            );
            return Some(Json::String(text.clone()));
        }
        if schema.get("format").and_then(Json::as_str) == Some("date")
            && chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_err()
        {
            self.error(
                node,
                path,
                format!("`{text}` is not a date"),
                Some("write dates as YYYY-MM-DD, e.g. 2025-10-23".into()),
            );
            return None;
        }
        Some(Json::String(text.clone()))
    }

    fn walk_integer(&mut self, node: &Node, schema: &Json, path: &str) -> Option<Json> {
        let parsed = match &node.value {
            Value::Scalar { text, quoted: false } => text.replace('_', "").parse::<i128>().ok(),
            _ => None,
        };
        let Some(n) = parsed else {
            self.error(
                node,
                path,
                format!("expected a whole number, found {}", shown(node)),
                None,
            );
            return None;
        };
        let (min, max) = integer_bounds(schema);
        if n < min || n > max {
            self.error(node, path, format!("{n} is out of range: allowed {min}..={max}"), None);
            // Keep a value the Rust type can hold, so the rest of the file is
            // still checked for meaning in the same pass.
            let (fmin, fmax) = format_bounds(schema);
            return (fmin <= n && n <= fmax).then(|| Json::Number(Number::from(n as i64)));
        }
        Some(Json::Number(Number::from(n as i64)))
    }

    fn walk_number(&mut self, node: &Node, schema: &Json, path: &str) -> Option<Json> {
        let parsed = match &node.value {
            Value::Scalar { text, quoted: false } => text.parse::<f64>().ok().filter(|f| f.is_finite()),
            _ => None,
        };
        let Some(n) = parsed else {
            self.error(node, path, format!("expected a number, found {}", shown(node)), None);
            return None;
        };
        let min = schema.get("minimum").and_then(Json::as_f64).unwrap_or(f64::MIN);
        let max = schema.get("maximum").and_then(Json::as_f64).unwrap_or(f64::MAX);
        if n < min || n > max {
            self.error(node, path, format!("{n} is out of range: allowed {min}..={max}"), None);
            return None;
        }
        Number::from_f64(n).map(Json::Number)
    }

    fn walk_boolean(&mut self, node: &Node, path: &str) -> Option<Json> {
        match &node.value {
            Value::Scalar { text, quoted: false } if matches!(text.as_str(), "true" | "True" | "TRUE") => {
                Some(Json::Bool(true))
            }
            Value::Scalar { text, quoted: false } if matches!(text.as_str(), "false" | "False" | "FALSE") => {
                Some(Json::Bool(false))
            }
            _ => {
                self.error(
                    node,
                    path,
                    format!("expected true or false, found {}", shown(node)),
                    Some("YAML 1.2 booleans are `true` and `false` (not yes/no/on/off)".into()),
                );
                None
            }
        }
    }
}

fn shown(node: &Node) -> String {
    match &node.value {
        Value::Scalar { text, quoted } => {
            let text: String = if text.chars().count() > 40 {
                format!("{}...", text.chars().take(40).collect::<String>())
            } else {
                text.clone()
            };
            if *quoted {
                format!("the quoted text `{text}`")
            } else {
                format!("`{text}`")
            }
        }
        _ => format!("a {}", node.type_name()),
    }
}

fn first_sentence(s: &str) -> &str {
    let end = [s.find(". "), s.find(".\n"), s.find('\n')].into_iter().flatten().min();
    end.map(|i| &s[..i]).unwrap_or(s).trim_end_matches('.').trim()
}

/// Inclusive bounds of an integer schema's `format` (what the Rust type holds).
fn format_bounds(schema: &Json) -> (i128, i128) {
    match schema.get("format").and_then(Json::as_str) {
        Some("uint8") => (0, u8::MAX as i128),
        Some("uint16") => (0, u16::MAX as i128),
        Some("uint32" | "uint") => (0, u32::MAX as i128),
        Some("uint64") => (0, i64::MAX as i128),
        Some("int8") => (i8::MIN as i128, i8::MAX as i128),
        Some("int16") => (i16::MIN as i128, i16::MAX as i128),
        Some("int32" | "int") => (i32::MIN as i128, i32::MAX as i128),
        _ => (i64::MIN as i128, i64::MAX as i128),
    }
}

/// Inclusive bounds of an integer schema: `minimum`/`maximum` within its format's.
fn integer_bounds(schema: &Json) -> (i128, i128) {
    let (fmin, fmax) = format_bounds(schema);
    let min = schema
        .get("minimum")
        .and_then(Json::as_f64)
        .map(|f| f.ceil() as i128)
        .unwrap_or(fmin);
    let max = schema
        .get("maximum")
        .and_then(Json::as_f64)
        .map(|f| f.floor() as i128)
        .unwrap_or(fmax);
    (min.max(fmin), max.min(fmax))
}

fn schema_allows_null(schema: &Json) -> bool {
    match schema.get("type") {
        Some(Json::Array(ts)) => ts.iter().any(|t| t == "null"),
        Some(Json::String(t)) => t == "null",
        _ => false,
    }
}

/// The allowed values of an enumeration schema, whether written as `enum` or as
/// `oneOf` of `const`s (schemars does the latter when variants have docs).
fn enum_values(walker: &Walker<'_>, schema: &Json) -> Option<Vec<String>> {
    if let Some(values) = schema.get("enum").and_then(Json::as_array) {
        return Some(values.iter().filter_map(Json::as_str).map(String::from).collect());
    }
    let branches = schema.get("oneOf").or_else(|| schema.get("anyOf"))?.as_array()?;
    let mut out = Vec::new();
    for b in branches {
        let b = walker.resolve(b);
        if let Some(c) = b.get("const").and_then(Json::as_str) {
            out.push(c.to_string());
        } else if let Some(vs) = b.get("enum").and_then(Json::as_array) {
            out.extend(vs.iter().filter_map(Json::as_str).map(String::from));
        } else {
            return None;
        }
    }
    Some(out)
}

fn describe(schema: &Json, types: &[&str]) -> String {
    let t = types.iter().find(|t| **t != "null").copied().unwrap_or("value");
    let name = match t {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a text value",
        "integer" => "a whole number",
        "number" => "a number",
        "boolean" => "true or false",
        _ => "a value",
    };
    match schema.get("description").and_then(Json::as_str) {
        Some(d) => format!("{name} ({})", first_sentence(d)),
        None => name.to_string(),
    }
}

/// A scalar with no schema to type it: a number or boolean when it looks like
/// one and is not quoted, else text.
fn untyped(node: &Node) -> Json {
    match &node.value {
        Value::Null => Json::Null,
        Value::Scalar { text, quoted: true } => Json::String(text.clone()),
        Value::Scalar { text, quoted: false } => {
            if let Ok(i) = text.parse::<i64>() {
                Json::Number(i.into())
            } else if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
                Json::Number(n)
            } else if text == "true" || text == "false" {
                Json::Bool(text == "true")
            } else {
                Json::String(text.clone())
            }
        }
        Value::Seq(items) => Json::Array(items.iter().map(untyped).collect()),
        Value::Map(entries) => Json::Object(entries.iter().map(|(k, v)| (k.name.clone(), untyped(v))).collect()),
    }
}
