//! Merging shards: the results of each CI job, put back together into what the whole plan
//! observed. Every planned job must be in exactly one shard; the judgement then runs over all
//! of them, as on one machine. Pure: reading the shards' files is `persist`'s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Noise, Results};
use crate::errors::{Error, Result};
use crate::outcome::Outcome;
use crate::plan::{Job, Plan};
use crate::provision::Inputs;

/// The shards put back together.
#[derive(Debug)]
pub struct Merged {
    /// The whole plan, with every shard's jobs.
    pub plan: Plan,
    /// The ids of every planned job.
    pub planned: Vec<String>,
    /// What the shards observed, together.
    pub outcome: Outcome,
    /// The shards' noise findings.
    pub noise: Vec<Noise>,
}

/// What shards must agree on, with each other and with the matrix of the merge: the
/// harness, the matrix and the suites that produced them, and the commit they ran.
fn disagreements(shards: &[(PathBuf, Results)], expected: &Inputs) -> Vec<String> {
    let mut out = Vec::new();
    let show = |dirs: Vec<&PathBuf>| {
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    type Field = fn(&Inputs) -> &str;
    let checks: [(&str, &str, Field); 3] = [
        ("the harness version", &expected.harness, |i| &i.harness),
        ("the matrix file", &expected.matrix_sha256, |i| {
            &i.matrix_sha256
        }),
        ("the suites", &expected.suites_sha256, |i| &i.suites_sha256),
    ];
    for (what, want, get) in checks {
        let differ: Vec<&PathBuf> = shards
            .iter()
            .filter(|(_, r)| get(&r.provenance.inputs) != want)
            .map(|(d, _)| d)
            .collect();
        if !differ.is_empty() {
            out.push(format!(
                "{} ran with a different {} than this merge",
                show(differ),
                what.trim_start_matches("the ")
            ));
        }
    }
    let commits: BTreeMap<&Option<String>, Vec<&PathBuf>> =
        shards.iter().fold(BTreeMap::new(), |mut m, (d, r)| {
            m.entry(&r.provenance.commit).or_default().push(d);
            m
        });
    if commits.len() > 1 {
        out.push(format!(
            "the shards ran different commits: {}",
            commits
                .iter()
                .map(|(c, dirs)| format!(
                    "{} in {}",
                    c.as_deref().unwrap_or("(no commit)"),
                    show(dirs.clone())
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    out
}

/// Merges the results of shards, each with the folder it came from (for messages); they
/// must have been made by the harness, matrix and suites of `expected`.
pub fn combine(shards: &[(PathBuf, Results)], expected: &Inputs) -> Result<Merged> {
    let Some((first_dir, first)) = shards.first() else {
        return Err(Error::Selection(
            "nothing to merge: expected at least one shard's output folder".into(),
        ));
    };
    let disagree = disagreements(shards, expected);
    if !disagree.is_empty() {
        return Err(Error::Selection(format!(
            "these shards cannot be merged into one verdict:\n  {}",
            disagree.join("\n  ")
        )));
    }
    let planned = first.planned.clone();
    for (dir, s) in &shards[1..] {
        if s.planned != planned {
            return Err(Error::Selection(format!(
                "{} comes from another plan than {}: shards must be runs of the same matrix and selection",
                dir.display(),
                first_dir.display()
            )));
        }
    }
    let mut from: BTreeMap<String, &Path> = BTreeMap::new();
    let mut jobs = Vec::new();
    let mut observations = Vec::new();
    let mut noise = Vec::new();
    let mut hosts = Vec::new();
    let (mut duration, mut prepare) = (Duration::ZERO, Duration::ZERO);
    for (dir, s) in shards {
        for job in &s.jobs {
            let id = job.id().to_string();
            if let Some(other) = from.insert(id.clone(), dir) {
                return Err(Error::Selection(format!(
                    "job {id} is in two shards, {} and {}",
                    other.display(),
                    dir.display()
                )));
            }
            jobs.push(job.clone());
        }
        observations.extend(s.observations.iter().cloned());
        noise.extend(s.noise.iter().cloned());
        let shard = s
            .plan
            .shard
            .map(|x| x.to_string())
            .unwrap_or_else(|| "whole".into());
        hosts.push(format!(
            "{shard} on {} ({})",
            s.provenance.host,
            dir.display()
        ));
        duration = duration.max(s.duration);
        prepare = prepare.max(s.prepare);
    }
    let missing: Vec<&String> = planned
        .iter()
        .filter(|id| !from.contains_key(*id))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Selection(format!(
            "{} planned jobs are missing from the shards: {}",
            missing.len(),
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    // Jobs in plan order, as a single run would list them.
    let order: BTreeMap<&String, usize> =
        planned.iter().enumerate().map(|(i, id)| (id, i)).collect();
    jobs.sort_by_key(|j| {
        order
            .get(&j.id().to_string())
            .copied()
            .unwrap_or(usize::MAX)
    });
    let mut plan = first.plan.clone();
    plan.shard = None;
    plan.jobs = jobs
        .iter()
        .map(|j| Job {
            suite: j.suite.clone(),
            cell: j.cell.clone(),
            scope: j.scope,
            audit: j.audit,
        })
        .collect();
    plan.totals.shard_runs = plan.jobs.len();
    let mut provenance = first.provenance.clone();
    provenance.shards = hosts;
    // Each shard ran its own cells: how, is each shard's to say.
    for (_, s) in shards.iter() {
        for (cell, execution) in &s.provenance.cells {
            provenance.cells.insert(cell.clone(), execution.clone());
        }
    }
    Ok(Merged {
        plan,
        planned,
        outcome: Outcome {
            jobs,
            observations,
            provenance,
            duration,
            prepare,
        },
        noise,
    })
}
