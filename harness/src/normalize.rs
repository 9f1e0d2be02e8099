//! Normalization: what is removed from observed behaviour before anything is compared, so
//! that only real behaviour differences remain. The same rules apply to every cell.
//!
//! In order: JSON fields named by redaction paths are replaced by `[redacted]`; what the
//! harness itself put into the server's world ([`Injected`]: the data dir in the spelling of
//! the server's runtime, its address and port) becomes a name; where the matrix says so, `\`
//! becomes `/` and CRLF becomes LF in every string; JSON is rendered canonically (sorted
//! keys, two-space indent); then the regex filters run on the text.

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

/// What the harness put into one server's world, which differs between cells and launches
/// by construction: replaced by a name in every snapshot, before the matrix's own rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Injected {
    /// Each literal, longest first, with its name.
    replace: Vec<(String, &'static str)>,
    /// The data dir as a container sees it (`/data`), replaced only as a whole path segment.
    container_data_dir: Option<String>,
}

impl Injected {
    /// The data dir as the host sees it and as the server sees it (a Wine `Z:\` path, a
    /// container's `/data`), and the port the server listens on.
    pub fn new(host_data_dir: &str, server_data_dir: &str, port: u16) -> Injected {
        let mut replace: Vec<(String, &'static str)> = Vec::new();
        let container = server_data_dir.starts_with('/') && server_data_dir != host_data_dir;
        for spelling in [host_data_dir, server_data_dir] {
            if spelling.is_empty() || (container && spelling == server_data_dir) {
                continue;
            }
            replace.push((spelling.to_owned(), "[data_dir]"));
            // As a Rust `{:?}` or a JSON string writes it.
            if spelling.contains('\\') {
                replace.push((spelling.replace('\\', "\\\\"), "[data_dir]"));
            }
        }
        for host in ["127.0.0.1", "0.0.0.0", "localhost", "[::1]"] {
            replace.push((format!("{host}:{port}"), "[addr]"));
        }
        replace.sort_by_key(|(literal, _)| std::cmp::Reverse(literal.len()));
        replace.dedup();
        Injected {
            replace,
            container_data_dir: container.then(|| server_data_dir.to_owned()),
        }
    }

    /// `text` with every injected value named.
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (literal, name) in &self.replace {
            if out.contains(literal.as_str()) {
                out = out.replace(literal.as_str(), name);
            }
        }
        if let Some(dir) = &self.container_data_dir {
            out = replace_segment(&out, dir, "[data_dir]");
        }
        out
    }
}

/// `text` with `path` replaced where it is a whole path (not the start of a longer name such
/// as `/database`).
fn replace_segment(text: &str, path: &str, name: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(path) {
        let before_ok = rest[..at]
            .chars()
            .last()
            .is_none_or(|c| !(c.is_alphanumeric() || "_.-/".contains(c)));
        let after = &rest[at + path.len()..];
        let after_ok = after
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || "_.-".contains(c)));
        out.push_str(&rest[..at]);
        out.push_str(if before_ok && after_ok { name } else { path });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// `text` without terminal escape sequences (colours, cursor moves, window titles,
/// hyperlinks), as a terminal would show it; every character it prints stays, control
/// characters included (CR, tab), so that a line ending is still a behaviour. The parsing
/// is a terminal's own (vte's state machine), not a pattern.
pub fn strip_escapes(text: &str) -> String {
    struct Printed(String);
    impl vte::Perform for Printed {
        fn print(&mut self, c: char) {
            self.0.push(c);
        }
        fn execute(&mut self, byte: u8) {
            self.0.push(char::from(byte));
        }
    }
    if !text.contains('\x1b') && !text.contains('\u{9b}') {
        return text.to_owned();
    }
    let mut printed = Printed(String::with_capacity(text.len()));
    vte::Parser::new().advance(&mut printed, text.as_bytes());
    printed.0
}

/// Bytes as a snapshot shows them, so that different bytes never read the same: valid UTF-8
/// as it is; text with a few bytes that are not UTF-8 (a legacy code page) with each such
/// byte written `\xNN`, under a line that says so; anything else (an image, an archive) as
/// its size and SHA-256 with a hex dump of its first bytes.
pub fn decode(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    use std::fmt::Write;
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.into();
    }
    let invalid: usize = bytes.utf8_chunks().map(|c| c.invalid().len()).sum();
    if invalid * 10 <= bytes.len() * 3 && !bytes.contains(&0) {
        let mut out = String::from("[not UTF-8: each byte that is not is written \\xNN]\n");
        for chunk in bytes.utf8_chunks() {
            out.push_str(chunk.valid());
            for b in chunk.invalid() {
                let _ = write!(out, "\\x{b:02X}");
            }
        }
        return out.into();
    }
    use sha2::Digest;
    let mut out = format!(
        "[binary: {} bytes, sha256 {:x}]\n",
        bytes.len(),
        sha2::Sha256::digest(bytes)
    );
    for line in bytes.chunks(32).take(8) {
        for b in line {
            let _ = write!(out, "{b:02x}");
        }
        out.push('\n');
    }
    if bytes.len() > 256 {
        out.push_str("...\n");
    }
    out.into()
}

/// Normalizes an HTTP response: its status, the headers given (name, value), and its body.
pub fn response(
    rules: &Normalize,
    injected: &Injected,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Normalized {
    let (body_text, json) = match serde_json::from_slice::<Value>(body) {
        Ok(mut value) => {
            for path in &rules.redact {
                redact(&mut value, path);
            }
            map_strings(&mut value, &|s| strings(rules, &injected.apply(s)));
            let text = serde_json::to_string_pretty(&value).expect("JSON values serialize");
            (text, Some(value))
        }
        Err(_) => (strings(rules, &injected.apply(&decode(body))), None),
    };
    let head: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {}\n", strings(rules, &injected.apply(v))))
        .collect();
    let text = format!("status: {status}\n{head}\n{body_text}\n");
    Normalized {
        text: filters(rules, &text),
        json,
    }
}

/// Normalizes plain text (what a command suite wrote, a server's log, a data dir's tree).
pub fn text(rules: &Normalize, injected: &Injected, text: &str) -> Normalized {
    let json = serde_json::from_str::<Value>(text).ok().map(|mut v| {
        for path in &rules.redact {
            redact(&mut v, path);
        }
        map_strings(&mut v, &|s| strings(rules, &injected.apply(s)));
        v
    });
    let body = match &json {
        Some(v) => format!("{}\n", serde_json::to_string_pretty(v).expect("serializes")),
        None => strings(rules, &injected.apply(text)),
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

    #[test]
    fn bytes_that_differ_never_read_the_same() {
        // "café" in cp1252 and in cp850.
        let (a, b) = (decode(b"caf\xE9"), decode(b"caf\x82"));
        assert_ne!(a, b);
        assert_eq!(
            a,
            "[not UTF-8: each byte that is not is written \\xNN]\ncaf\\xE9"
        );
        assert_eq!(decode("café".as_bytes()), "café");
        // Two PNG-like bodies that differ in one byte.
        let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec();
        png.extend([0xffu8; 64]);
        let mut other = png.clone();
        other[40] = 0xfe;
        let (a, b) = (decode(&png), decode(&other));
        assert!(a.starts_with("[binary: 80 bytes, sha256 "), "{a}");
        assert_ne!(a, b);
        let rules = Normalize::default();
        let injected = Injected::default();
        assert_ne!(
            response(&rules, &injected, 200, &[], &png).text,
            response(&rules, &injected, 200, &[], &other).text
        );
    }

    #[test]
    fn escapes_go_and_what_a_terminal_prints_stays() {
        let log = "\x1b[32mINFO\x1b[0m started\r\n\x1b]0;title\x07\tplain \x1b[1;31merr\x1b[m\n";
        assert_eq!(strip_escapes(log), "INFO started\r\n\tplain err\n");
        assert_eq!(strip_escapes("no escapes\r\n"), "no escapes\r\n");
    }
    use regex::Regex;
    use serde_json::json;

    fn rules() -> Normalize {
        Normalize {
            path_separators: true,
            line_endings: true,
            log_escapes: true,
            redact: vec![".id".into(), "[].created".into(), ".items[0].at".into()],
            filters: vec![(Regex::new(r"127\.0\.0\.1:\d+").unwrap(), "[addr]".into())],
        }
    }

    #[test]
    fn responses_are_redacted_canonical_and_filtered() {
        let body = br#"{"z": 1, "id": "p7", "path": "a\\b", "out": "x\r\ny", "url": "http://127.0.0.1:4242/x"}"#;
        insta::assert_snapshot!(response(&rules(), &Injected::default(), 201, &[("content-type", "application/json")], body).text, @r#"
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
            &Injected::default(),
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

    #[test]
    fn what_the_harness_injected_is_named_in_every_spelling() {
        let wine = Injected::new("/tmp/run/data", "Z:\\tmp\\run\\data", 4242);
        assert_eq!(
            wine.apply("open Z:\\tmp\\run\\data\\x failed; \"Z:\\\\tmp\\\\run\\\\data\"; /tmp/run/data/y at 127.0.0.1:4242"),
            "open [data_dir]\\x failed; \"[data_dir]\"; [data_dir]/y at [addr]"
        );
        let container = Injected::new("/tmp/run/data", "/data", 80);
        assert_eq!(
            container.apply("/data/x and /database and /data: ok, 0.0.0.0:80"),
            "[data_dir]/x and /database and [data_dir]: ok, [addr]"
        );
    }
}
