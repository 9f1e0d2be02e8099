//! Commands run to completion: their output captured (`output`, `checked`), or logged as it
//! comes while the caller reads it (`logged`: a build's JSON messages, a command suite's
//! output), bounded in memory, and ended with what they left running.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use super::{Child, Cmd, Marked, Output, new_mark, open_log, sweep};
use crate::errors::{Error, Result};

/// Runs `cmd` to completion and captures its output. Cancelling the future ends everything
/// the command started.
pub async fn output(cmd: &Cmd) -> Result<Output> {
    capture(cmd, Stdio::null()).await
}

/// Runs `cmd` to completion with its standard input read from the file `input`, and
/// captures its output: bytes handed to a program as they are (an archive).
pub async fn output_with_input(cmd: &Cmd, input: &Path) -> Result<Output> {
    let file = std::fs::File::open(input).map_err(|e| Error::io(input, e))?;
    capture(cmd, Stdio::from(file)).await
}

/// Runs `cmd` with `stdin` to completion and captures its output.
async fn capture(cmd: &Cmd, stdin: Stdio) -> Result<Output> {
    use tokio::io::AsyncReadExt;
    let mut command = cmd.build();
    command
        .command_mut()
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Child::spawn(cmd, command)?;
    let mut stdout = child.inner.stdout().take().expect("piped");
    let mut stderr = child.inner.stderr().take().expect("piped");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let (read_out, read_err, status) = tokio::join!(
        stdout.read_to_end(&mut out),
        stderr.read_to_end(&mut err),
        child.wait()
    );
    read_out.map_err(|e| cmd.spawn_error(e))?;
    read_err.map_err(|e| cmd.spawn_error(e))?;
    child.armed = false;
    Ok(Output {
        status,
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
    })
}

/// Runs `cmd` to completion synchronously with its standard output written to the file
/// `out` as it comes (bytes, such as an archive); a failure is its standard error. For work
/// done where nothing can be awaited (evidence read off the async threads).
pub fn to_file_blocking(cmd: &Cmd, out: &Path) -> std::result::Result<(), String> {
    let file = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut command = cmd.std_command(&new_mark()).into_std();
    command.stdout(file).stderr(Stdio::piped());
    let done = command
        .output()
        .map_err(|e| format!("`{cmd}` could not start: {e}"))?;
    if done.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{cmd}` failed ({}): {}",
            done.status,
            String::from_utf8_lossy(&done.stderr).trim()
        ))
    }
}

/// Runs `cmd` and returns its standard output; a non-zero exit is an error that carries the
/// command line and its standard error.
pub async fn checked(cmd: &Cmd) -> Result<String> {
    let out = output(cmd).await?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(Error::Command {
            command: cmd.to_string(),
            problem: format!("failed ({})", out.status),
            stderr: if out.stderr.trim().is_empty() {
                out.stdout
            } else {
                out.stderr
            },
        })
    }
}

/// How a logged command ended.
#[derive(Debug)]
pub struct Logged {
    /// Its exit status.
    pub status: ExitStatus,
    /// What it started that was still running when it had exited (a background child that
    /// kept its output open, a daemon that left its group): stopped, and named here.
    pub leaked: Vec<Marked>,
}

/// The longest line of a command's output handed on whole; a longer one is handed on in
/// pieces of this size, so that one huge line costs no more memory than this.
pub(super) const MAX_LINE: usize = 1024 * 1024;

/// How long a command's output is still read once the command has exited: what it wrote
/// just before is in the pipe; a child that keeps the pipe open is not waited for.
const DRAIN: Duration = Duration::from_millis(200);

/// Runs `cmd` with its standard error appended to `log`, and returns once it exits.
/// `on_line` sees each line of standard output as it comes (lossily decoded) and returns
/// what of it belongs in the log: the line itself for a command's output, a rendering of it,
/// or nothing for data the caller parses (such as cargo's JSON messages). Once the command
/// has exited, its output is read a moment longer and no more: what it left running (a
/// background child holding the pipe, a daemon) is stopped and reported.
pub async fn logged(
    cmd: &Cmd,
    log: &Path,
    mut on_line: impl FnMut(&str) -> Option<String>,
) -> Result<Logged> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let file = open_log(log)?;
    let mark = new_mark();
    let mut command = cmd.build_marked(&mark);
    command
        .command_mut()
        .stdout(Stdio::piped())
        .stderr(file.try_clone().map_err(|e| Error::io(log, e))?);
    let mut child = Child::spawn(cmd, command)?;
    let mut stdout = child.inner.stdout().take().expect("piped");
    let mut file = tokio::fs::File::from_std(file);
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut status: Option<ExitStatus> = None;
    let mut drained_by: Option<tokio::time::Instant> = None;
    let mut handle = |piece: &[u8], file_lines: &mut Vec<String>| {
        let line = String::from_utf8_lossy(piece);
        if let Some(text) = on_line(line.trim_end_matches('\r')) {
            file_lines.push(text);
        }
    };
    loop {
        let mut lines = Vec::new();
        tokio::select! {
            read = stdout.read(&mut chunk) => {
                let n = read.map_err(|e| Error::io(log, e))?;
                if n == 0 {
                    break;
                }
                pending.extend_from_slice(&chunk[..n]);
                while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                    handle(&pending[..end], &mut lines);
                    pending.drain(..=end);
                }
                while pending.len() >= MAX_LINE {
                    handle(&pending[..MAX_LINE], &mut lines);
                    pending.drain(..MAX_LINE);
                }
            }
            () = tokio::time::sleep(Duration::from_millis(20)), if status.is_none() => {
                // Polled: the child's own wait would also wait for its group.
                if let Some(exited) = child.try_wait() {
                    status = Some(exited);
                    drained_by = Some(tokio::time::Instant::now() + DRAIN);
                }
            }
            () = sleep_until_some(drained_by) => break,
        }
        for text in lines {
            let _ = file.write_all(text.as_bytes()).await;
            let _ = file.write_all(b"\n").await;
        }
    }
    if !pending.is_empty() {
        let mut lines = Vec::new();
        handle(&pending, &mut lines);
        for text in lines {
            let _ = file.write_all(text.as_bytes()).await;
            let _ = file.write_all(b"\n").await;
        }
    }
    let status = match status {
        Some(status) => status,
        None => child.wait().await,
    };
    // Whatever it started is over with it: its group, and what left the group by its mark.
    child.kill_all();
    child.armed = false;
    let leaked = sweep(&mark);
    Ok(Logged { status, leaked })
}

/// Resolves at `at`, or never when there is none.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
