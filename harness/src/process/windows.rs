//! Process groups on Windows: each child starts a new console process group, and stopping
//! it ends the child (its descendants go with the job object once process control moves to
//! one; until then, `kill_on_drop` ends the child itself).

use super::{Marked, Signal};

/// Starts the child in a new console process group, so that a Ctrl-C in the harness's
/// console does not reach it directly.
pub(super) fn new_group(cmd: &mut std::process::Command) {
    use std::os::windows::process::CommandExt;
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    cmd.creation_flags(CREATE_NEW_PROCESS_GROUP);
}

/// Windows has no signals to send to a group; every request ends in `kill_on_drop` or the
/// runtime's own stop. Kept beside its Unix twin so that the gap is visible, not silent.
pub(super) fn signal_group(_pid: u32, _signal: Signal) {}

/// Signals to one process: none on Windows either.
pub(super) fn signal(_pid: u32, _signal: Signal) {}

/// A child of a Windows process is not killed with it; job objects will tie them together.
pub(super) fn die_with_parent(_cmd: &mut std::process::Command) {}

/// Ends `pid`: without a job object there is nothing to end it by here.
pub(super) fn kill(_pid: u32) {}

/// Whether `pid` lives: unknown here, so a leftover's owner counts as alive (nothing of a
/// live run is ever stopped by mistake).
pub(super) fn alive(_pid: u32) -> bool {
    true
}

/// Processes found by their mark: Windows has no /proc to read environments from.
pub(super) fn marked(_matches: impl Fn(&str) -> bool) -> Vec<Marked> {
    Vec::new()
}
