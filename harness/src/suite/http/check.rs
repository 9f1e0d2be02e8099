//! Running a case of an `http` suite: each step sends a request, checks its expectations
//! (status, headers, a JSON subset, a body), captures values for later steps (`${name}`), and
//! records the normalized response for snapshots.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;

use super::case::{Body, Capture, CaseFile, json_of};
use super::client::{Client, Request, Response};
use crate::matrix::{Limits, Normalize};
use crate::normalize::{self, Injected};
use crate::suite::{CaseResult, Exchange, Observed};

/// `text` with each `${name}` replaced by its captured value (every use was checked to be
/// captured by an earlier step when the suite was loaded).
fn substitute(text: &str, captures: &BTreeMap<String, String>) -> String {
    let mut out = text.to_owned();
    for (k, v) in captures {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    out
}

/// A JSON body with captures substituted inside its strings (keys and values), so that a
/// captured value is always a well-formed part of the JSON, whatever characters it holds.
fn substitute_json(value: &Value, captures: &BTreeMap<String, String>) -> Value {
    match value {
        Value::String(s) => Value::String(substitute(s, captures)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| substitute_json(v, captures)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (substitute(k, captures), substitute_json(v, captures)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The value at a path like `.items[0].id` of `value` (the redaction path grammar; `[]`
/// names no single value, so it finds nothing).
pub fn at_path<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    normalize::segments(path)?
        .iter()
        .try_fold(value, |v, seg| match seg {
            normalize::Seg::Key(k) => v.get(*k),
            normalize::Seg::Index(i) => v.get(*i),
            normalize::Seg::Every => None,
        })
}

/// Whether `actual` contains `expected`: objects by subset of keys, the rest by equality.
pub fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .all(|(k, ev)| a.get(k).is_some_and(|av| contains(av, ev))),
        (Value::Array(a), Value::Array(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(av, ev)| contains(av, ev))
        }
        (a, e) => a == e,
    }
}

/// The observed behaviour of one response, normalized: status, content type (and the
/// `extra` headers, by the names the case file gives), body.
/// The observed behaviour of one response, normalized: status, content type, the location
/// of a redirect, the `extra` headers (by the names the case file gives), and the body.
pub fn observed(
    response: &Response,
    rules: &Normalize,
    injected: &Injected,
    extra: &[String],
) -> normalize::Normalized {
    let mut headers: Vec<(&str, &str)> = vec![(
        "content-type",
        response
            .headers
            .get("content-type")
            .map_or("", String::as_str),
    )];
    if (300..400).contains(&response.status)
        && let Some(location) = response.headers.get("location")
        && !extra.iter().any(|e| e.eq_ignore_ascii_case("location"))
    {
        headers.push(("location", location));
    }
    for name in extra {
        if !name.eq_ignore_ascii_case("content-type") {
            let value = response
                .headers
                .get(&name.to_lowercase())
                .map_or("(absent)", String::as_str);
            headers.push((name, value));
        }
    }
    match &response.truncated_sha256 {
        None => normalize::response(rules, injected, response.status, &headers, &response.body),
        Some(sha) => {
            // Kept as its size, hash and first bytes: the same on two cells only when the
            // whole bodies are.
            let mut body = format!(
                "[a body of {} bytes, more than [limits] max_body: sha256 {sha}; its first {} bytes follow]\n",
                response.size,
                response.body.len()
            )
            .into_bytes();
            body.extend_from_slice(&response.body);
            normalize::response(rules, injected, response.status, &headers, &body)
        }
    }
}

/// What a failure says when no response came at all (the connection failed or dropped).
pub const NO_RESPONSE: &str = "--- response\n(none)";

/// What of a body an exchange shows: at most this many bytes.
const SHOWN_BODY: usize = 64 * 1024;

fn lossy_prefix(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(SHOWN_BODY)];
    let mut text = String::from_utf8_lossy(shown).into_owned();
    if bytes.len() > SHOWN_BODY {
        text.push_str(&format!("\n[... {} more bytes]", bytes.len() - SHOWN_BODY));
    }
    text
}

/// A request as sent: its line, its headers and its body.
fn request_shown(request: &Request) -> String {
    let mut text = format!("{} {}\n", request.method, request.path);
    for (k, v) in &request.headers {
        text.push_str(&format!("{k}: {v}\n"));
    }
    if let Some(body) = &request.body {
        text.push('\n');
        text.push_str(&lossy_prefix(body));
        text.push('\n');
    }
    text
}

/// A response as received: its status, every header and its body.
fn response_shown(response: &Response) -> String {
    let mut text = format!("HTTP {}\n", response.status);
    for (k, v) in &response.headers {
        text.push_str(&format!("{k}: {v}\n"));
    }
    text.push('\n');
    text.push_str(&lossy_prefix(&response.body));
    if let Some(sha) = &response.truncated_sha256 {
        text.push_str(&format!(
            "\n[the body has {} bytes, sha256 {sha}; the first ones are shown]",
            response.size
        ));
    }
    text.push('\n');
    text
}

/// Runs one case against `client`'s server, within the case and request timeouts of
/// `limits`.
pub fn run_case(
    client: &Client,
    name: &str,
    case: &CaseFile,
    rules: &Normalize,
    injected: &Injected,
    limits: &Limits,
) -> CaseResult {
    let start = Instant::now();
    let mut captures = BTreeMap::new();
    let mut observed_steps = Vec::new();
    // Every request and its raw response; read by a failure at any step.
    let exchanges: std::cell::RefCell<Vec<Exchange>> = Default::default();
    for step in &case.steps {
        let step_name = step.name.clone();
        let path = substitute(&step.path, &captures);
        let mut headers: BTreeMap<String, String> = step
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), substitute(v, &captures)))
            .collect();
        let body = match &step.body {
            Body::Json(json) => {
                if !headers
                    .keys()
                    .any(|k| k.eq_ignore_ascii_case("content-type"))
                {
                    headers.insert("content-type".into(), "application/json".into());
                }
                Some(
                    serde_json::to_vec(&substitute_json(json, &captures))
                        .expect("JSON values serialize"),
                )
            }
            Body::Text(text) => Some(substitute(text, &captures).into_bytes()),
            Body::Bytes(bytes) => Some(bytes.clone()),
            Body::Multipart(upload) => {
                let (content_type, bytes) = upload.encode();
                headers.retain(|k, _| !k.eq_ignore_ascii_case("content-type"));
                headers.insert("content-type".into(), content_type);
                Some(bytes)
            }
            Body::None => None,
        };
        let request_line = format!("{} {path}", step.method);
        let request_text = format!(
            "{request_line}{}",
            body.as_ref()
                .map(|b| format!("\n{}", String::from_utf8_lossy(b)))
                .unwrap_or_default()
        );
        let fail = |why: String, response: Option<&Response>| CaseResult {
            name: name.to_owned(),
            passed: false,
            exchanges: exchanges.borrow().clone(),
            failure: Some(format!(
                "step `{step_name}`: {why}\n--- request\n{request_text}\n{}",
                response.map_or(NO_RESPONSE.to_owned(), |r| "--- response\n".to_owned()
                    + &observed(r, &Normalize::default(), &Injected::default(), &[]).text)
            )),
            observed: observed_steps.clone(),
            duration: start.elapsed(),
            ..CaseResult::default()
        };
        let left = limits.case_timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            return fail(
                format!(
                    "the case ran out of its case_timeout of {} before this step",
                    humantime::format_duration(limits.case_timeout)
                ),
                None,
            );
        }
        let request = Request {
            method: step.method.clone(),
            path,
            headers,
            body,
            follow_redirects: step.follow_redirects,
        };
        let timeout = limits.request_timeout.min(left);
        let sent = request_shown(&request);
        let response = match client.send(request, timeout) {
            Ok(r) => r,
            Err(e) => {
                exchanges.borrow_mut().push(Exchange {
                    step: step_name.clone(),
                    request: sent,
                    response: format!("(no response: {e})\n"),
                });
                return fail(e, None);
            }
        };
        exchanges.borrow_mut().push(Exchange {
            step: step_name.clone(),
            request: sent,
            response: response_shown(&response),
        });
        if let Some(status) = step.expect.status
            && response.status != status
        {
            return fail(
                format!("expected status {status}, got {}", response.status),
                Some(&response),
            );
        }
        for (k, v) in &step.expect.headers {
            let got = response.headers.get(&k.to_lowercase());
            if got != Some(v) {
                return fail(
                    format!("expected header {k}: {v}, got {got:?}"),
                    Some(&response),
                );
            }
        }
        if let Some(expected) = &step.expect.body
            && response.body != expected.as_bytes()
        {
            return fail(format!("expected the body {expected:?}"), Some(&response));
        }
        let json = serde_json::from_slice::<Value>(&response.body).ok();
        if let Some(expected) = &step.expect.json {
            let expected = json_of(expected);
            match &json {
                Some(actual) if contains(actual, &expected) => {}
                Some(_) => {
                    return fail(
                        format!("expected the JSON to contain {expected}"),
                        Some(&response),
                    );
                }
                None => {
                    return fail(
                        format!("expected JSON containing {expected}, got a body that is not JSON"),
                        Some(&response),
                    );
                }
            }
        }
        for (var, capture) in &step.capture {
            let value = match capture {
                Capture::Json(path) => {
                    json.as_ref()
                        .and_then(|j| at_path(j, path))
                        .map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                }
                Capture::Header(name) => response.headers.get(name).cloned(),
                Capture::Regex(re) => {
                    let body = String::from_utf8_lossy(&response.body);
                    re.captures(&body)
                        .and_then(|c| c.get(1).or_else(|| c.get(0)))
                        .map(|m| m.as_str().to_owned())
                }
            };
            match value {
                Some(v) => {
                    captures.insert(var.clone(), v);
                }
                None => {
                    let what = match capture {
                        Capture::Json(path) => format!("nothing at `{path}`"),
                        Capture::Header(name) => format!("no header `{name}`"),
                        Capture::Regex(re) => format!("no match of `{re}`"),
                    };
                    return fail(format!("{what} to capture as `{var}`"), Some(&response));
                }
            }
        }
        if step.snapshot {
            let n = observed(&response, rules, injected, &step.snapshot_headers);
            observed_steps.push(Observed {
                step: step_name,
                expression: request_line,
                text: n.text,
            });
        }
    }
    CaseResult {
        name: name.to_owned(),
        passed: true,
        exchanges: exchanges.into_inner(),
        observed: observed_steps,
        duration: start.elapsed(),
        ..CaseResult::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_reach_into_objects_and_arrays() {
        let v = json!({ "items": [{ "id": "a" }, { "id": "b" }], "n": 1 });
        assert_eq!(at_path(&v, ".items[1].id"), Some(&json!("b")));
        assert_eq!(at_path(&v, ".n"), Some(&json!(1)));
        assert_eq!(at_path(&v, ".missing"), None);
        assert_eq!(at_path(&v, ".items[5]"), None);
        assert_eq!(at_path(&v, "items"), None, "a path starts with `.` or `[`");
        assert_eq!(at_path(&v, ".items[1"), None);
        assert_eq!(at_path(&v, ".items[]"), None);
    }

    #[test]
    fn containment_is_a_subset_for_objects_and_equality_otherwise() {
        let actual = json!({ "error": { "code": "conflict", "message": "m" }, "list": [1, 2] });
        assert!(contains(
            &actual,
            &json!({ "error": { "code": "conflict" } })
        ));
        assert!(!contains(
            &actual,
            &json!({ "error": { "code": "invalid" } })
        ));
        assert!(contains(&actual, &json!({ "list": [1, 2] })));
        assert!(!contains(&actual, &json!({ "list": [1] })));
    }
}
