//! Merging shards: the `results.json` of each CI job, put back together into the results of
//! the whole plan. Every planned job must be in exactly one shard; the cross-cell diff, the
//! baselines and the verdict are then computed over all of them, as on one machine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Finish, Results, finish};
use crate::errors::{Error, Result};
use crate::matrix::Matrix;

/// Merges the results in `dirs` (each holding a `results.json`).
pub fn merge(matrix: &Matrix, dirs: &[PathBuf], accept: bool) -> Result<Results> {
    if dirs.is_empty() {
        return Err(Error::Selection(
            "nothing to merge: expected at least one shard's output folder".into(),
        ));
    }
    let shards: Vec<(PathBuf, Results)> = dirs
        .iter()
        .map(|d| Ok((d.clone(), Results::read(&d.join("results.json"))?)))
        .collect::<Result<_>>()?;
    let planned = shards[0].1.planned.clone();
    for (dir, s) in &shards[1..] {
        if s.planned != planned {
            return Err(Error::Selection(format!(
                "{} comes from another plan than {}: shards must be runs of the same matrix and selection",
                dir.display(),
                shards[0].0.display()
            )));
        }
    }
    let mut from: BTreeMap<String, &Path> = BTreeMap::new();
    let mut jobs = Vec::new();
    let mut observations = Vec::new();
    let mut noise = Vec::new();
    let mut hosts = Vec::new();
    let mut duration = Duration::ZERO;
    for (dir, s) in &shards {
        for job in &s.jobs {
            let id = format!("{}@{}", job.suite, job.cell);
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
            .get(&format!("{}@{}", j.suite, j.cell))
            .copied()
            .unwrap_or(usize::MAX)
    });
    let mut plan = shards[0].1.plan.clone();
    plan.shard = None;
    plan.jobs = jobs
        .iter()
        .map(|j| crate::plan::Job {
            suite: j.suite.clone(),
            cell: j.cell.clone(),
            scope: j.scope,
            audit: j.audit,
        })
        .collect();
    plan.totals.shard_runs = plan.jobs.len();
    let mut provenance = shards[0].1.provenance.clone();
    provenance.shards = hosts;
    finish(Finish {
        matrix,
        plan,
        planned,
        jobs,
        observations,
        noise,
        provenance,
        accept,
        duration,
    })
}
