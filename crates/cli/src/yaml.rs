//! A small YAML emitter for JSON values: block style maps and lists, strings plain where YAML
//! reads them back as the same string and double-quoted otherwise, text with line breaks as
//! literal blocks; the keys that say what an entry is first. Enough for readable Kubernetes
//! manifests and Prometheus / Alertmanager files without a YAML crate.

use serde_json::Value;
use std::fmt::Write as _;

/// One YAML document per value, separated by `---`, after a comment header (one `#` line per
/// line of `header`, none when it is empty).
pub(crate) fn documents(header: &str, values: &[Value]) -> String {
    let mut out = String::new();
    for line in header.lines() {
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            let _ = writeln!(out, "# {line}");
        }
    }
    for (i, value) in values.iter().enumerate() {
        if i > 0 || !header.is_empty() {
            out.push_str("---\n");
        }
        out.push_str(&to_string(value));
    }
    out
}

/// A value as a YAML document.
pub(crate) fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_list(&mut out, items, 0),
        scalar => {
            out.push_str(&inline(scalar, 0));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// Keys that say what an entry is come first (`- name: payment`, `- alert: ServiceDown` with its
/// `expr`); the others follow in alphabetical order.
const LEADING: [&str; 6] = ["name", "job_name", "alert", "expr", "for", "labels"];

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by_key(|(key, _)| {
        LEADING
            .iter()
            .position(|k| k == key)
            .unwrap_or(LEADING.len())
    });
    for (i, (key, value)) in entries.into_iter().enumerate() {
        // The first key of a list item follows its `- ` on the same line.
        if i > 0 || !out.ends_with("- ") {
            pad(out, indent);
        }
        out.push_str(&string(key, indent));
        write_value_after_key(out, value, indent);
    }
}

fn write_value_after_key(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push_str(":\n");
            write_map(out, map, indent + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str(":\n");
            write_list(out, items, indent + 2);
        }
        scalar => {
            out.push_str(": ");
            out.push_str(&inline(scalar, indent + 2));
            out.push('\n');
        }
    }
}

fn write_list(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        pad(out, indent);
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => write_map(out, map, indent + 2),
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                write_list(out, inner, indent + 2);
            }
            scalar => {
                out.push_str(&inline(scalar, indent + 2));
                out.push('\n');
            }
        }
    }
}

/// A scalar (or empty collection) on the line it starts.
fn inline(value: &Value, indent: usize) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s, indent),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

/// A string: plain when that reads back as the same string, a literal block for text of several
/// lines, double-quoted (JSON escapes are YAML escapes) otherwise.
fn string(s: &str, indent: usize) -> String {
    if plain(s) {
        return s.to_owned();
    }
    if let Some(body) = s.strip_suffix('\n')
        && !body.is_empty()
        && !body.ends_with('\n')
        && !body.starts_with(' ')
        && body.chars().all(|c| c == '\n' || !c.is_control())
        && body.lines().all(|line| !line.ends_with(' '))
    {
        let mut block = "|".to_owned();
        for line in body.split('\n') {
            block.push('\n');
            if !line.is_empty() {
                block.push_str(&" ".repeat(indent));
                block.push_str(line);
            }
        }
        return block;
    }
    serde_json::to_string(s).unwrap_or_default()
}

/// Whether `s` may be written without quotes: only characters that mean nothing to YAML there,
/// and not a word or number YAML 1.1 or 1.2 would read as another type.
fn plain(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let safe = |c: char| c.is_ascii_alphanumeric() || "_./-:@=+".contains(c);
    let reserved = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
    ];
    (first.is_ascii_alphabetic() || first == '/' || first == '_')
        && s.chars().all(safe)
        && !s.ends_with(':')
        && !s.contains(": ")
        && !reserved.contains(&s.to_ascii_lowercase().as_str())
        && !looks_numeric(s)
}

fn looks_numeric(s: &str) -> bool {
    s.parse::<f64>().is_ok() || s.eq_ignore_ascii_case(".inf") || s.eq_ignore_ascii_case(".nan")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_and_lists_nest_in_block_style() {
        let yaml = to_string(&json!({
            "kind": "Deployment",
            "spec": { "containers": [ { "name": "msa", "args": ["serve", "roaming/payment"] } ] },
            "empty": {},
            "none": [],
        }));
        assert_eq!(
            yaml,
            "empty: {}\nkind: Deployment\nnone: []\nspec:\n  containers:\n    - name: msa\n      args:\n        - serve\n        - roaming/payment\n"
        );
    }

    #[test]
    fn strings_yaml_would_read_as_something_else_are_quoted() {
        for (value, written) in [
            ("8080", "\"8080\""),
            ("true", "\"true\""),
            ("No", "\"No\""),
            ("", "\"\""),
            ("$G", "\"$G\""),
            ("a: b", "\"a: b\""),
            ("100m", "\"100m\""),
            ("1e3", "\"1e3\""),
            ("http://payment:8082", "http://payment:8082"),
            ("app.kubernetes.io/name", "app.kubernetes.io/name"),
            (
                "CKV_K8S_43=why, with spaces",
                "\"CKV_K8S_43=why, with spaces\"",
            ),
        ] {
            assert_eq!(inline(&json!(value), 0), written, "{value}");
        }
    }

    #[test]
    fn text_of_several_lines_is_a_literal_block() {
        let yaml = to_string(
            &json!({ "data": { "nats.conf": "port: 4222\njetstream {\n  store_dir: /data\n}\n" } }),
        );
        assert_eq!(
            yaml,
            "data:\n  nats.conf: |\n    port: 4222\n    jetstream {\n      store_dir: /data\n    }\n"
        );
    }

    #[test]
    fn documents_are_separated_and_headed_by_comments() {
        let text = documents(
            "made by msa\n\ndo not edit",
            &[json!({"a": 1}), json!({"b": [1]})],
        );
        assert_eq!(
            text,
            "# made by msa\n#\n# do not edit\n---\na: 1\n---\nb:\n  - 1\n"
        );
        assert_eq!(documents("", &[json!({"a": 1})]), "a: 1\n");
    }
}
