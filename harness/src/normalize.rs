//! Normalization: what is removed from observed behaviour before anything is compared, so
//! that only real behaviour differences remain. The same rules apply to every cell.
//!
//! In order: JSON fields named by redaction paths are replaced by `[redacted]`; where the
//! matrix says so, `\` becomes `/` and CRLF becomes LF in every string; JSON is rendered
//! canonically (sorted keys, two-space indent); then the regex filters run on the text.

use serde_json::Value;

use crate::matrix::Normalize;

/// A normalized observation: its text, and its JSON body when it has one (for noise
/// analysis).
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    /// The snapshot text.
    pub text: String,
    /// The normalized JSON body.
    pub json: Option<Value>,
}

/// Normalizes an HTTP response: its status, the headers given (name, value), and its body.
pub fn response(
    rules: &Normalize,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Normalized {
    let (body_text, json) = match serde_json::from_slice::<Value>(body) {
        Ok(mut value) => {
            for path in &rules.redact {
                redact(&mut value, path);
            }
            map_strings(&mut value, &|s| strings(rules, s));
            let text = serde_json::to_string_pretty(&value).expect("JSON values serialize");
            (text, Some(value))
        }
        Err(_) => (strings(rules, &String::from_utf8_lossy(body)), None),
    };
    let head: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {}\n", strings(rules, v)))
        .collect();
    let text = format!("status: {status}\n{head}\n{body_text}\n");
    Normalized {
        text: filters(rules, &text),
        json,
    }
}

/// Normalizes plain text (what a command suite wrote).
pub fn text(rules: &Normalize, text: &str) -> Normalized {
    let json = serde_json::from_str::<Value>(text).ok().map(|mut v| {
        for path in &rules.redact {
            redact(&mut v, path);
        }
        map_strings(&mut v, &|s| strings(rules, s));
        v
    });
    let body = match &json {
        Some(v) => format!("{}\n", serde_json::to_string_pretty(v).expect("serializes")),
        None => strings(rules, text),
    };
    Normalized {
        text: filters(rules, &body),
        json,
    }
}

fn strings(rules: &Normalize, s: &str) -> String {
    let mut s = s.to_owned();
    if rules.line_endings {
        s = s.replace("\r\n", "\n");
    }
    if rules.path_separators {
        s = s.replace('\\', "/");
    }
    s
}

fn filters(rules: &Normalize, text: &str) -> String {
    let mut text = text.to_owned();
    for (re, replacement) in &rules.filters {
        text = re.replace_all(&text, replacement.as_str()).into_owned();
    }
    text
}

fn map_strings(value: &mut Value, f: &dyn Fn(&str) -> String) {
    match value {
        Value::String(s) => *s = f(s),
        Value::Array(items) => items.iter_mut().for_each(|v| map_strings(v, f)),
        Value::Object(map) => map.values_mut().for_each(|v| map_strings(v, f)),
        _ => {}
    }
}

/// One step of a JSON path (redactions, captures).
#[derive(Debug, PartialEq)]
pub(crate) enum Seg<'a> {
    Key(&'a str),
    Every,
    Index(usize),
}

/// The steps of a path of `.key`, `[]` and `[N]` steps; `None` when it is not one.
pub(crate) fn segments(path: &str) -> Option<Vec<Seg<'_>>> {
    let mut out = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            out.push(Seg::Key(&r[..end]));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            out.push(match &r[..end] {
                "" => Seg::Every,
                n => Seg::Index(n.parse().ok()?),
            });
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(out)
}

/// Replaces the values at `path` (`.key`, `[]`, `[N]` steps) by `"[redacted]"`.
pub fn redact(value: &mut Value, path: &str) {
    fn walk(value: &mut Value, segs: &[Seg<'_>]) {
        let Some((first, rest)) = segs.split_first() else {
            *value = Value::String("[redacted]".to_owned());
            return;
        };
        match (first, value) {
            (Seg::Key(k), Value::Object(map)) => {
                if let Some(v) = map.get_mut(*k) {
                    walk(v, rest);
                }
            }
            (Seg::Every, Value::Array(items)) => items.iter_mut().for_each(|v| walk(v, rest)),
            (Seg::Index(i), Value::Array(items)) => {
                if let Some(v) = items.get_mut(*i) {
                    walk(v, rest);
                }
            }
            _ => {}
        }
    }
    if let Some(segs) = segments(path) {
        walk(value, &segs);
    }
}

/// The paths at which two JSON values differ, with array indices generalized to `[]`, as
/// redaction paths (for suggestions).
pub fn differing_paths(a: &Value, b: &Value) -> Vec<String> {
    fn walk(a: &Value, b: &Value, path: String, out: &mut Vec<String>) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    match (x.get(k), y.get(k)) {
                        (Some(va), Some(vb)) => walk(va, vb, format!("{path}.{k}"), out),
                        _ => out.push(format!("{path}.{k}")),
                    }
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (va, vb) in x.iter().zip(y) {
                    walk(va, vb, format!("{path}[]"), out);
                }
            }
            (x, y) if x != y => out.push(if path.is_empty() {
                ".".to_owned()
            } else {
                path
            }),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(a, b, String::new(), &mut out);
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;
    use serde_json::json;

    fn rules() -> Normalize {
        Normalize {
            path_separators: true,
            line_endings: true,
            redact: vec![".id".into(), "[].created".into(), ".items[0].at".into()],
            filters: vec![(Regex::new(r"127\.0\.0\.1:\d+").unwrap(), "[addr]".into())],
        }
    }

    #[test]
    fn responses_are_redacted_canonical_and_filtered() {
        let body = br#"{"z": 1, "id": "p7", "path": "a\\b", "out": "x\r\ny", "url": "http://127.0.0.1:4242/x"}"#;
        insta::assert_snapshot!(response(&rules(), 201, &[("content-type", "application/json")], body).text, @r#"
        status: 201
        content-type: application/json

        {
          "id": "[redacted]",
          "out": "x\ny",
          "path": "a/b",
          "url": "http://[addr]/x",
          "z": 1
        }
        "#);
    }

    #[test]
    fn redaction_paths_reach_into_arrays() {
        let mut v = json!([{ "created": "t1", "n": 1 }, { "created": "t2" }]);
        redact(&mut v, "[].created");
        assert_eq!(
            v,
            json!([{ "created": "[redacted]", "n": 1 }, { "created": "[redacted]" }])
        );
        let mut v = json!({ "items": [{ "at": 1 }, { "at": 2 }] });
        redact(&mut v, ".items[0].at");
        assert_eq!(v, json!({ "items": [{ "at": "[redacted]" }, { "at": 2 }] }));
    }

    #[test]
    fn without_rules_nothing_changes_but_key_order() {
        let n = response(
            &Normalize::default(),
            200,
            &[("content-type", "text/plain")],
            b"a\\b\r\n",
        );
        assert_eq!(
            n.text,
            "status: 200\ncontent-type: text/plain\n\na\\b\r\n\n"
        );
        assert!(n.json.is_none());
    }

    #[test]
    fn differing_paths_generalize_indices() {
        let a = json!({ "request_id": "r1", "items": [{ "t": 1 }, { "t": 2 }], "same": true });
        let b = json!({ "request_id": "r2", "items": [{ "t": 1 }, { "t": 3 }], "same": true });
        assert_eq!(differing_paths(&a, &b), vec![".items[].t", ".request_id"]);
    }
}
