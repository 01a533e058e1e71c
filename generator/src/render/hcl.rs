//! `terraform fmt`'s layout, so rendered HCL passes `terraform fmt -check`
//! without needing terraform at render time.
//!
//! The templates and the `hcl` filter already write two-space indentation and
//! `key = value`; what remains is fmt's alignment: consecutive single-line
//! attributes at the same indentation have their `=` aligned. A multi-line
//! attribute, a block, a blank line or a comment ends the group (checked
//! against terraform 1.11's `fmt`).

/// Aligns the `=` of attribute groups; ensures one trailing newline.
pub fn format(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut group: Vec<(usize, &str, &str)> = Vec::new();
    fn flush(group: &mut Vec<(usize, &str, &str)>, out: &mut String) {
        let width = group.iter().map(|(_, k, _)| k.chars().count()).max().unwrap_or(0);
        for (indent, key, value) in group.drain(..) {
            for _ in 0..indent {
                out.push(' ');
            }
            out.push_str(key);
            for _ in key.chars().count()..width {
                out.push(' ');
            }
            out.push_str(" = ");
            out.push_str(value);
            out.push('\n');
        }
    }
    for line in text.lines() {
        match single_line_attribute(line) {
            Some((indent, key, value)) => {
                if group.first().is_some_and(|(i, _, _)| *i != indent) {
                    flush(&mut group, &mut out);
                }
                group.push((indent, key, value));
            }
            None => {
                flush(&mut group, &mut out);
                match multi_line_attribute_start(line) {
                    Some(l) => out.push_str(&l),
                    None => out.push_str(line.trim_end()),
                }
                out.push('\n');
            }
        }
    }
    flush(&mut group, &mut out);
    while out.ends_with("\n\n") {
        out.pop();
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// A line opening a multi-line attribute (`key = [`), with fmt's single space
/// before `=` (such attributes are never aligned).
fn multi_line_attribute_start(line: &str) -> Option<String> {
    let indent = line.len() - line.trim_start().len();
    let rest = &line[indent..];
    let key_end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))?;
    if key_end == 0 {
        return None;
    }
    let value = rest[key_end..].trim_start().strip_prefix('=')?.trim();
    (!value.is_empty() && !balanced(value)).then(|| format!("{:indent$}{} = {value}", "", &rest[..key_end]))
}

/// `(indent, key, value)` of a line holding a whole attribute.
fn single_line_attribute(line: &str) -> Option<(usize, &str, &str)> {
    let indent = line.len() - line.trim_start().len();
    let rest = &line[indent..];
    if rest.starts_with('#') {
        return None;
    }
    let key_end = if let Some(quoted) = rest.strip_prefix('"') {
        quoted.find('"')? + 2
    } else {
        rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))?
    };
    if key_end == 0 {
        return None;
    }
    let after = rest[key_end..].trim_start();
    let value = after.strip_prefix('=')?.trim();
    if value.is_empty() || !balanced(value) {
        return None;
    }
    Some((indent, &rest[..key_end], value))
}

/// True when every bracket opened in `value` (outside strings) is closed.
fn balanced(value: &str) -> bool {
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    for c in value.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => depth -= 1,
            _ => {}
        }
    }
    depth == 0 && !in_string
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_like_terraform_fmt() {
        let input = "resource \"x\" \"y\" {\n  a = 1\n  bbbb = 2\n  obj = {\n    k = \"v\"\n    longer_key = \"w\"\n  }\n  c = 3\n  dd = [\n    1,\n  ]\n  eee = 4\n\n  f = 5\n  block {\n    z = 1\n  }\n  gg = 6\n  policy = jsonencode({\n    Version = \"2012-10-17\"\n  })\n}";
        // The expected text is what `terraform fmt` 1.11 printed for the input.
        let expected = "resource \"x\" \"y\" {\n  a    = 1\n  bbbb = 2\n  obj = {\n    k          = \"v\"\n    longer_key = \"w\"\n  }\n  c = 3\n  dd = [\n    1,\n  ]\n  eee = 4\n\n  f = 5\n  block {\n    z = 1\n  }\n  gg = 6\n  policy = jsonencode({\n    Version = \"2012-10-17\"\n  })\n}\n";
        assert_eq!(format(input), expected);
    }

    #[test]
    fn quoted_keys_and_strings_with_brackets() {
        let input = "  \"aws:SecureTransport\" = \"false\"\n  b = \"has { in it\"\n";
        assert_eq!(
            format(input),
            "  \"aws:SecureTransport\" = \"false\"\n  b                     = \"has { in it\"\n"
        );
    }
}
