//! Template filters: values formatted for each target, so quoting, escaping
//! and intrinsic functions are handled in one tested place, not in templates.

use std::collections::HashMap;

use serde_json::Value as Json;
use tera::{Tera, Value};

use crate::naming::ACCOUNT_PLACEHOLDER;

pub fn register(tera: &mut Tera) {
    tera.register_filter("cfn", |v: &Value, args: &HashMap<String, Value>| {
        let indent = args.get("indent").and_then(Value::as_u64).unwrap_or(0) as usize;
        Ok(Value::String(cfn_value(v, indent)))
    });
    tera.register_filter("hcl", |v: &Value, args: &HashMap<String, Value>| {
        let indent = args.get("indent").and_then(Value::as_u64).unwrap_or(0) as usize;
        Ok(Value::String(hcl_value(v, indent)))
    });
    tera.register_filter("snake", |v: &Value, _: &HashMap<String, Value>| {
        Ok(Value::String(snake(v.as_str().unwrap_or_default())))
    });
}

/// `IngestEventSourceMapping` -> `ingest_event_source_mapping` (Terraform names).
pub fn snake(s: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower = i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(*c);
        } else {
            out.push('_');
        }
    }
    out
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
pub fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

/// A value as YAML for CloudFormation. Scalars come back as ` value` (with
/// the space after the colon), mappings and lists as an indented block
/// starting on the next line, so templates write `Key:{{ v | cfn(indent=6) }}`.
/// Strings holding `${...}` become `!Sub` strings.
pub fn cfn_value(v: &Json, indent: usize) -> String {
    match v {
        Json::Object(map) if !map.is_empty() => {
            let mut out = String::new();
            for (k, val) in map {
                out.push('\n');
                out.push_str(&" ".repeat(indent));
                out.push_str(&yaml_key(k));
                out.push(':');
                out.push_str(&cfn_value(val, indent + 2));
            }
            out
        }
        Json::Array(items) if !items.is_empty() => {
            let mut out = String::new();
            for item in items {
                out.push('\n');
                out.push_str(&" ".repeat(indent));
                out.push('-');
                let inner = cfn_value(item, indent + 2);
                match item {
                    // The first key of a mapping sits on the dash's line.
                    Json::Object(m) if !m.is_empty() => out.push_str(&format!(" {}", &inner[indent + 3..])),
                    _ => out.push_str(&inner),
                }
            }
            out
        }
        Json::Object(_) => " {}".into(),
        Json::Array(_) => " []".into(),
        Json::Null => " null".into(),
        Json::Bool(b) => format!(" {b}"),
        Json::Number(n) => format!(" {n}"),
        Json::String(s) if s.contains("${") => format!(" !Sub {}", yaml_string(s)),
        Json::String(s) => format!(" {}", yaml_string(s)),
    }
}

fn yaml_key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && k.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if plain { k.to_string() } else { yaml_string(k) }
}

/// A value as an HCL expression. Objects and long lists span lines, indented
/// from `indent` (the column of the line holding the attribute).
pub fn hcl_value(v: &Json, indent: usize) -> String {
    match v {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => hcl_string(s),
        Json::Array(items) => {
            let scalars = items.iter().all(|i| !matches!(i, Json::Object(_) | Json::Array(_)));
            let inline: Vec<String> = items.iter().map(|i| hcl_value(i, indent)).collect();
            let one_line = format!("[{}]", inline.join(", "));
            if items.is_empty() || (scalars && one_line.len() + indent < 100) {
                one_line
            } else {
                let mut out = String::from("[\n");
                for item in items {
                    out.push_str(&format!("{:w$}{},\n", "", hcl_value(item, indent + 2), w = indent + 2));
                }
                out.push_str(&format!("{:indent$}]", ""));
                out
            }
        }
        Json::Object(map) => {
            if map.is_empty() {
                return "{}".into();
            }
            let mut out = String::from("{\n");
            for (k, val) in map {
                out.push_str(&format!(
                    "{:w$}{} = {}\n",
                    "",
                    hcl_key(k),
                    hcl_value(val, indent + 2),
                    w = indent + 2
                ));
            }
            out.push_str(&format!("{:indent$}}}", ""));
            out
        }
    }
}

fn hcl_key(k: &str) -> String {
    let ident = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ident {
        k.to_string()
    } else {
        serde_json::to_string(k).expect("strings serialize")
    }
}

/// An HCL string: JSON escapes, template sequences escaped, and the account
/// placeholder turned into the caller-identity data source.
pub fn hcl_string(s: &str) -> String {
    let quoted = serde_json::to_string(s).expect("strings serialize");
    if !quoted.contains("${") && !quoted.contains("%{") {
        return quoted;
    }
    let escaped = quoted.replace("${", "$${").replace("%{", "%%{");
    escaped
        .replace(
            &format!("${ACCOUNT_PLACEHOLDER}"),
            "${data.aws_caller_identity.current.account_id}",
        )
        .replace("$${AWS::Partition}", "${data.aws_partition.current.partition}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cfn_blocks_and_sub() {
        let v = json!({"Bucket": "b", "List": [{"A": 1, "B": "x"}, "s"], "Arn": "arn:aws:sns:eu-west-1:${AWS::AccountId}:t", "aws:SecureTransport": "false"});
        assert_eq!(
            cfn_value(&v, 2),
            "\n  Bucket: \"b\"\n  List:\n    - A: 1\n      B: \"x\"\n    - \"s\"\n  Arn: !Sub \"arn:aws:sns:eu-west-1:${AWS::AccountId}:t\"\n  \"aws:SecureTransport\": \"false\""
        );
        assert_eq!(cfn_value(&json!([]), 4), " []");
    }

    #[test]
    fn hcl_strings_escape_templates_but_keep_the_account() {
        assert_eq!(hcl_string("a ${b} %{c}"), "\"a $${b} %%{c}\"");
        assert_eq!(
            hcl_string("arn:aws:sns:eu-west-1:${AWS::AccountId}:t"),
            "\"arn:aws:sns:eu-west-1:${data.aws_caller_identity.current.account_id}:t\""
        );
    }

    #[test]
    fn hcl_objects_and_lists() {
        let v = json!({"a": [1, 2], "b": {"c": "d"}, "aws:x": true});
        assert_eq!(
            hcl_value(&v, 2),
            "{\n    a = [1, 2]\n    b = {\n      c = \"d\"\n    }\n    \"aws:x\" = true\n  }"
        );
    }

    #[test]
    fn snake_names() {
        assert_eq!(snake("IngestEventSourceMapping"), "ingest_event_source_mapping");
        assert_eq!(snake("Etl"), "etl");
        assert_eq!(snake("AlertsSubscription1"), "alerts_subscription1");
    }
}
