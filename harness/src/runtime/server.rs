//! A running server: its readiness probe, its graceful stop, and the cleanup that happens
//! when it is dropped on any other path (an error, a panic, Ctrl-C), so that nothing outlives
//! the harness.
//!
//! Waiting for a server never hides its exit: the readiness probe and the child's exit are
//! awaited together, every probe has a short timeout of its own, and the readiness timeout
//! is a deadline. A connect to a container's published port can hang once the container
//! has died and before the engine removed its port rules (the SYN is forwarded to an
//! address nobody answers), so a probe that waits on the network can never be what tells
//! the harness that the server is gone.

use std::time::{Duration, Instant};

use super::{Cleanup, DataDirSync, Launch, ServerLogs};
use crate::errors::{Error, Result};
use crate::matrix::{Probe, Ready};
use crate::process::Running;

/// A running server.
pub struct Server {
    process: Option<Running>,
    mark: String,
    cleanup: Option<Box<dyn Cleanup>>,
    /// Where it answers.
    pub base_url: String,
    logs: ServerLogs,
    prober: Prober,
    stop_signal: StopSignal,
    /// Brings its data dir back to the host, where its runtime keeps it elsewhere.
    data_dir_sync: Option<DataDirSync>,
}

/// The longest a single readiness probe may take (a connect, an HTTP request): well under
/// any readiness timeout, so that a probe that hangs costs one retry, not the wait.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// How often a server's exit is checked while something else is awaited.
const EXIT_POLL: Duration = Duration::from_millis(10);

/// The state of the readiness probe between polls.
#[derive(Debug)]
struct Prober {
    port: u16,
    base_url: String,
    logs: ServerLogs,
    /// One scan per stream: a line matches in either.
    scans: [LogScan; 2],
    /// The port has taken a connection.
    listening: bool,
    /// How long a connection the TCP probe made must stay open before it counts, where the
    /// port is a forwarder's (kubectl port-forward, a container engine's proxy) that accepts
    /// before the server listens and closes what it cannot pass on; zero where the port is
    /// the server's own.
    hold: Duration,
}

/// How far the log readiness probe has read: it reads only what the server wrote since the
/// last poll, so a chatty server costs no more than its new lines.
#[derive(Debug, Default)]
struct LogScan {
    offset: u64,
    partial: Vec<u8>,
}

impl LogScan {
    /// The longest unfinished line kept between polls.
    const MAX_LINE: usize = 1024 * 1024;

    /// Whether a line written since the last call (or the unfinished last line) matches.
    fn matches(&mut self, log: &std::path::Path, re: &regex::Regex) -> bool {
        use std::io::{Read, Seek, SeekFrom};
        let Ok(mut file) = std::fs::File::open(log) else {
            return false;
        };
        if file.seek(SeekFrom::Start(self.offset)).is_err() {
            return false;
        }
        let mut new = Vec::new();
        let Ok(n) = file.read_to_end(&mut new) else {
            return false;
        };
        self.offset += n as u64;
        self.partial.extend_from_slice(&new);
        let mut found = false;
        let mut rest: &[u8] = &self.partial;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            found |= re.is_match(&String::from_utf8_lossy(&rest[..end]));
            rest = &rest[end + 1..];
        }
        let keep = rest.len().saturating_sub(Self::MAX_LINE);
        self.partial = rest[keep..].to_vec();
        found || re.is_match(&String::from_utf8_lossy(&self.partial))
    }
}

/// How a runtime asks its server to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGTERM to the process group.
    Term,
    /// SIGINT: Wine turns it into a console Ctrl-C for the Windows program.
    Interrupt,
    /// The cleanup's stop command (a container engine's `stop`).
    Engine,
}

impl Server {
    pub(super) fn new(
        process: Running,
        cleanup: Option<Box<dyn Cleanup>>,
        launch: &Launch,
        stop_signal: StopSignal,
    ) -> Self {
        let base_url = format!("http://127.0.0.1:{}", launch.port);
        Server {
            mark: process.mark().to_owned(),
            process: Some(process),
            cleanup,
            base_url: base_url.clone(),
            logs: launch.logs.clone(),
            prober: Prober {
                port: launch.port,
                base_url,
                logs: launch.logs.clone(),
                scans: Default::default(),
                listening: false,
                hold: Duration::ZERO,
            },
            stop_signal,
            data_dir_sync: None,
        }
    }

    /// The server, whose port is a forwarder's: a connection counts for the TCP probe only
    /// once it has stayed open for `hold` (a forwarder closes what it cannot pass on).
    pub(super) fn forwarded(mut self, hold: Duration) -> Self {
        self.prober.hold = hold;
        self
    }

    /// The server, whose data dir `sync` brings back to the host before it is read.
    pub(super) fn with_data_dir_sync(mut self, sync: DataDirSync) -> Self {
        self.data_dir_sync = Some(sync);
        self
    }

    /// What brings its data dir back to the host before the harness reads it, when its
    /// runtime keeps it elsewhere (a pod in a cluster).
    pub fn data_dir_sync(&self) -> Option<DataDirSync> {
        self.data_dir_sync.clone()
    }

    /// How it exited, when it has: a server that exits while its suite runs has crashed.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.process.as_mut().and_then(Running::try_wait)
    }

    /// How it exited, waiting up to `wait` for it to finish exiting: a client sees the
    /// connection of a crashing server drop a moment before the process is gone.
    pub async fn exited_within(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(wait, self.exit()).await.ok()
    }

    /// Resolves when it exits, with its status; never, when it was already stopped. Safe to
    /// cancel: it only looks.
    pub async fn exit(&mut self) -> std::process::ExitStatus {
        match self.process.as_mut() {
            Some(process) => exit_of(process).await,
            None => std::future::pending().await,
        }
    }

    /// How it exited, for messages: `status`, or what its cleanup knows better (a pod's
    /// server's own exit code).
    pub fn exit_text(&self, status: std::process::ExitStatus) -> String {
        self.cleanup
            .as_ref()
            .and_then(|c| c.exit_detail())
            .unwrap_or_else(|| status.to_string())
    }

    /// The end of its logs, each stream labelled.
    pub fn log_tail(&self, lines: usize) -> String {
        self.logs.tail(lines)
    }

    /// The launch command, for messages.
    pub fn command(&self) -> &str {
        self.process.as_ref().map_or("", |p| p.command())
    }

    /// Waits until the readiness probe answers. Fails as soon as the server exits, whatever
    /// the probe is doing, and at the timeout, which is a deadline; both errors carry the end
    /// of the server's log.
    pub async fn wait_ready(&mut self, ready: &Ready) -> Result<Duration> {
        let start = Instant::now();
        let deadline = tokio::time::Instant::now() + ready.timeout;
        // A probe may take a share of the timeout, never all of it.
        let probe_timeout = PROBE_TIMEOUT
            .min(ready.timeout / 3)
            .max(Duration::from_millis(100));
        let command = self.command().to_owned();
        let (Some(process), prober) = (self.process.as_mut(), &mut self.prober) else {
            return Err(Error::Command {
                command,
                problem: "was stopped before it was ready".into(),
                stderr: String::new(),
            });
        };
        let polling = async {
            // Polled often at first, when most servers become ready, then less.
            let mut pause = Duration::from_millis(5);
            loop {
                let answered =
                    tokio::time::timeout(probe_timeout, prober.probe(&ready.probe, probe_timeout))
                        .await
                        .unwrap_or(false);
                if answered {
                    return;
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 3 / 2).min(Duration::from_millis(50));
            }
        };
        let problem = tokio::select! {
            biased;
            status = exit_of(process) => format!(
                "exited ({}) before it was ready; its output is in {}",
                self.cleanup
                    .as_ref()
                    .and_then(|c| c.exit_detail())
                    .unwrap_or_else(|| status.to_string()),
                self.logs.describe()
            ),
            () = polling => return Ok(start.elapsed()),
            () = tokio::time::sleep_until(deadline) => format!(
                "was not ready after {:?} ({}); its output is in {}",
                ready.timeout,
                describe(&ready.probe),
                self.logs.describe()
            ),
        };
        Err(Error::Command {
            command,
            problem,
            stderr: self.logs.tail(30),
        })
    }
}

/// Resolves when `process` exits. The exit is polled, not awaited with the child's `wait`,
/// so that dropping this future leaves nothing half done (a reaper blocked on the process
/// group); a poll is one non-blocking `waitpid`.
async fn exit_of(process: &mut Running) -> std::process::ExitStatus {
    loop {
        if let Some(status) = process.try_wait() {
            return status;
        }
        tokio::time::sleep(EXIT_POLL).await;
    }
}

impl Prober {
    /// One probe, each of its network steps bounded by `timeout`.
    async fn probe(&mut self, probe: &Probe, timeout: Duration) -> bool {
        match probe {
            Probe::Tcp => self.connects_and_holds(timeout).await,
            Probe::Log(re) => {
                let [out, err] = &mut self.scans;
                // Both scanned every time, so that neither falls behind.
                let on_out = out.matches(&self.logs.stdout, re);
                let on_err = err.matches(&self.logs.stderr, re);
                on_out || on_err
            }
            Probe::Http(path) => {
                // Until the port takes a connection, a refused connect says "not yet" at
                // once, without an HTTP client's work; one bare connection in all.
                if !self.listening {
                    if !self.connects(timeout).await {
                        return false;
                    }
                    self.listening = true;
                }
                let url = format!("{}{path}", self.base_url);
                let asked = tokio::task::spawn_blocking(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        // The launched server, never through a proxy of the environment.
                        .proxy(None)
                        .timeout_connect(Some(timeout))
                        .timeout_global(Some(timeout))
                        .build()
                        .into();
                    agent
                        .get(&url)
                        .call()
                        .is_ok_and(|r| r.status().is_success())
                });
                // The request ends by its own timeout; not waiting for it past that keeps
                // the probe bounded even if the blocking pool is slow to start it.
                tokio::time::timeout(timeout, asked)
                    .await
                    .is_ok_and(|r| r.unwrap_or(false))
            }
        }
    }

    /// Whether the port takes a connection within `timeout`.
    /// Whether a connection to the port is taken and, where the port is a forwarder's, kept
    /// open for the hold: one the forwarder closes (the server does not listen yet) or resets
    /// is not; one the server writes to (a banner) or leaves open is.
    async fn connects_and_holds(&self, timeout: Duration) -> bool {
        use tokio::io::AsyncReadExt;
        let Ok(Ok(mut stream)) = tokio::time::timeout(
            timeout,
            tokio::net::TcpStream::connect(("127.0.0.1", self.port)),
        )
        .await
        else {
            return false;
        };
        if self.hold.is_zero() {
            return true;
        }
        let mut byte = [0u8; 1];
        match tokio::time::timeout(self.hold.min(timeout), stream.read(&mut byte)).await {
            // Still open after the hold: the server took it.
            Err(_) => true,
            Ok(Ok(n)) => n > 0,
            Ok(Err(_)) => false,
        }
    }

    async fn connects(&self, timeout: Duration) -> bool {
        tokio::time::timeout(
            timeout,
            tokio::net::TcpStream::connect(("127.0.0.1", self.port)),
        )
        .await
        .is_ok_and(|c| c.is_ok())
    }
}

impl Server {
    /// Stops the server: gracefully, then by force after `grace`; then whatever it started
    /// that escaped its process group (a `setsid` grandchild, a daemon) is found by its mark
    /// and stopped too, and reported as leaked.
    pub async fn stop(mut self, grace: Duration) -> Stopped {
        let (status, forced) = match self.process.take() {
            Some(process) => match self.stop_signal {
                StopSignal::Engine => {
                    // The container's init, which carries the mark, is asked as the engine's
                    // `stop` would ask it, and passes SIGTERM on to the server; where it is out
                    // of sight, the engine's `stop` does it. The client then exits with the
                    // server's status, once it has removed the container.
                    let mut asked = process
                        .id()
                        .is_some_and(|pid| crate::process::ask_topmost_marked(&self.mark, pid));
                    if !asked && let Some(cmd) = self.cleanup.as_ref().and_then(|c| c.stop(grace)) {
                        asked = crate::process::output(&cmd)
                            .await
                            .is_ok_and(|o| o.status.success());
                    }
                    let (status, forced) = process
                        .finish(if asked { grace } else { Duration::ZERO })
                        .await;
                    (status, forced || !asked)
                }
                signal => {
                    process
                        .stop_with(signal == StopSignal::Interrupt, grace)
                        .await
                }
            },
            None => (None, false),
        };
        if let Some(cleanup) = self.cleanup.take()
            && cleanup.needed(status, forced)
        {
            tokio::task::spawn_blocking(move || cleanup.remove())
                .await
                .expect("cleanup does not panic");
        }
        let leaked = crate::process::sweep(&std::mem::take(&mut self.mark));
        Stopped { forced, leaked }
    }
}

/// How a server stopped.
#[derive(Debug, Clone)]
pub struct Stopped {
    /// Whether it had to be killed.
    pub forced: bool,
    /// What it left running that had to be stopped apart: processes that escaped its group.
    pub leaked: Vec<crate::process::Marked>,
}

impl Drop for Server {
    fn drop(&mut self) {
        // An unstopped server: its process group is killed by `Running`'s own drop; what
        // lives outside it (a container, a wineserver) goes here.
        drop(self.process.take());
        if let Some(cleanup) = self.cleanup.take() {
            cleanup.remove();
        }
        if !self.mark.is_empty() {
            crate::process::sweep(&self.mark);
        }
    }
}

fn describe(probe: &Probe) -> String {
    match probe {
        Probe::Http(path) => format!("GET {path} never answered 2xx"),
        Probe::Tcp => "the port never accepted a connection".into(),
        Probe::Log(re) => format!("no log line matched `{re}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A prober of `port` whose connections must hold for `hold`.
    fn prober(port: u16, hold: Duration) -> Prober {
        Prober {
            port,
            base_url: format!("http://127.0.0.1:{port}"),
            logs: ServerLogs::of(Path::new("/nonexistent"), "x"),
            scans: Default::default(),
            listening: false,
            hold,
        }
    }

    #[tokio::test]
    async fn a_forwarder_that_closes_what_it_accepts_is_not_a_listening_server() {
        // A forwarder whose server does not listen yet: it accepts, then closes.
        let forwarder = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = forwarder.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((stream, _)) = forwarder.accept().await {
                tokio::time::sleep(Duration::from_millis(20)).await;
                drop(stream);
            }
        });
        let hold = Duration::from_millis(300);
        let second = Duration::from_secs(1);
        assert!(!prober(port, hold).probe(&Probe::Tcp, second).await);
        assert!(
            prober(port, Duration::ZERO)
                .probe(&Probe::Tcp, second)
                .await,
            "without a hold, any accepted connection counts"
        );
        // A server that takes the connection and waits for the client to speak.
        let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = server.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut kept = Vec::new();
            while let Ok((stream, _)) = server.accept().await {
                kept.push(stream);
            }
        });
        assert!(prober(port, hold).probe(&Probe::Tcp, second).await);
        // Nothing listening at all.
        let closed = crate::process::free_port().unwrap();
        assert!(!prober(closed, hold).probe(&Probe::Tcp, second).await);
    }

    #[test]
    fn the_log_probe_reads_new_lines_only_and_lossily() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let re = regex::Regex::new("listening on").unwrap();
        let mut scan = LogScan::default();
        std::fs::write(&log, b"starting \xff\xfe\n").unwrap();
        assert!(!scan.matches(&log, &re));
        let mut more = std::fs::read(&log).unwrap();
        more.extend_from_slice(b"listening on 127.0.0.1:80\n");
        std::fs::write(&log, &more).unwrap();
        assert!(scan.matches(&log, &re));
        assert_eq!(scan.offset, more.len() as u64, "each byte is read once");
    }
}
