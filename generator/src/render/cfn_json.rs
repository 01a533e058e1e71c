//! A rendered CloudFormation template (YAML with short-form intrinsics) as
//! JSON with long-form intrinsics.
//!
//! Why: the YAML is what people read, lint and commit, but the deploy engine
//! sends JSON. CloudFormation accepts both; emulators do not parse both as
//! well (moto's YAML loader leaves `!GetAtt [Resource, Attr]` unresolved and
//! the stack fails with "references undefined resource ScalarNode"). JSON has
//! one spelling of every intrinsic, so whatever reads the template reads what
//! CloudFormation would. Converting the rendered text (rather than rendering a
//! second dialect from the templates) keeps one set of templates: what deploys
//! is exactly what was linted.
//!
//! Only the YAML the renderer writes needs converting: block and flow
//! collections, plain and quoted scalars, the short-form tags. Anchors and
//! aliases are not used by the templates and are refused.

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Value as Json};

/// A template that cannot be converted (a renderer bug, never user input).
#[derive(Debug, thiserror::Error)]
#[error("template line {line}, column {col}: {message}")]
pub struct ConvertError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

enum Frame {
    Seq(Vec<Json>, Option<String>),
    Map(Map<String, Json>, Option<String>, Option<String>),
}

/// The template as JSON, intrinsics in their long form
/// (`!Ref X` -> `{"Ref": "X"}`, `!GetAtt [X, Arn]` -> `{"Fn::GetAtt": ["X", "Arn"]}`).
pub fn to_json(yaml: &str) -> Result<Json, ConvertError> {
    let mut parser = Parser::new_from_str(yaml);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Json> = None;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| ConvertError {
            line: e.marker().line(),
            col: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        let fail = |message: String| ConvertError {
            line: span.start.line(),
            col: span.start.col() + 1,
            message,
        };
        let value = match event {
            Event::Scalar(text, style, anchor, tag) => {
                if anchor > 0 {
                    return Err(fail("anchors are not expected in a rendered template".into()));
                }
                let tag = tag.map(|t| t.suffix.clone());
                let value = if matches!(style, ScalarStyle::Plain) {
                    plain_scalar(&text)
                } else {
                    Json::String(text.into_owned())
                };
                Some(intrinsic(tag.as_deref(), value).map_err(fail)?)
            }
            Event::SequenceStart(_, tag) => {
                stack.push(Frame::Seq(Vec::new(), tag.map(|t| t.suffix.clone())));
                None
            }
            Event::MappingStart(_, tag) => {
                stack.push(Frame::Map(Map::new(), None, tag.map(|t| t.suffix.clone())));
                None
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, tag) = match stack.pop() {
                    Some(Frame::Seq(items, tag)) => (Json::Array(items), tag),
                    Some(Frame::Map(map, _, tag)) => (Json::Object(map), tag),
                    None => return Err(fail("unbalanced collection".into())),
                };
                Some(intrinsic(tag.as_deref(), value).map_err(fail)?)
            }
            Event::Alias(_) => return Err(fail("aliases are not expected in a rendered template".into())),
            Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) | Event::DocumentEnd | Event::Nothing => {
                None
            }
        };
        let Some(value) = value else { continue };
        match stack.last_mut() {
            None => root = Some(value),
            Some(Frame::Seq(items, _)) => items.push(value),
            Some(Frame::Map(map, pending, _)) => match pending.take() {
                None => match value {
                    Json::String(key) => *pending = Some(key),
                    other => *pending = Some(other.to_string()),
                },
                Some(key) => {
                    if map.insert(key.clone(), value).is_some() {
                        return Err(fail(format!("duplicate key `{key}`")));
                    }
                }
            },
        }
    }
    root.ok_or(ConvertError {
        line: 1,
        col: 1,
        message: "the template is empty".into(),
    })
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn plain_scalar(text: &str) -> Json {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Json::Null,
        "true" | "True" | "TRUE" => Json::Bool(true),
        "false" | "False" | "FALSE" => Json::Bool(false),
        _ => {
            if let Ok(n) = text.parse::<i64>() {
                return Json::from(n);
            }
            let numeric = text
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
                && text.chars().any(|c| c.is_ascii_digit());
            match text.parse::<f64>() {
                Ok(f) if numeric && f.is_finite() => serde_json::Number::from_f64(f)
                    .map(Json::Number)
                    .unwrap_or_else(|| Json::String(text.into())),
                _ => Json::String(text.into()),
            }
        }
    }
}

/// The long form of a short-form intrinsic, or the value itself when untagged.
fn intrinsic(tag: Option<&str>, value: Json) -> Result<Json, String> {
    let Some(tag) = tag else { return Ok(value) };
    let name = match tag {
        "Ref" | "Condition" => tag.to_string(),
        "GetAtt" => {
            // `!GetAtt X.Arn` is the scalar spelling of `!GetAtt [X, Arn]`.
            let value = match value {
                Json::String(s) => match s.split_once('.') {
                    Some((resource, attribute)) => Json::from(vec![resource, attribute]),
                    None => return Err(format!("`!GetAtt {s}` names no attribute")),
                },
                other => other,
            };
            return Ok(single("Fn::GetAtt", value));
        }
        "Sub" | "Join" | "Select" | "Split" | "If" | "Equals" | "And" | "Or" | "Not" | "FindInMap" | "Base64"
        | "Cidr" | "GetAZs" | "ImportValue" => format!("Fn::{tag}"),
        "str" => return Ok(Json::String(value_text(&value))),
        other => return Err(format!("unknown tag `!{other}`")),
    };
    Ok(single(&name, value))
}

fn value_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn single(key: &str, value: Json) -> Json {
    let mut m = Map::new();
    m.insert(key.to_string(), value);
    Json::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_forms_become_long_forms() {
        let yaml = r#"
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Role: !GetAtt [Role, Arn]
      Other: !GetAtt Key.Arn
      Bucket: !Ref Bucket
      Name: !Sub "${AWS::StackName}-fn"
      Joined: !Join ["", ["a", !Ref B]]
      MemorySize: 512
      Ratio: 0.5
      Enabled: true
      Quoted: "512"
      Empty: []
      Nothing: {}
      Account: 012345678901x
"#;
        let j = to_json(yaml).unwrap();
        let p = &j["Resources"]["Fn"]["Properties"];
        assert_eq!(p["Role"], json!({"Fn::GetAtt": ["Role", "Arn"]}));
        assert_eq!(p["Other"], json!({"Fn::GetAtt": ["Key", "Arn"]}));
        assert_eq!(p["Bucket"], json!({"Ref": "Bucket"}));
        assert_eq!(p["Name"], json!({"Fn::Sub": "${AWS::StackName}-fn"}));
        assert_eq!(p["Joined"], json!({"Fn::Join": ["", ["a", {"Ref": "B"}]]}));
        assert_eq!(p["MemorySize"], json!(512));
        assert_eq!(p["Ratio"], json!(0.5));
        assert_eq!(p["Enabled"], json!(true));
        assert_eq!(p["Quoted"], json!("512"), "a quoted number stays a string");
        assert_eq!(p["Empty"], json!([]));
        assert_eq!(p["Nothing"], json!({}));
        assert_eq!(p["Account"], json!("012345678901x"));
    }

    #[test]
    fn bad_input_is_an_error_with_a_position() {
        let e = to_json("A: !Bogus x\n").unwrap_err();
        assert!(e.message.contains("!Bogus"), "{e}");
        assert_eq!(e.line, 1);
        let e = to_json("A: 1\nA: 2\n").unwrap_err();
        assert!(e.message.contains("duplicate key"), "{e}");
        assert!(to_json("").is_err());
    }
}
