//! JSON values written as YAML, for the files Prometheus and Alertmanager read: block style for
//! readers, strings quoted JSON-style (a subset of YAML's double-quoted strings) whenever a plain
//! scalar could be read as something else.

use serde_json::Value;
use std::fmt::Write as _;

/// `value` as a YAML document.
pub(crate) fn render(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_list(&mut out, items, 0),
        scalar => {
            let _ = writeln!(out, "{}", self::scalar(scalar));
        }
    }
    out
}

/// Keys that say what an entry is come first (`- alert: ServiceDown`, then its `expr`); the others
/// follow in alphabetical order.
const LEADING: [&str; 6] = ["name", "job_name", "alert", "expr", "for", "labels"];

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by_key(|(key, _)| {
        LEADING
            .iter()
            .position(|k| k == key)
            .unwrap_or(LEADING.len())
    });
    for (key, value) in entries {
        let _ = write!(out, "{:indent$}{}:", "", string(key));
        write_nested(out, value, indent + 2);
    }
}

fn write_list(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        match item {
            // A map in a list starts on the dash's line: render it one level deeper, then put the
            // dash in place of its first indentation.
            Value::Object(map) if !map.is_empty() => {
                let mut nested = String::new();
                write_map(&mut nested, map, indent + 2);
                let _ = write!(out, "{:indent$}- {}", "", &nested[indent + 2..]);
            }
            Value::Array(items) if !items.is_empty() => {
                let _ = writeln!(out, "{:indent$}-", "");
                write_list(out, items, indent + 2);
            }
            scalar => {
                let _ = writeln!(out, "{:indent$}- {}", "", self::scalar(scalar));
            }
        }
    }
}

fn write_nested(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, indent);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_list(out, items, indent);
        }
        scalar => {
            let _ = writeln!(out, " {}", self::scalar(scalar));
        }
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => string(s),
        Value::Object(_) => "{}".to_owned(),
        Value::Array(_) => "[]".to_owned(),
        other => other.to_string(),
    }
}

/// A plain scalar when it cannot be mistaken for a number, a boolean, null or YAML syntax;
/// otherwise a double-quoted one.
fn string(s: &str) -> String {
    const WORDS: [&str; 11] = [
        "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~", "",
    ];
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '/')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./".contains(&b))
        && !WORDS.contains(&s.to_ascii_lowercase().as_str());
    if plain {
        s.to_owned()
    } else {
        Value::String(s.to_owned()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_and_lists_become_block_yaml_with_ambiguous_strings_quoted() {
        let value = serde_json::json!({
            "groups": [{
                "name": "msa-roaming",
                "rules": [{ "alert": "ServiceDown", "expr": "up{system=\"roaming\"} == 0", "for": "1m" }],
            }],
            "empty": [],
            "flags": ["on", "yes", 3, true],
        });
        assert_eq!(
            render(&value),
            "empty: []\n\
             flags:\n  - \"on\"\n  - \"yes\"\n  - 3\n  - true\n\
             groups:\n  - name: msa-roaming\n    rules:\n      - alert: ServiceDown\n        \
             expr: \"up{system=\\\"roaming\\\"} == 0\"\n        for: \"1m\"\n"
        );
    }
}
