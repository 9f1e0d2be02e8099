//! Process control on Windows: each child starts in a job object (process-wrap's
//! `JobObject`), so that ending the job ends everything the child started, and closing it
//! (the harness exiting, however it exits) does too; and in a console process group of its
//! own, so that a Ctrl-C in the harness's console reaches the harness alone and the child
//! can be asked to stop with `CTRL_BREAK_EVENT`.

use process_wrap::tokio::{ChildWrapper, CommandWrap, CreationFlags, JobObject};
use windows::Win32::System::Console::{CTRL_BREAK_EVENT, GenerateConsoleCtrlEvent};
use windows::Win32::System::Threading::CREATE_NEW_PROCESS_GROUP;

use super::{Marked, Signal};

/// Starts the child in a new console process group, inside a job object of its own.
pub(super) fn control(cmd: &mut CommandWrap) {
    // The flags first: the job object adds its own to them.
    cmd.wrap(CreationFlags(CREATE_NEW_PROCESS_GROUP));
    cmd.wrap(JobObject);
}

/// Asks the child's console process group to stop: Windows has one polite request that
/// reaches a group, `CTRL_BREAK_EVENT` (a Ctrl-C cannot be sent to a group of its own).
pub(super) fn ask(child: &dyn ChildWrapper, _signal: Signal) -> std::io::Result<()> {
    let Some(group) = child.id() else {
        return Ok(());
    };
    // SAFETY: no memory is passed; the group is the child's, created with
    // CREATE_NEW_PROCESS_GROUP, whose id is the child's pid.
    unsafe { GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, group) }.map_err(std::io::Error::other)
}

/// Signals to one process found by its mark: Windows has no mark to find them by (below),
/// and the job object already holds every descendant.
pub(super) fn signal(_pid: u32, _signal: Signal) {}

/// Ends one process found by its mark: none are found on Windows (below).
pub(super) fn kill(_pid: u32) {}

/// Whether `pid` lives: a process that opens and has not exited, or one this user may not
/// open (it exists).
pub(super) fn alive(pid: u32) -> bool {
    use windows::Win32::Foundation::{CloseHandle, ERROR_ACCESS_DENIED, WAIT_TIMEOUT};
    use windows::Win32::System::Threading::{
        OpenProcess, PROCESS_SYNCHRONIZE, WaitForSingleObject,
    };
    // SAFETY: no memory is passed; the handle is checked and closed.
    unsafe {
        match OpenProcess(PROCESS_SYNCHRONIZE, false, pid) {
            Ok(handle) => {
                let running = WaitForSingleObject(handle, 0) == WAIT_TIMEOUT;
                let _ = CloseHandle(handle);
                running
            }
            Err(e) => e.code() == ERROR_ACCESS_DENIED.to_hresult(),
        }
    }
}

/// The parent of `pid`: not looked up here (nothing is found by its mark on Windows).
pub(super) fn parent(_pid: u32) -> Option<u32> {
    None
}

/// Processes found by their mark: Windows has no /proc to read environments from; the job
/// object of each child takes the place of the mark, and a harness that dies closes them.
pub(super) fn marked(_matches: impl Fn(&str) -> bool) -> Vec<Marked> {
    Vec::new()
}

/// Orphans are not adopted on Windows: every descendant of a child stays in its job object,
/// which ends them all, mark or no mark.
pub(super) fn adopt_orphans() {}

/// No adopted orphans on Windows (above): the job objects hold every descendant.
pub(super) fn adopted_without_mark() -> Vec<Marked> {
    Vec::new()
}

/// How the child `pid` exited, when it has: on Windows a job object's wait never loses a
/// process's status, so the child's own wait answers.
pub(super) fn exit_status(_pid: u32) -> Option<std::process::ExitStatus> {
    None
}
