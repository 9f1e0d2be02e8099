//! The process layer's tests: real children, their groups and jobs, their output and logs.

use super::*;

#[test]
fn no_port_is_handed_out_twice() {
    let ports: Vec<u16> = (0..500).map(|_| free_port().unwrap()).collect();
    let mut unique = ports.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ports.len());
}

#[cfg(windows)]
#[test]
fn display_quotes_as_the_windows_c_runtime_reads_a_command_line() {
    let cmd = Cmd::new("podman").args(["run", "--name", "a b", "say \"hi\"", "-e", "K=V"]);
    assert_eq!(
        cmd.to_string(),
        r#"podman run --name "a b" "say \"hi\"" -e K=V"#
    );
}

#[cfg(unix)]
#[test]
fn display_quotes_what_a_shell_would_split() {
    let cmd = Cmd::new("podman").args(["run", "--name", "a b", "it's", "-e", "K=V"]);
    assert_eq!(
        cmd.to_string(),
        r"podman run --name 'a b' 'it'\''s' -e 'K=V'"
    );
    assert_eq!(
        shell_words::split(&cmd.to_string()).unwrap(),
        ["podman", "run", "--name", "a b", "it's", "-e", "K=V"],
        "a shell reads back the same argv"
    );
}

#[tokio::test]
async fn checked_reports_the_command_and_its_stderr() {
    let (shell, flag, script) = if cfg!(windows) {
        ("cmd", "/c", "echo broken 1>&2 & exit 3")
    } else {
        ("sh", "-c", "echo broken >&2; exit 3")
    };
    let err = checked(&Cmd::new(shell).args([flag, script]))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        // Quoted as the platform's shell reads it back.
        text.starts_with(&if cfg!(windows) {
            format!("`{shell} {flag} \"{script}\"` failed")
        } else {
            format!("`{shell} {flag} '{script}'` failed")
        }),
        "{text}"
    );
    assert_eq!(
        text.lines().last().map(str::trim),
        Some("broken"),
        "the error ends with the command's standard error: {text}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_huge_line_of_output_is_handed_on_in_bounded_pieces() {
    let dir = tempfile::tempdir().unwrap();
    // Five MiB and no newline.
    let cmd = Cmd::new("sh").args(["-c", "head -c 5242880 /dev/zero | tr '\\0' x"]);
    let mut longest = 0;
    let mut total = 0;
    let logged = logged(&cmd, &dir.path().join("log"), |piece| {
        longest = longest.max(piece.len());
        total += piece.len();
        None
    })
    .await
    .unwrap();
    assert!(logged.status.success());
    assert_eq!(total, 5 * 1024 * 1024, "every byte is handed on");
    assert!(longest <= commands::MAX_LINE, "a piece of {longest} bytes");
}

#[cfg(unix)]
#[tokio::test]
async fn a_command_s_own_temp_folder_goes_with_what_it_left_there() {
    let dir = tempfile::tempdir().unwrap();
    let (cmd, temp) = Cmd::new("sh")
        .args(["-c", "echo \"$TMPDIR\" && touch \"$TMPDIR/left-behind\""])
        .with_own_temp()
        .unwrap();
    let mut told = Vec::new();
    let logged = logged(&cmd, &dir.path().join("log"), |line| {
        told.push(line.to_owned());
        None
    })
    .await
    .unwrap();
    assert!(logged.status.success(), "{told:?}");
    let used = PathBuf::from(&told[0]);
    assert_eq!(used, temp.path());
    assert_ne!(used, std::env::temp_dir());
    assert!(used.join("left-behind").is_file());
    drop(temp);
    assert!(!used.exists(), "{} is still there", used.display());
}

#[test]
fn what_a_dead_run_left_in_the_temp_folder_goes_and_a_live_run_s_stays() {
    // Above any pid this machine hands out.
    let dead = (3_000_000..).find(|pid| !alive(*pid)).unwrap();
    let temp = std::env::temp_dir();
    let of_dead = temp.join(format!("{TEMP_PREFIX}{dead}-temp-test"));
    let of_dead_file = temp.join(format!("{TEMP_PREFIX}{dead}-file"));
    let live = temp.join(format!("{TEMP_PREFIX}{}-temp-test", std::process::id()));
    let not_ours = temp.join(format!("{TEMP_PREFIX}e2e-{dead}-temp"));
    for dir in [&of_dead, &live, &not_ours] {
        std::fs::create_dir_all(dir.join("inner")).unwrap();
        std::fs::write(dir.join("inner/file"), "x").unwrap();
    }
    std::fs::write(&of_dead_file, "x").unwrap();
    let removed = remove_dead_runs_temp();
    assert!(removed.contains(&of_dead), "{removed:?}");
    assert!(removed.contains(&of_dead_file), "{removed:?}");
    assert!(!of_dead.exists() && !of_dead_file.exists());
    assert!(live.join("inner/file").is_file() && not_ours.join("inner/file").is_file());
    std::fs::remove_dir_all(&live).unwrap();
    std::fs::remove_dir_all(&not_ours).unwrap();
}

#[tokio::test]
async fn a_missing_program_says_so() {
    let err = output(&Cmd::new("no-such-program-xyz")).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("`no-such-program-xyz` is not installed"),
        "{err}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn stop_kills_the_whole_group() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    // A shell that ignores SIGTERM and has a grandchild: both must go.
    let running = Running::spawn(
        &Cmd::new("sh").args(["-c", "trap '' TERM; sleep 300 & echo started; wait"]),
        &log,
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pgid = running.id().unwrap();
    let (_, forced) = running.stop(Duration::from_millis(300)).await;
    assert!(
        forced,
        "the shell ignores SIGTERM, so it must have been forced"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(live_members(pgid), 0, "the group's processes are gone");
}

#[cfg(unix)]
/// Processes of a group that are not zombies (a zombie is dead; only its parent's
/// `wait` removes it, and an orphan's new parent may never call it).
fn live_members(pgid: u32) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
        .filter(|stat| {
            // pid (comm) state ppid pgrp ...; comm may hold spaces, so split after ')'.
            let rest = &stat[stat.rfind(')').unwrap() + 2..];
            let fields: Vec<&str> = rest.split(' ').collect();
            fields[0] != "Z" && fields[2] == pgid.to_string()
        })
        .count()
}

/// The pids of `parent`'s children, read from a snapshot of the system's processes.
#[cfg(windows)]
fn children_of(parent: u32) -> Vec<u32> {
    use ::windows::Win32::System::Diagnostics::ToolHelp::{
        CreateToolhelp32Snapshot, PROCESSENTRY32W, Process32FirstW, Process32NextW,
        TH32CS_SNAPPROCESS,
    };
    // SAFETY: the entry is sized as the API requires, and the snapshot handle is closed.
    unsafe {
        let snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0).unwrap();
        let mut entry = PROCESSENTRY32W {
            dwSize: std::mem::size_of::<PROCESSENTRY32W>() as u32,
            ..Default::default()
        };
        let mut found = Vec::new();
        let mut ok = Process32FirstW(snapshot, &mut entry).is_ok();
        while ok {
            if entry.th32ParentProcessID == parent {
                found.push(entry.th32ProcessID);
            }
            ok = Process32NextW(snapshot, &mut entry).is_ok();
        }
        let _ = ::windows::Win32::Foundation::CloseHandle(snapshot);
        found
    }
}

/// A cmd.exe with a ping below it: the child and its grandchild, as pids, once both run.
#[cfg(windows)]
async fn a_tree(log: &Path) -> (Running, Vec<u32>) {
    let running =
        Running::spawn(&Cmd::new("cmd").args(["/c", "ping -n 300 127.0.0.1"]), log).unwrap();
    let leader = running.id().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let children = children_of(leader);
        if !children.is_empty() {
            let mut tree = vec![leader];
            tree.extend(children);
            return (running, tree);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "cmd started {children:?} in 20 s; its log: {}",
            log_tail(log, 20)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(windows)]
#[tokio::test]
async fn stop_ends_the_whole_job() {
    let dir = tempfile::tempdir().unwrap();
    let (running, tree) = a_tree(&dir.path().join("log")).await;
    assert!(tree.iter().all(|pid| alive(*pid)), "{tree:?} run");
    // ping answers Ctrl-Break with its statistics and goes on: the job object ends it.
    let (_, forced) = running.stop(Duration::from_millis(500)).await;
    assert!(forced, "ping outlived its grace");
    let left: Vec<u32> = tree.into_iter().filter(|pid| alive(*pid)).collect();
    assert_eq!(
        left,
        Vec::<u32>::new(),
        "every process of the job has ended"
    );
}

#[cfg(windows)]
#[tokio::test]
async fn dropping_a_running_child_ends_its_job() {
    let dir = tempfile::tempdir().unwrap();
    let (running, tree) = a_tree(&dir.path().join("log")).await;
    drop(running);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while tree.iter().any(|pid| alive(*pid)) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left: Vec<u32> = tree.into_iter().filter(|pid| alive(*pid)).collect();
    assert_eq!(
        left,
        Vec::<u32>::new(),
        "closing the job ended its processes"
    );
}

/// A marked child that replaces itself (`exec`) thousands of times is never taken for an
/// orphan without a mark: while the kernel swaps its program, its environment can read empty
/// or torn, without the mark, while its command line reads whole (one look in sixteen did,
/// before such a process was looked at twice).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_marked_child_in_the_middle_of_an_exec_is_never_taken_for_one_without_a_mark() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("again.sh");
    std::fs::write(
        &script,
        "n=$1; [ \"$n\" -gt 0 ] || exit 0; exec sh \"$0\" $((n - 1))\n",
    )
    .unwrap();
    // Many variables, so that the kernel takes a while to lay out the new environment.
    let mut cmd = Cmd::new("sh").arg(&script).arg("5000");
    for i in 0..200 {
        cmd = cmd.env(format!("FILLER_{i}"), "x".repeat(64));
    }
    let running = Running::spawn(&cmd, &dir.path().join("log")).unwrap();
    let pid = running.id().unwrap();
    let mut taken = 0;
    let mut looks = 0;
    while alive(pid) && looks < 200_000 {
        looks += 1;
        if platform::adopted_without_mark()
            .iter()
            .any(|p| p.pid == pid)
        {
            taken += 1;
        }
    }
    let _ = running.finish(Duration::from_secs(5)).await;
    assert_eq!(
        taken, 0,
        "taken for an orphan without a mark {taken} times in {looks} looks"
    );
}
