//! The HTTP client of `http` suites: sends a step's request as written (any method token, no
//! redirect followed, so a `302` is seen as a `302`) and reads the response as a stream: the
//! whole body is hashed and counted, and only its first `max_body` bytes are kept, so a huge
//! answer costs no memory and still compares exactly.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use sha2::Digest;

use crate::suite::ServerGone;

/// A request as a step sends it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method token, sent as written.
    pub method: String,
    /// The path, starting with `/`.
    pub path: String,
    /// Headers.
    pub headers: BTreeMap<String, String>,
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

/// The longest a connect to the launched server may take: a connect that hangs (a SYN
/// dropped on its way to a container that died) fails on its own, whatever the request's
/// timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The launched server a suite talks to: where it answers, and whether it has exited.
#[derive(Debug, Clone)]
pub struct Client {
    /// Its base URL.
    pub base_url: String,
    /// Whether it has exited.
    pub gone: ServerGone,
    /// The bodies kept.
    pub max_body: u64,
    /// The runtime whose blocking pool runs the requests.
    pub handle: tokio::runtime::Handle,
}

impl Client {
    /// Sends `request`, waiting at most `timeout`, and gives up the moment the server exits:
    /// a request in flight to a server that died can wait for an answer that never comes.
    /// Called on a blocking thread; the request runs on another one, left to end by its own
    /// timeout when the server's exit comes first.
    pub fn send(
        &self,
        request: Request,
        timeout: Duration,
    ) -> std::result::Result<Response, String> {
        let exited = |request: &Request| {
            format!(
                "{} {}{}: the server exited",
                request.method, self.base_url, request.path
            )
        };
        if self.gone.now() {
            return Err(exited(&request));
        }
        let mut gone = self.gone.clone();
        let (base_url, max_body) = (self.base_url.clone(), self.max_body);
        self.handle.block_on(async move {
            let shown = exited(&request);
            let sending =
                tokio::task::spawn_blocking(move || send(&base_url, &request, timeout, max_body));
            tokio::select! {
                sent = sending => sent.unwrap_or_else(|e| Err(format!("the request failed: {e}"))),
                () = gone.wait() => Err(shown),
            }
        })
    }
}

/// The most redirects a step follows.
const MAX_REDIRECTS: usize = 10;

/// Sends `request` to `base_url`, waiting at most `timeout` in all, and reads the response,
/// keeping at most `max_body` bytes of its body; the error says which request failed and
/// why. A step that follows redirects follows them only to the launched server: a redirect
/// elsewhere (a metadata endpoint, another host) is the response, recorded and not fetched.
pub fn send(
    base_url: &str,
    request: &Request,
    timeout: Duration,
    max_body: u64,
) -> std::result::Result<Response, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        // Redirects are followed here, where their target is checked.
        .max_redirects(0)
        // The launched server, never through a proxy of the environment.
        .proxy(None)
        .timeout_connect(Some(CONNECT_TIMEOUT.min(timeout)))
        .timeout_global(Some(timeout))
        .build()
        .into();
    let started = std::time::Instant::now();
    let (mut method, mut path, mut body) = (
        request.method.clone(),
        request.path.clone(),
        request.body.clone(),
    );
    for _ in 0..=MAX_REDIRECTS {
        let left = timeout.saturating_sub(started.elapsed());
        let response = send_once(
            &agent,
            base_url,
            &method,
            &path,
            request,
            body.clone(),
            left,
            max_body,
        )?;
        let location = response.headers.get("location");
        let next = match (
            request.follow_redirects,
            (300..400).contains(&response.status),
            location,
        ) {
            (true, true, Some(location)) => same_server(base_url, &path, location),
            _ => None,
        };
        let Some(next) = next else {
            return Ok(response);
        };
        // As browsers do: 303 (and 301 or 302 after a POST) fetch with GET and no body.
        if response.status == 303 || (matches!(response.status, 301 | 302) && method == "POST") {
            method = "GET".to_owned();
            body = None;
        }
        path = next;
    }
    Err(format!(
        "{} {base_url}{}: more than {MAX_REDIRECTS} redirects",
        request.method, request.path
    ))
}

/// The path on the launched server (`base_url`) that `location`, a redirect from `from`,
/// points to; none when it points elsewhere.
fn same_server(base_url: &str, from: &str, location: &str) -> Option<String> {
    let authority = base_url.strip_prefix("http://")?;
    if let Some(rest) = location.strip_prefix("http://") {
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let same = host.eq_ignore_ascii_case(authority)
            || host
                .strip_prefix("localhost:")
                .is_some_and(|port| authority.ends_with(&format!(":{port}")));
        return same.then(|| {
            if path.is_empty() {
                "/".to_owned()
            } else {
                path.to_owned()
            }
        });
    }
    if location.starts_with("//") || location.contains("://") {
        return None;
    }
    if location.starts_with('/') {
        return Some(location.to_owned());
    }
    // Relative to the folder of the path it came from.
    let dir = from.split('?').next().unwrap_or(from);
    let dir = &dir[..=dir.rfind('/').unwrap_or(0)];
    Some(format!("{dir}{location}"))
}

/// One request, and its response read as a stream.
#[expect(
    clippy::too_many_arguments,
    reason = "one request's parts, as `send` holds them"
)]
fn send_once(
    agent: &ureq::Agent,
    base_url: &str,
    method: &str,
    path: &str,
    request: &Request,
    body: Option<Vec<u8>>,
    timeout: Duration,
    max_body: u64,
) -> std::result::Result<Response, String> {
    let uri = format!("{base_url}{path}");
    let mut builder = ureq::http::Request::builder().method(method).uri(&uri);
    for (k, v) in &request.headers {
        builder = builder.header(k, v);
    }
    let built = builder
        .body(body.unwrap_or_default())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_are_followed_only_to_the_launched_server() {
        let base = "http://127.0.0.1:8080";
        assert_eq!(same_server(base, "/a/b", "/c"), Some("/c".into()));
        assert_eq!(
            same_server(base, "/a/b", "http://127.0.0.1:8080/x"),
            Some("/x".into())
        );
        assert_eq!(
            same_server(base, "/a/b", "http://localhost:8080/x"),
            Some("/x".into())
        );
        assert_eq!(same_server(base, "/a/b", "c?d"), Some("/a/c?d".into()));
        for elsewhere in [
            "http://169.254.169.254/latest/meta-data",
            "http://127.0.0.1:9090/x",
            "https://127.0.0.1:8080/x",
            "//169.254.169.254/x",
            "ftp://127.0.0.1:8080/x",
        ] {
            assert_eq!(same_server(base, "/a/b", elsewhere), None, "{elsewhere}");
        }
    }
}
