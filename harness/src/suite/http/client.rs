//! The HTTP client of `http` suites: sends a step's request as written and reads the whole
//! response.

use std::collections::BTreeMap;
use std::time::Duration;

/// A response as the harness saw it.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: BTreeMap<String, String>,
    /// Body.
    pub body: Vec<u8>,
}

/// Sends one request to `base_url` and reads the whole response; the error says which
/// request failed and why.
pub fn send(
    base_url: &str,
    method: &str,
    path: &str,
    headers: &BTreeMap<String, String>,
    body: Option<Vec<u8>>,
) -> std::result::Result<Response, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let uri = format!("{base_url}{path}");
    let mut request = ureq::http::Request::builder().method(method).uri(&uri);
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let request = request
        .body(body.unwrap_or_default())
        .map_err(|e| format!("invalid request {method} {uri}: {e}"))?;
    let mut response = agent
        .run(request)
        .map_err(|e| format!("{method} {uri}: {e}"))?;
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_lowercase(),
                v.to_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
        .map_err(|e| format!("{method} {uri}: reading the body: {e}"))?;
    Ok(Response {
        status,
        headers,
        body,
    })
}
