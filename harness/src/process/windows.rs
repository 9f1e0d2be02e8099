//! Process groups on Windows: each child starts a new console process group, and stopping
//! it ends the child (its descendants go with the job object once process control moves to
//! one; until then, `kill_on_drop` ends the child itself).

use super::Signal;

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
