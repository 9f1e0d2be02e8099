//! The Wine runtime: Windows builds run by Wine, with the `ProcessPrng` shim beside the `.exe`
//! when this Wine needs it.
//!
//! Servers run at once, each in a prefix of its own from the provisioned pool (never two in
//! one prefix: they would share a registry, a temp folder and named objects). A slot's
//! prefix is held for the run by a file lock, so that another run cannot use it at the same
//! time, and its wineserver is started once, persistent, and stopped when the run ends: a
//! job pays only for its own program's start and stop. The server is asked to stop with
//! SIGINT, which Wine delivers as a console Ctrl-C. The `.exe` and the shim are staged once
//! per artifact, outside cargo's target folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;

use super::super::{Launch, Reservation, Runtime, Server, StopSignal};
use crate::errors::{Error, Result};
use crate::matrix::Runtime as RuntimeConfig;
use crate::process::{Cmd, Running, run_blocking, start_daemon};
use crate::provision::Wine;
use crate::provision::provenance::{Execution, ExecutionKind, Facts};

/// A Linux path as a Windows program under Wine sees it, through the `Z:` drive.
pub fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.to_string_lossy().replace('/', "\\"))
}

/// One prefix of the pool.
struct Slot {
    wine: Wine,
    state: Mutex<SlotState>,
}

#[derive(Default)]
struct SlotState {
    /// A server runs in it now.
    busy: bool,
    /// The lock that keeps other runs out, once this run has used the slot.
    lock: Option<std::fs::File>,
    /// Its wineserver was started (and is stopped when the run ends).
    started: bool,
    /// The marks of what the run started in it: its wineserver, Wine's services.
    marks: Vec<String>,
    /// Its wineserver and Wine's services run: a server starts at once.
    warm: bool,
}

/// Wine, with its pool of prefixes.
pub struct WineRuntime {
    slots: Vec<Arc<Slot>>,
    stage_dir: PathBuf,
    staged: Mutex<HashMap<PathBuf, PathBuf>>,
}

impl WineRuntime {
    /// Wine with the provisioned pool of prefixes, staging executables into `stage_dir`.
    pub fn new(pool: Vec<Wine>, stage_dir: PathBuf) -> Self {
        WineRuntime {
            slots: pool
                .into_iter()
                .map(|wine| {
                    Arc::new(Slot {
                        wine,
                        state: Mutex::new(SlotState::default()),
                    })
                })
                .collect(),
            stage_dir,
            staged: Mutex::new(HashMap::new()),
        }
    }

    /// The `.exe` of `artifact` staged with the shim in a folder of its own (once per
    /// artifact), so that the shim never lands in cargo's target directory.
    fn stage(&self, artifact: &Path) -> Result<PathBuf> {
        let mut staged = self.staged.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(exe) = staged.get(artifact) {
            return Ok(exe.clone());
        }
        let dir = self.stage_dir.join(staged.len().to_string());
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let exe = dir.join(artifact.file_name().unwrap_or_default());
        std::fs::copy(artifact, &exe).map_err(|e| Error::io(&exe, e))?;
        if let Some(shim) = self.slots.first().and_then(|s| s.wine.shim.as_deref()) {
            let to = dir.join("bcryptprimitives.dll");
            std::fs::copy(shim, &to).map_err(|e| Error::io(&to, e))?;
        }
        staged.insert(artifact.to_owned(), exe.clone());
        Ok(exe)
    }

    /// A free slot whose prefix this run holds (or can take), marked busy.
    fn take_slot(&self) -> Result<Option<usize>> {
        for (i, slot) in self.slots.iter().enumerate() {
            let mut state = slot.state.lock().unwrap_or_else(|e| e.into_inner());
            if state.busy {
                continue;
            }
            if state.lock.is_none() {
                let lock = slot.wine.prefix.with_extension("lock");
                match crate::provision::try_lock(&lock)? {
                    Some(file) => state.lock = Some(file),
                    None => continue,
                }
            }
            state.busy = true;
            return Ok(Some(i));
        }
        Ok(None)
    }
}

impl Runtime for WineRuntime {
    fn name(&self) -> &'static str {
        "wine"
    }

    fn describe(&self, config: &RuntimeConfig, facts: &Facts) -> Execution {
        let by = facts.wine.clone().unwrap_or_else(|| "wine".to_owned());
        super::super::execution(ExecutionKind::Emulated, by, config)
    }

    fn capacity(&self) -> Option<usize> {
        Some(self.slots.len())
    }

    fn try_reserve(&self) -> Result<Option<Reservation>> {
        let Some(i) = self.take_slot()? else {
            return Ok(None);
        };
        let slot = self.slots[i].clone();
        Ok(Some(Reservation::of(i, move || {
            slot.state.lock().unwrap_or_else(|e| e.into_inner()).busy = false;
        })))
    }

    fn place(&self, reservation: &Reservation) -> Option<String> {
        let slot = self.slots.get(reservation.slot?)?;
        Some(format!("wine prefix {}", slot.wine.prefix.display()))
    }

    fn prepare<'a>(&'a self, reservation: &'a Reservation) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let slot = &self.slots[reservation
                .slot
                .expect("a Wine server runs in a reserved slot")];
            if slot.state.lock().unwrap_or_else(|e| e.into_inner()).warm {
                return Ok(());
            }
            // From here on the run stops the slot's wineserver when it ends, whatever happens.
            slot.state.lock().unwrap_or_else(|e| e.into_inner()).started = true;
            // A persistent wineserver for the rest of the run: it daemonizes once it listens,
            // so every program of the slot finds it ready. Status 2 says one runs already.
            let cmd = slot.wine.env(Cmd::new("wineserver").arg("-p"));
            let log = self
                .stage_dir
                .join(format!("wineserver-{}.log", reservation.slot.unwrap_or(0)));
            let (status, mark) = start_daemon(&cmd, &log).await?;
            slot.state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .marks
                .push(mark);
            if !status.success() && status.code() != Some(2) {
                return Err(Error::Command {
                    command: cmd.to_string(),
                    problem: format!("failed ({status})"),
                    stderr: crate::process::log_tail(&log, 20),
                });
            }
            // Wine's own services (services.exe, winedevice.exe, plugplay.exe, svchost.exe)
            // start with the first program and live as long as the wineserver: started here,
            // once, they belong to the slot rather than to the first job's server.
            let boot = slot
                .wine
                .env(Cmd::new("wine"))
                .args(["cmd.exe", "/c", "exit"]);
            let (status, mark) = start_daemon(&boot, &log).await?;
            slot.state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .marks
                .push(mark);
            if !status.success() {
                return Err(Error::Command {
                    command: boot.to_string(),
                    problem: format!("failed ({status})"),
                    stderr: crate::process::log_tail(&log, 20),
                });
            }
            slot.state.lock().unwrap_or_else(|e| e.into_inner()).warm = true;
            Ok(())
        })
    }

    fn warm_up(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // Every slot this run can hold now, at once; one another run holds is warmed when
            // a job gets it.
            let mut reservations = Vec::new();
            while let Ok(Some(reservation)) = self.try_reserve() {
                reservations.push(reservation);
            }
            futures_util::future::join_all(reservations.iter().map(|r| self.prepare(r))).await;
        })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let started: Vec<(Wine, Vec<String>)> = self
                .slots
                .iter()
                .filter_map(|slot| {
                    let mut state = slot.state.lock().unwrap_or_else(|e| e.into_inner());
                    state.warm = false;
                    std::mem::take(&mut state.started)
                        .then(|| (slot.wine.clone(), std::mem::take(&mut state.marks)))
                })
                .collect();
            // Every slot at once, and at once: its wineserver and Wine's services are killed
            // (the servers of its jobs are gone already). Asked politely, a wineserver would
            // first write the prefix's registry back (1.7 MB for Windows 10), half a second
            // at the end of every run, for nothing a run needs: the prefix is the cache's.
            futures_util::future::join_all(started.iter().map(|(wine, marks)| async move {
                if marks.is_empty() {
                    let _ =
                        crate::process::output(&wine.env(Cmd::new("wineserver").arg("-k"))).await;
                }
                for mark in marks {
                    crate::process::sweep(mark);
                }
            }))
            .await;
        })
    }

    fn data_dir_spelling(&self, host: &Path) -> String {
        windows_path(host)
    }

    fn start<'a>(
        &'a self,
        launch: &'a Launch<'a>,
        reservation: &'a Reservation,
    ) -> BoxFuture<'a, Result<Server>> {
        Box::pin(async move {
            let slot = &self.slots[reservation
                .slot
                .expect("a Wine server runs in a reserved slot")];
            let exe = self.stage(launch.artifact)?;
            let data_dir = self.data_dir_spelling(launch.data_dir);
            let mut cmd = slot
                .wine
                .env(Cmd::new("wine"))
                .arg(&exe)
                .args(launch.args_for("127.0.0.1", &data_dir))
                .current_dir(launch.data_dir);
            for (k, v) in &launch.env {
                cmd = cmd.env(k, v);
            }
            let process = Running::spawn_split(&cmd, &launch.logs.stdout, &launch.logs.stderr)?;
            Ok(Server::new(process, None, launch, StopSignal::Interrupt))
        })
    }
}

impl Drop for WineRuntime {
    fn drop(&mut self) {
        // The run is over: every warm wineserver (and anything still in its prefix) goes.
        for slot in &self.slots {
            let state = slot.state.lock().unwrap_or_else(|e| e.into_inner());
            if state.started {
                let _ = run_blocking(&slot.wine.env(Cmd::new("wineserver").arg("-k")));
            }
        }
        let _ = std::fs::remove_dir_all(&self.stage_dir);
    }
}
