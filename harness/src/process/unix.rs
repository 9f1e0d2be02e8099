//! Process groups on Unix: each child leads a group of its own, and a signal to the group
//! reaches everything the child started.

use super::Signal;

/// Makes the child the leader of a new process group.
pub(super) fn new_group(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
}

/// Sends `signal` to the process group `pid` leads.
pub(super) fn signal_group(pid: u32, signal: Signal) {
    let signal = match signal {
        Signal::Interrupt => libc::SIGINT,
        Signal::Terminate => libc::SIGTERM,
        Signal::Kill => libc::SIGKILL,
    };
    // SAFETY: killpg has no memory-safety preconditions; the pid is a group we created.
    unsafe {
        libc::killpg(pid as libc::pid_t, signal);
    }
}
