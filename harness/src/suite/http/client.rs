//! The HTTP client of `http` suites: sends a step's request as written (any method token, no
//! redirect followed, so a `302` is seen as a `302`) and reads the response as a stream: the
//! whole body is hashed and counted, and only its first `max_body` bytes are kept, so a huge
//! answer costs no memory and still compares exactly.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use sha2::Digest;

/// A request as a step sends it.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The method token, sent as written.
    pub method: &'a str,
    /// The path, starting with `/`.
    pub path: &'a str,
    /// Headers.
    pub headers: &'a BTreeMap<String, String>,
    /// The body.
    pub body: Option<Vec<u8>>,
    /// Whether to follow redirects.
    pub follow_redirects: bool,
}

/// A response as the harness saw it.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: BTreeMap<String, String>,
    /// The body, or its first `max_body` bytes when it is longer.
    pub body: Vec<u8>,
    /// The whole body's size in bytes.
    pub size: u64,
    /// The whole body's SHA-256, when it was longer than what was kept.
    pub truncated_sha256: Option<String>,
}

/// Sends `request` to `base_url`, waiting at most `timeout`, and reads the response, keeping
/// at most `max_body` bytes of its body; the error says which request failed and why.
pub fn send(
    base_url: &str,
    request: &Request,
    timeout: Duration,
    max_body: u64,
) -> std::result::Result<Response, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .max_redirects(if request.follow_redirects { 10 } else { 0 })
        .timeout_global(Some(timeout))
        .build()
        .into();
    let (method, path) = (request.method, request.path);
    let uri = format!("{base_url}{path}");
    let mut builder = ureq::http::Request::builder().method(method).uri(&uri);
    for (k, v) in request.headers {
        builder = builder.header(k, v);
    }
    let built = builder
        .body(request.body.clone().unwrap_or_default())
        .map_err(|e| format!("invalid request {method} {uri}: {e}"))?;
    let mut response = agent.run(built).map_err(|e| match e {
        ureq::Error::Timeout(_) => format!(
            "{method} {uri}: no answer within {}",
            humantime::format_duration(timeout)
        ),
        e => format!("{method} {uri}: {e}"),
    })?;
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let status = response.status().as_u16();
    let mut reader = response.body_mut().with_config().reader();
    let mut hasher = sha2::Sha256::new();
    let mut body = Vec::new();
    let mut size: u64 = 0;
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = reader
            .read(&mut chunk)
            .map_err(|e| format!("{method} {uri}: reading the body: {e}"))?;
        if n == 0 {
            break;
        }
        hasher.update(&chunk[..n]);
        let keep = usize::try_from(max_body.saturating_sub(size))
            .unwrap_or(usize::MAX)
            .min(n);
        body.extend_from_slice(&chunk[..keep]);
        size += n as u64;
    }
    Ok(Response {
        status,
        headers,
        body,
        size,
        truncated_sha256: (size > max_body).then(|| format!("{:x}", hasher.finalize())),
    })
}
