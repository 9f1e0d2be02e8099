//! Process groups on Unix: each child leads a group of its own, and a signal to the group
//! reaches everything the child started.

use super::{MARK, Marked, Signal};

/// Makes the child the leader of a new process group.
pub(super) fn new_group(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
}

fn number(signal: Signal) -> libc::c_int {
    match signal {
        Signal::Interrupt => libc::SIGINT,
        Signal::Terminate => libc::SIGTERM,
        Signal::Kill => libc::SIGKILL,
    }
}

/// Sends `signal` to the process group `pid` leads.
pub(super) fn signal_group(pid: u32, signal: Signal) {
    // SAFETY: killpg has no memory-safety preconditions; the pid is a group we created.
    unsafe {
        libc::killpg(pid as libc::pid_t, number(signal));
    }
}

/// Sends `signal` to `pid` alone.
pub(super) fn signal(pid: u32, signal: Signal) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(pid as libc::pid_t, number(signal));
    }
}

/// Has the child killed when the harness dies, however it dies (Linux's parent-death
/// signal), so that a harness killed with SIGKILL leaves no server running.
pub(super) fn die_with_parent(cmd: &mut std::process::Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe, and the closure touches nothing else.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

/// Kills `pid`.
pub(super) fn kill(pid: u32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
}

/// Whether `pid` lives (a zombie does not).
pub(super) fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .and_then(|i| stat[i + 1..].trim_start().chars().next())
            .is_some_and(|state| state != 'Z')
    })
}

/// The live processes whose mark `matches`, this process aside.
pub(super) fn marked(matches: impl Fn(&str) -> bool) -> Vec<Marked> {
    let me = std::process::id();
    let prefix = format!("{MARK}=");
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let mark = environ
            .split(|b| *b == 0)
            .filter_map(|var| std::str::from_utf8(var).ok())
            .find_map(|var| var.strip_prefix(prefix.as_str()));
        if mark.is_some_and(&matches) && alive(pid) {
            let command = std::fs::read(entry.path().join("cmdline"))
                .map(|b| {
                    String::from_utf8_lossy(&b)
                        .replace('\0', " ")
                        .trim()
                        .to_owned()
                })
                .unwrap_or_default();
            found.push(Marked { pid, command });
        }
    }
    found
}
