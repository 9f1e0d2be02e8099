//! The one spawn point for child processes.
//!
//! Every child gets its own process group, so that stopping it stops everything it started
//! (cargo's rustc processes, Wine's preloader, a shell's children), and so that a Ctrl-C in
//! the terminal reaches the harness alone, which then stops its children in order. A child
//! is stopped on every path: [`Running::stop`] asks politely and then forces, and dropping a
//! [`Running`] (on an error, a panic, or a cancelled future) kills its group at once. How a
//! group is made and signalled is the platform's: `unix.rs` and `windows.rs` have the same
//! functions.

mod commands;
#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as platform;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as platform;

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use process_wrap::tokio::{ChildWrapper, CommandWrap, KillOnDrop};

use crate::errors::{Error, Result};

pub use commands::{Logged, checked, logged, output, output_with_input, to_file_blocking};

/// A command line: program, argv, environment and folder. Values are passed as argv, never
/// through a shell.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    cwd: Option<PathBuf>,
}

impl Cmd {
    /// A command running `program`.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Cmd {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds arguments.
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    /// Runs in `dir`.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// The program.
    pub fn program(&self) -> &OsStr {
        &self.program
    }

    /// The command with a temporary folder of its own (`TMPDIR`, and `TMP` and `TEMP`, which
    /// Windows programs read), removed with everything in it when the returned [`OwnTemp`]
    /// is dropped, once the command is over. For tools that leave their temporary files
    /// behind: binutils' `dlltool`, which rustc runs for a Windows target's import libraries,
    /// leaves two empty files in the machine's temporary folder each time. A run killed
    /// before it could drop the folder leaves it to the next run, which removes it
    /// ([`remove_dead_runs_temp`]).
    pub fn with_own_temp(self) -> Result<(Cmd, OwnTemp)> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{TEMP_PREFIX}{}-temp-", std::process::id()))
            .tempdir()
            .map_err(|e| Error::io(std::env::temp_dir(), e))?;
        let cmd = ["TMPDIR", "TMP", "TEMP"]
            .into_iter()
            .fold(self, |cmd, var| cmd.env(var, dir.path()));
        Ok((cmd, OwnTemp(dir)))
    }

    fn build(&self) -> CommandWrap {
        self.build_marked(&new_mark())
    }

    /// The command with its mark, under the platform's process control (a process group
    /// on Unix, a job object on Windows), killed when its handle is dropped.
    fn build_marked(&self, mark: &str) -> CommandWrap {
        let mut wrap = CommandWrap::from(self.std_command(mark));
        platform::control(&mut wrap);
        wrap.wrap(KillOnDrop);
        wrap
    }

    /// The command with a new mark, its standard output and error appended to `log`;
    /// returns it and its mark.
    fn build_to_log(&self, log: &Path) -> Result<(CommandWrap, String)> {
        self.build_to_logs(log, log)
    }

    /// The command with a new mark, its standard output appended to `out` and its standard
    /// error to `err` (one file when they are the same); returns it and its mark.
    fn build_to_logs(&self, out: &Path, err: &Path) -> Result<(CommandWrap, String)> {
        let out_file = open_log(out)?;
        let err_file = if out == err {
            out_file.try_clone().map_err(|e| Error::io(err, e))?
        } else {
            open_log(err)?
        };
        let mark = new_mark();
        let mut command = self.build_marked(&mark);
        command.command_mut().stdout(out_file).stderr(err_file);
        Ok((command, mark))
    }

    #[expect(
        clippy::disallowed_methods,
        reason = "this is the one place that creates child processes"
    )]
    fn std_command(&self, mark: &str) -> tokio::process::Command {
        let mut c = std::process::Command::new(&self.program);
        // Every child and everything it starts carries the mark in its environment, through
        // `setsid`, double forks and reparenting, so that what escapes its process group is
        // still found and stopped: when its server stops, or by the next run when this one
        // was killed.
        c.env(MARK, mark);
        c.args(&self.args);
        for (k, v) in &self.env {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        if let Some(dir) = &self.cwd {
            c.current_dir(dir);
        }
        c.stdin(Stdio::null());
        tokio::process::Command::from(c)
    }

    fn spawn_error(&self, e: std::io::Error) -> Error {
        let problem = if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "could not start: `{}` is not installed or not on PATH",
                self.program.to_string_lossy()
            )
        } else {
            format!("could not start: {e}")
        };
        Error::Command {
            command: self.to_string(),
            problem,
            stderr: String::new(),
        }
    }
}

impl fmt::Display for Cmd {
    /// The command line as a user could paste it into the platform's shell: POSIX quoting
    /// on Unix, the Windows C runtime's on Windows (what `cmd` and PowerShell pass on).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<String> = std::iter::once(&self.program)
            .chain(&self.args)
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        #[cfg(windows)]
        let line = words
            .into_iter()
            .map(|w| shell_escape::windows::escape(w.into()).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        #[cfg(not(windows))]
        let line = shell_words::join(words);
        f.write_str(&line)
    }
}

/// The environment variable that marks every process the harness starts, and their
/// descendants: `<harness pid>-<serial>`.
pub const MARK: &str = "PORT_HARNESS_CHILD";

/// A mark of its own, for what the harness starts through another program (a pod's
/// processes, which the engine starts).
pub fn new_mark() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{n}", std::process::id())
}

/// A command's temporary folder of its own ([`Cmd::with_own_temp`]): removed when dropped.
#[derive(Debug)]
pub struct OwnTemp(tempfile::TempDir);

impl OwnTemp {
    /// The folder.
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// How the names of what a run keeps in the machine's temporary folder begin: then its pid.
const TEMP_PREFIX: &str = "port-harness-";

/// Removes what runs that no longer exist left in the machine's temporary folder (a run
/// killed with SIGKILL could not), and returns it.
pub fn remove_dead_runs_temp() -> Vec<PathBuf> {
    let temp = std::env::temp_dir();
    let Ok(entries) = std::fs::read_dir(&temp) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TEMP_PREFIX)) else {
            continue;
        };
        if !of_dead_run(rest) {
            continue;
        }
        let path = entry.path();
        let gone = match entry.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
            _ => std::fs::remove_file(&path),
        };
        if gone.is_ok() {
            removed.push(path);
        }
    }
    removed.sort();
    removed
}

/// A process found by its mark: its pid and command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marked {
    /// Its pid.
    pub pid: u32,
    /// Its command line.
    pub command: String,
}

impl fmt::Display for Marked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pid {}: {}", self.pid, self.command)
    }
}

/// Stops every process that carries `mark` (what a child left behind), and every orphan the
/// harness adopted that carries no mark at all (one started with an empty environment, which
/// no mark can follow), and returns them.
pub fn sweep(mark: &str) -> Vec<Marked> {
    let mut found = platform::marked(|value| value == mark);
    found.extend(platform::adopted_without_mark());
    for p in &found {
        platform::kill(p.pid);
    }
    found
}

/// Makes the harness adopt what its children leave behind: on Linux an orphan becomes the
/// harness's child, not init's, so that [`sweep`] finds it even without its mark. Called once
/// a run starts.
pub fn adopt_orphans() {
    platform::adopt_orphans();
}

/// Asks the topmost processes that carry `mark`, `except` aside, to stop as SIGTERM asks:
/// those whose parent carries no mark. For a container started with the mark passed in, that
/// is its init (its parent is the engine's monitor), which passes the signal on to the server,
/// as the engine's `stop` does, without an engine command. Returns whether any was asked;
/// none is found when the engine's processes are out of sight (a remote engine, Windows).
pub fn ask_topmost_marked(mark: &str, except: u32) -> bool {
    let found = platform::marked(|value| value == mark);
    let pids: Vec<u32> = found.iter().map(|p| p.pid).collect();
    let mut asked = false;
    for p in &found {
        if p.pid != except && platform::parent(p.pid).is_some_and(|pp| !pids.contains(&pp)) {
            platform::signal(p.pid, Signal::Terminate);
            asked = true;
        }
    }
    asked
}

/// Stops every process left by a harness run that no longer exists (one killed with
/// SIGKILL could not stop its children), and returns them.
pub fn sweep_dead_runs() -> Vec<Marked> {
    let found = platform::marked(of_dead_run);
    for p in &found {
        platform::kill(p.pid);
    }
    found
}

/// Whether a process left by a harness run that no longer exists lives.
pub fn dead_runs_left() -> bool {
    !platform::marked(of_dead_run).is_empty()
}

/// Whether `mark` is that of a harness run that no longer exists.
fn of_dead_run(mark: &str) -> bool {
    mark.split_once('-')
        .and_then(|(owner, _)| owner.parse::<u32>().ok())
        .is_some_and(|owner| owner != std::process::id() && !alive(owner))
}

/// Whether a process of this pid lives.
pub fn alive(pid: u32) -> bool {
    platform::alive(pid)
}

/// What a finished command printed.
#[derive(Debug)]
pub struct Output {
    /// Its exit status.
    pub status: ExitStatus,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

/// What a child is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    /// Stop as on Ctrl-C.
    Interrupt,
    /// Stop, cleaning up.
    Terminate,
    /// Stop now.
    #[cfg_attr(
        windows,
        expect(dead_code, reason = "a job object is ended, not signalled")
    )]
    Kill,
}

/// A spawned child under the platform's process control. Dropping it (an error, a panic, a
/// cancelled future) ends everything it started at once: its process group on Unix, its job
/// object on Windows.
struct Child {
    inner: Box<dyn ChildWrapper>,
    /// Whether dropping it ends what it started: not once a daemon it started is meant to
    /// outlive it.
    armed: bool,
    /// Its pid, as spawned.
    pid: Option<u32>,
    /// How it exited, once seen.
    status: Option<ExitStatus>,
}

impl Child {
    fn spawn(cmd: &Cmd, mut command: CommandWrap) -> Result<Child> {
        let inner = command.spawn().map_err(|e| cmd.spawn_error(e))?;
        Ok(Child {
            pid: inner.id(),
            inner,
            armed: true,
            status: None,
        })
    }

    /// How it exited, if it has, without waiting. Its status is read before anything reaps
    /// it: a group wait that reaps the leader while another member of its group lives (an
    /// orphan the harness adopted) would otherwise lose it.
    fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self
                .pid
                .and_then(platform::exit_status)
                .or_else(|| self.inner.try_wait().ok().flatten());
        }
        self.status
    }

    /// Resolves when it exits, with its status. Polled, never a blocking wait on its process
    /// group: an orphan the harness adopted can sit in that group, or leave it while such a
    /// wait is blocked, and the wait would then never end.
    async fn wait(&mut self) -> ExitStatus {
        loop {
            if let Some(status) = self.try_wait() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Ends everything it started now, however it was asked before.
    fn kill_all(&mut self) {
        let _ = self.inner.start_kill();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.armed {
            self.kill_all();
        }
    }
}

fn open_log(log: &Path) -> Result<std::fs::File> {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| Error::io(log, e))
}

/// Runs `cmd`, which starts a daemon and exits once it is ready, with its output (and the
/// daemon's) appended to `log`; returns its exit status and the mark the daemon carries
/// (see [`sweep`]). Its output is not piped: the daemon
/// would hold the pipe open for as long as it lives.
pub async fn start_daemon(cmd: &Cmd, log: &Path) -> Result<(ExitStatus, String)> {
    let (command, mark) = cmd.build_to_log(log)?;
    let mut child = Child::spawn(cmd, command)?;
    let status = child.wait().await;
    // The daemon lives on; it is stopped by its mark.
    child.armed = false;
    Ok((status, mark))
}

/// Runs `cmd` to completion synchronously, ignoring what it prints: for cleanup in `Drop`,
/// where nothing can be awaited. It gets its own process group (or job) like every child,
/// but is not tied to the harness: a cleanup finishes even as the harness exits.
pub fn run_blocking(cmd: &Cmd) -> Option<ExitStatus> {
    let mut command = cmd.std_command(&new_mark()).into_std();
    command.stdout(Stdio::null()).stderr(Stdio::null());
    command.status().ok()
}

/// Runs `cmd` to completion synchronously and returns its standard output when it succeeds:
/// a short question asked where nothing can be awaited (a message about a server's exit).
pub fn output_blocking(cmd: &Cmd) -> Option<String> {
    let mut command = cmd.std_command(&new_mark()).into_std();
    command.stdin(Stdio::null()).stderr(Stdio::null());
    let out = command.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A long-running child (a server) whose output goes to a log file.
pub struct Running {
    child: Child,
    command: String,
    mark: String,
}

impl Running {
    /// Starts `cmd` with standard output and error appended to `log`.
    pub fn spawn(cmd: &Cmd, log: &Path) -> Result<Running> {
        Running::spawn_split(cmd, log, log)
    }

    /// Starts `cmd` with its standard output appended to `out` and its standard error to
    /// `err`: each stream whole and in its own order, whatever the other one does.
    pub fn spawn_split(cmd: &Cmd, out: &Path, err: &Path) -> Result<Running> {
        let (command, mark) = cmd.build_to_logs(out, err)?;
        Ok(Running {
            child: Child::spawn(cmd, command)?,
            command: cmd.to_string(),
            mark,
        })
    }

    /// The command line it was started with.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The mark it and its descendants carry (see [`sweep`]).
    pub fn mark(&self) -> &str {
        &self.mark
    }

    /// Its pid, while it runs.
    pub fn id(&self) -> Option<u32> {
        self.child.inner.id()
    }

    /// The exit status, if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait()
    }

    /// Stops it: asks politely (SIGTERM to its group on Unix, `CTRL_BREAK_EVENT` to its
    /// console group on Windows), then ends everything it started after `grace`. Returns its
    /// exit status and whether it had to be forced.
    pub async fn stop(self, grace: Duration) -> (Option<ExitStatus>, bool) {
        self.stop_with(false, grace).await
    }

    /// Stops it, asking as a Ctrl-C does (`interrupt`: SIGINT on Unix) or as SIGTERM does;
    /// Windows has one polite request for a group, `CTRL_BREAK_EVENT`.
    pub async fn stop_with(
        mut self,
        interrupt: bool,
        grace: Duration,
    ) -> (Option<ExitStatus>, bool) {
        // One that has exited is not asked; one that cannot be asked (on Windows, one that
        // shares no console with the harness) is ended at once.
        let asked = self.try_wait().is_none()
            && platform::ask(
                self.child.inner.as_ref(),
                if interrupt {
                    Signal::Interrupt
                } else {
                    Signal::Terminate
                },
            )
            .is_ok();
        self.finish(if asked { grace } else { Duration::ZERO })
            .await
    }

    /// Waits up to `grace` for it to exit (something else asked it to: a container engine),
    /// then ends everything it started; by force if it had not exited. Returns its exit
    /// status and whether it had to be forced.
    pub async fn finish(mut self, grace: Duration) -> (Option<ExitStatus>, bool) {
        let exited = match self.try_wait() {
            Some(status) => Some(Ok(status)),
            None => tokio::time::timeout(grace, self.child.wait())
                .await
                .ok()
                .map(Ok::<_, std::io::Error>),
        };
        // Anything it left in its group or job goes too.
        self.child.kill_all();
        let (status, forced) = match exited {
            Some(status) => (status.ok(), false),
            None => (Some(self.child.wait().await), true),
        };
        // Stopped and reaped: nothing of it is left to end when it is dropped.
        self.child.armed = false;
        (status, forced)
    }
}

/// The last `n` lines of a log file, lossily decoded.
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A free TCP port on 127.0.0.1, as the system hands it out, and never one this process
/// handed out before: a port is free again once its probe socket closes, and a container's
/// published port holds no socket on the host, so two servers of one run could otherwise get
/// the same port and answer each other's requests.
pub fn free_port() -> Result<u16> {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| Error::io("127.0.0.1:0", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("127.0.0.1:0", e))?
            .port();
        if !given.contains(&port) {
            given.push(port);
            return Ok(port);
        }
    }
}

#[cfg(test)]
mod tests;
