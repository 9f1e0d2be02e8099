//! Builds: the server for every selected cell, each distinct build once.
//!
//! A cargo server ([`cargo`]) is located with `cargo metadata` and built with cargo's JSON
//! messages, which name the executable it produced (paths are never guessed) and carry each
//! compiler error as cargo rendered it. All triples of one profile and feature set go to one
//! cargo invocation, so cargo builds them in parallel within its job limit under one lock,
//! and `--keep-going` lets the other triples finish when one fails. A server that cargo does
//! not build is built by its target's own command ([`command`]).

pub mod cargo;
pub mod command;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::errors::Result;
use crate::events::Events;
use crate::matrix::{Cell, Matrix, placeholders};

pub use cargo::default_out;

/// The artifact of each cell, or why it has none.
pub type Artifacts = BTreeMap<String, std::result::Result<PathBuf, String>>;

/// The file every build of a run logs to, in the run's log folder.
pub const LOG: &str = "build.log";

/// Builds the server for `cells`; build failures are reported per cell, not as an error.
pub async fn build_all(
    matrix: &Matrix,
    cells: &[&Cell],
    cargo_env: &[(String, String)],
    log_dir: &Path,
    events: &Events,
) -> Result<Artifacts> {
    let log = log_dir.join(LOG);
    let mut artifacts = Artifacts::new();
    let mut cargo_groups: BTreeMap<cargo::Key, BTreeSet<String>> = BTreeMap::new();
    type Command = (Vec<String>, String, Vec<(String, String)>);
    let mut commands: BTreeMap<Command, Vec<String>> = BTreeMap::new();
    for cell in cells {
        let target = matrix
            .target(&cell.target)
            .expect("cells name known targets");
        match &target.build {
            Some(build) => {
                let expand = |s: &String| {
                    placeholders::expand(s, &|name| match name {
                        "triple" => Some(target.triple.clone()),
                        "target" => Some(cell.target.clone()),
                        axis => cell.value(axis).map(str::to_owned),
                    })
                };
                let command = build.command.iter().map(expand).collect();
                let env = build
                    .env
                    .iter()
                    .map(|(k, v)| (k.clone(), expand(v)))
                    .collect();
                commands
                    .entry((command, expand(&build.artifact), env))
                    .or_default()
                    .push(cell.name.clone());
            }
            None => {
                cargo_groups
                    .entry(cargo::Key::of(cell))
                    .or_default()
                    .insert(target.triple.clone());
            }
        }
    }
    if !cargo_groups.is_empty() {
        let server = matrix
            .server
            .cargo
            .as_ref()
            .expect("validated: cargo builds need a package");
        let cargo_targets: BTreeSet<&str> = cells
            .iter()
            .filter(|c| matrix.target(&c.target).is_some_and(|t| t.build.is_none()))
            .map(|c| c.target.as_str())
            .collect();
        let cargo_targets: Vec<&str> = cargo_targets.into_iter().collect();
        let bin = cargo::binary(&matrix.root, server, &cargo_targets).await?;
        for (key, triples) in &cargo_groups {
            let build = cargo::Build {
                root: &matrix.root,
                server,
                bin: &bin,
                key,
                triples,
                env: cargo_env,
            };
            let built =
                match tokio::time::timeout(matrix.limits.build_timeout, build.run(&log, events))
                    .await
                {
                    Ok(built) => built?,
                    // Dropping the build stopped cargo and everything it started.
                    Err(_) => triples
                        .iter()
                        .map(|t| (t.clone(), Err(timed_out(matrix))))
                        .collect(),
                };
            for cell in cells {
                let target = matrix.target(&cell.target).expect("known");
                if target.build.is_none() && &cargo::Key::of(cell) == key {
                    artifacts.insert(cell.name.clone(), built[&target.triple].clone());
                }
            }
        }
    }
    for ((cmd, artifact, env), names) in commands {
        let build = command::build(&matrix.root, &cmd, &env, &artifact, &log, events);
        let result = tokio::time::timeout(matrix.limits.build_timeout, build)
            .await
            .unwrap_or_else(|_| Err(timed_out(matrix)));
        for name in names {
            artifacts.insert(name, result.clone());
        }
    }
    Ok(artifacts)
}

fn timed_out(matrix: &Matrix) -> String {
    format!(
        "the build did not finish within its build_timeout of {} and was stopped",
        humantime::format_duration(matrix.limits.build_timeout)
    )
}
