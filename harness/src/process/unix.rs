//! Process control on Unix: each child leads a process group of its own (process-wrap's
//! `ProcessGroup`), a signal to the group reaches everything the child started, and on Linux
//! the child dies with the harness.

use process_wrap::tokio::{ChildWrapper, CommandWrap, CommandWrapper, ProcessGroup};

use super::{MARK, Marked, Signal};

/// Puts the child in a process group of its own, and has it die with the harness.
pub(super) fn control(cmd: &mut CommandWrap) {
    cmd.wrap(ProcessGroup::leader());
    cmd.wrap(DieWithParent);
}

/// Has the child killed when the harness dies, however it dies (Linux's parent-death
/// signal), so that a harness killed with SIGKILL leaves no server running.
#[derive(Debug)]
struct DieWithParent;

impl CommandWrapper for DieWithParent {
    fn pre_spawn(
        &mut self,
        command: &mut tokio::process::Command,
        _core: &CommandWrap,
    ) -> std::io::Result<()> {
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe, and the closure touches nothing else.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        #[cfg(not(target_os = "linux"))]
        let _ = command;
        Ok(())
    }
}

fn number(signal: Signal) -> libc::c_int {
    match signal {
        Signal::Interrupt => libc::SIGINT,
        Signal::Terminate => libc::SIGTERM,
        Signal::Kill => libc::SIGKILL,
    }
}

/// Asks the child's whole group to stop: SIGINT or SIGTERM.
pub(super) fn ask(child: &dyn ChildWrapper, signal: Signal) -> std::io::Result<()> {
    child.signal(number(signal))
}

/// Sends `signal` to `pid` alone.
pub(super) fn signal(pid: u32, signal: Signal) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(pid as libc::pid_t, number(signal));
    }
}

/// Kills `pid`.
pub(super) fn kill(pid: u32) {
    signal(pid, Signal::Kill);
}

/// Whether `pid` lives (a zombie does not).
pub(super) fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .and_then(|i| stat[i + 1..].trim_start().chars().next())
            .is_some_and(|state| state != 'Z')
    })
}

/// The parent of `pid`, while it lives.
pub(super) fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Every process's pid, as /proc lists them.
fn pids() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
}

/// The mark in `pid`'s environment (`Some(None)` when it has none), or `None` when its
/// environment cannot be read.
fn mark_of(pid: u32) -> Option<Option<String>> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    let prefix = format!("{MARK}=");
    Some(
        environ
            .split(|b| *b == 0)
            .filter_map(|var| std::str::from_utf8(var).ok())
            .find_map(|var| var.strip_prefix(prefix.as_str()).map(str::to_owned)),
    )
}

/// `pid` with its command line.
fn described(pid: u32) -> Marked {
    let command = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .replace('\0', " ")
                .trim()
                .to_owned()
        })
        .unwrap_or_default();
    Marked { pid, command }
}

/// The live processes whose mark `matches`, this process aside.
pub(super) fn marked(matches: impl Fn(&str) -> bool) -> Vec<Marked> {
    let me = std::process::id();
    pids()
        .filter(|&pid| pid != me)
        .filter(|&pid| mark_of(pid).flatten().is_some_and(|m| matches(&m)) && alive(pid))
        .map(described)
        .collect()
}

/// Makes the harness the reaper of every orphan it leaves behind (Linux's child subreaper):
/// a process that double-forks or calls `setsid` away from its group becomes the harness's
/// child instead of init's, so that it is found by its parent even when it dropped its mark
/// (started with an empty environment). Elsewhere, nothing (the mark is all there is).
pub(super) fn adopt_orphans() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with an integer argument has no memory-safety preconditions.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
    }
}

/// Programs that a container engine starts to outlive their starter on purpose, with an
/// environment of their own (no mark): podman's container monitor, and the podman commands it
/// runs when its container ends. Adopted by the harness, they are the engine's, not leaks.
const ENGINE_HELPERS: &[&str] = &["conmon", "podman"];

/// The live children of the harness that carry no mark: every child the harness starts
/// carries one, so these are orphans it adopted that dropped theirs (the engine's own helpers
/// aside).
///
/// While a process replaces its program (`exec`: a shell script's interpreter, `wine`
/// starting its preloader, a pyenv shim), its environment can read empty, or torn between
/// the old program's and the new one's, without the mark: a marked server would pass for one
/// without, and be stopped. So a process is judged only when it still shows no mark, under
/// the same command line, a moment later.
pub(super) fn adopted_without_mark() -> Vec<Marked> {
    let unmarked = |pid: u32| -> Option<Marked> {
        if parent(pid) != Some(std::process::id()) || !alive(pid) {
            return None;
        }
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if ENGINE_HELPERS.contains(&name.trim()) {
            return None;
        }
        // A process whose environment cannot be read is not judged.
        if mark_of(pid)?.is_some() {
            return None;
        }
        // Nor one whose command line is gone: it is exiting (its memory released, which also
        // empties its environment), such as an engine helper that ended as it was looked at.
        Some(described(pid)).filter(|p| !p.command.is_empty())
    };
    let found: Vec<Marked> = pids().filter_map(unmarked).collect();
    if found.is_empty() {
        return found;
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    found
        .into_iter()
        .filter(|p| unmarked(p.pid).as_ref() == Some(p))
        .collect()
}

/// How the child `pid` exited, when it has, read without reaping it (`waitid` with
/// `WNOWAIT`): whoever reaps it later still can, and its status is not lost to a wait on its
/// process group that reaps it while another member lives.
pub(super) fn exit_status(pid: u32) -> Option<std::process::ExitStatus> {
    use std::os::unix::process::ExitStatusExt;
    // SAFETY: an all-zero siginfo_t is a valid value for waitid to fill in.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid writes only into the siginfo it is given.
    let done = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: waitid filled the siginfo of a child that changed state (si_pid is 0 if none).
    if done != 0 || unsafe { info.si_pid() } == 0 {
        return None;
    }
    // SAFETY: as above; si_status is set for CLD_* codes.
    let status = unsafe { info.si_status() };
    Some(match info.si_code {
        libc::CLD_EXITED => std::process::ExitStatus::from_raw((status & 0xff) << 8),
        libc::CLD_DUMPED => std::process::ExitStatus::from_raw(status | 0x80),
        _ => std::process::ExitStatus::from_raw(status),
    })
}
