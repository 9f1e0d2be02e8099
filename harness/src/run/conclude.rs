//! Where a run and a merge of shards both end: the baselines read, the observations judged,
//! and the snapshots the judgement calls for written.

use std::path::PathBuf;

use crate::errors::Result;
use crate::matrix::Matrix;
use crate::outcome::Outcome;
use crate::persist;
use crate::plan::Plan;
use crate::verdict::{self, Judge, Noise, Results};

/// Today's date as `YYYY-MM-DD` (UTC), for divergence expiry.
fn today() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    now[..10].to_owned()
}

/// Judges `outcome` against the committed baselines and writes the snapshots it calls for.
pub fn conclude(
    matrix: &Matrix,
    plan: Plan,
    planned: Vec<String>,
    outcome: Outcome,
    noise: Vec<Noise>,
    accept: bool,
) -> Result<Results> {
    let dir = &matrix.snapshot_dir;
    let baselines = persist::snapshots::baselines(dir, &outcome.observations);
    let mut results = verdict::judge(Judge {
        matrix,
        plan,
        planned,
        outcome,
        noise,
        baselines: &baselines,
        today: &today(),
        accept,
    });
    results.written =
        persist::snapshots::write(dir, &results.observations, &results.comparison, accept)?;
    Ok(results)
}

/// Merges the results in `dirs` (the output folders of shards) into the results of the
/// whole plan.
pub fn merge(matrix: &Matrix, dirs: &[PathBuf], accept: bool) -> Result<Results> {
    let shards = dirs
        .iter()
        .map(|d| Ok((d.clone(), persist::results::read(d)?)))
        .collect::<Result<Vec<_>>>()?;
    let merged = verdict::merge::combine(&shards)?;
    conclude(
        matrix,
        merged.plan,
        merged.planned,
        merged.outcome,
        merged.noise,
        accept,
    )
}
