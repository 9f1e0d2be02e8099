//! `cargo xtask bench`: the benchmarks that measure the harness, each printing its figures.
//!
//! - `sample`: the sample matrix, warm, as users run it (`cargo xtask matrix --no-cache`),
//!   beside the same with `-j 1` and beside `bench/sequential.py`, a plain script that does
//!   the same work one job after another; with the ratios, the longest job, the sum of job
//!   times and the harness's own overhead per Windows job; then the result cache: an
//!   unchanged re-run, a re-run after one case file of one suite changed (in a copy of the
//!   sample beside the repository), and each job kind's processor time (a cell's jobs run,
//!   less the same run with every job cached, per job).
//! - `scale`: generated matrices of a growing number of suites on host cells (and a smaller
//!   one on Wine and podman): wall time and jobs per second as suites double.
//! - `explore`: the sample run, warm, with and without `--explore --explore-writes`: what
//!   the exploration costs, its requests per second, the time to the first finding
//!   (findings are judged once every cell has answered) and the findings per class.
//! - `diff` and `plan`: `cargo bench -p harness` benches (normalizing and comparing 100,000
//!   snapshot pairs; planning 10,000 suites on 10 cells).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use harness::Error;
use harness::process::{Cmd, output};
use serde_json::Value;

/// Which benchmarks run.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    Sample,
    Scale,
    Explore,
    Diff,
    Plan,
}

/// Runs the benchmarks in `which` (all when empty), `runs` times each where it repeats.
pub async fn run(which: &[Which], runs: usize) -> Result<u8, Error> {
    let all = [
        Which::Sample,
        Which::Scale,
        Which::Explore,
        Which::Diff,
        Which::Plan,
    ];
    let which = if which.is_empty() { &all[..] } else { which };
    let root = workspace_root();
    for w in which {
        match w {
            Which::Sample => sample(&root, runs.max(1)).await?,
            Which::Scale => scale(&root).await?,
            Which::Explore => explore(&root, runs.max(1)).await?,
            Which::Diff => cargo_bench(&root, "diff").await?,
            Which::Plan => cargo_bench(&root, "plan").await?,
        }
    }
    Ok(0)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Runs `cmd`, returning its wall time; a failure (exit codes in `ok` aside) is an error
/// with its output.
async fn timed(cmd: &Cmd, ok: &[i32]) -> Result<(Duration, String), Error> {
    let start = Instant::now();
    let out = output(cmd).await?;
    let took = start.elapsed();
    if !out.status.code().is_some_and(|c| ok.contains(&c)) {
        return Err(Error::Command {
            command: cmd.to_string(),
            problem: format!("failed ({})", out.status),
            stderr: format!("{}{}", out.stdout, out.stderr),
        });
    }
    Ok((took, out.stdout))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn results(out: &Path) -> Result<Value, Error> {
    let file = out.join("results.json");
    let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
    serde_json::from_str(&text).map_err(|e| Error::io(&file, std::io::Error::other(e)))
}

fn ms(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or(0)
}

/// Job figures of one run.
struct JobFigures {
    longest: Duration,
    sum: Duration,
    /// The run's wall time minus its jobs' span: cargo's no-op builds, the checks, the
    /// reports.
    fixed: Duration,
    /// The largest Windows job overhead: its wall time minus its server's time to ready, its
    /// requests and its stop.
    overhead: Duration,
    /// Jobs in error.
    errors: usize,
}

/// The figures of the run whose results are `results` and whose wall time was `wall`.
fn job_figures(results: &Value, wall: Duration) -> JobFigures {
    let jobs = results["jobs"].as_array().cloned().unwrap_or_default();
    let duration = |j: &Value| ms(j, "duration_ms");
    let longest = jobs.iter().map(duration).max().unwrap_or(0);
    let sum: u64 = jobs.iter().map(duration).sum();
    let overhead = jobs
        .iter()
        .filter(|j| j["cell"] == "windows")
        .map(|j| {
            let p = &j["phases"];
            duration(j).saturating_sub(ms(p, "ready_ms") + ms(p, "suite_ms") + ms(p, "stop_ms"))
        })
        .max()
        .unwrap_or(0);
    let span = ms(results, "duration_ms").saturating_sub(ms(results, "prepare_ms"));
    JobFigures {
        longest: Duration::from_millis(longest),
        sum: Duration::from_millis(sum),
        fixed: wall.saturating_sub(Duration::from_millis(span)),
        overhead: Duration::from_millis(overhead),
        errors: jobs.iter().filter(|j| !j["error"].is_null()).count(),
    }
}

async fn sample(root: &Path, runs: usize) -> Result<(), Error> {
    let scratch = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let matrix = |out: &Path, jobs: Option<&str>| {
        let mut cmd = Cmd::new(cargo())
            .args(["xtask", "matrix", "--no-cache", "--format", "json", "--out"])
            .arg(out)
            .current_dir(root);
        if let Some(j) = jobs {
            cmd = cmd.args(["-j", j]);
        }
        cmd
    };
    println!("sample: warming up (provisioning, building, recording job durations)");
    let warm = scratch.path().join("warm");
    timed(&matrix(&warm, None), &[0]).await?;
    let script = Cmd::new("python3")
        .arg(root.join("bench/sequential.py"))
        .current_dir(root);
    let (mut parallel, mut serial, mut plain) = (Vec::new(), Vec::new(), Vec::new());
    let (mut unchanged, mut reused) = (Vec::new(), Vec::new());
    let mut figures = Vec::new();
    for i in 0..runs {
        let out = scratch.path().join(format!("parallel-{i}"));
        let run = with_cpu(timed(&matrix(&out, None), &[0])).await?;
        figures.push(job_figures(&results(&out)?, run.0));
        parallel.push(run);
        // The same again with the cache: nothing changed since the run above.
        let out = scratch.path().join(format!("unchanged-{i}"));
        let cached = Cmd::new(cargo())
            .args(["xtask", "matrix", "--format", "json", "--out"])
            .arg(&out)
            .current_dir(root);
        unchanged.push(with_cpu(timed(&cached, &[0])).await?);
        reused.push(cached_jobs(&results(&out)?));
        let out = scratch.path().join(format!("serial-{i}"));
        serial.push(with_cpu(timed(&matrix(&out, Some("1")), &[0])).await?);
        plain.push(with_cpu(timed(&script, &[0])).await?);
    }
    let (parallel, serial, plain) = (median_run(parallel), median_run(serial), median_run(plain));
    let longest = median(figures.iter().map(|f| f.longest).collect());
    let sum = median(figures.iter().map(|f| f.sum).collect());
    let fixed = median(figures.iter().map(|f| f.fixed).collect());
    let overhead = figures.iter().map(|f| f.overhead).max().unwrap_or_default();
    let errors: usize = figures.iter().map(|f| f.errors).sum();
    let jobs = harness::run::default_parallel();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let ratio = |a: Duration, b: Duration| b.as_secs_f64() / a.as_secs_f64();
    let met = |ok: bool| if ok { "met" } else { "NOT met" };
    let mut t = String::new();
    let _ = writeln!(
        t,
        "sample matrix, warm, median of {runs} runs each (wall; processor time of the whole machine):"
    );
    for (what, run) in [
        (format!("cargo xtask matrix (-j {jobs})"), parallel),
        ("cargo xtask matrix -j 1".to_owned(), serial),
        ("bench/sequential.py".to_owned(), plain),
    ] {
        let _ = writeln!(t, "  {what:<30} {}", run_figures(run));
    }
    let _ = writeln!(
        t,
        "  longest job {}, sum of job times {}, fixed start {}, largest Windows job overhead {} ms, jobs in error {errors}",
        secs(longest),
        secs(sum),
        secs(fixed),
        overhead.as_millis()
    );
    let _ = writeln!(
        t,
        "  faster than the script {:.2}x (goal 3x), than -j 1 {:.2}x (goal 2.5x); Windows job overhead under 0.2 s: {}",
        ratio(parallel.0, plain.0),
        ratio(parallel.0, serial.0),
        met(overhead < Duration::from_millis(200))
    );
    let bound = (longest + fixed).mul_f64(1.5);
    let _ = writeln!(
        t,
        "  wall within 1.5x of the longest job plus the fixed start ({}): {}",
        secs(bound),
        met(parallel.0 <= bound)
    );
    if let Some(cpu) = plain.1 {
        // Whatever runs the script's work at once cannot take less than its processor time
        // spread over every core: the most any tool can gain on this machine.
        let floor = cpu / cores as u32;
        let _ = writeln!(
            t,
            "  the script's work needs {} of processor time: on {cores} core{} nothing doing it ends in under {}, at most {:.2}x faster than the script",
            secs(cpu),
            if cores == 1 { "" } else { "s" },
            secs(floor),
            ratio(floor, plain.0)
        );
    }
    let total = figures_jobs(&results(&scratch.path().join("parallel-0"))?);
    let unchanged = median_run(unchanged);
    let all_cached = reused.iter().all(|(cached, jobs)| cached == jobs);
    let _ = writeln!(
        t,
        "  {:<30} {} ({} of {total} jobs cached; goal within 2.5 s, every job cached: {})",
        "unchanged re-run",
        run_figures(unchanged),
        reused.iter().map(|(c, _)| *c).min().unwrap_or(0),
        met(unchanged.0 <= Duration::from_millis(2500) && all_cached)
    );
    let (changed, ran) = one_case_changed(root, scratch.path(), runs).await?;
    let only = ran.iter().all(|(suite, _)| suite == "projects") && ran.len() == 3;
    let _ = writeln!(
        t,
        "  {:<30} {} (jobs run: {}; goal only that suite's: {})",
        "one case file changed",
        run_figures(changed),
        ran.iter()
            .map(|(s, c)| format!("{s}@{c}"))
            .collect::<Vec<_>>()
            .join(", "),
        met(only)
    );
    if let (Some(ours), Some(theirs)) = (parallel.1, plain.1) {
        let share = ours.as_secs_f64() / theirs.as_secs_f64();
        let _ = writeln!(
            t,
            "  processor time of a full run {:.2}x the script's (goal 0.75x): {}",
            share,
            met(share <= 0.75)
        );
    }
    for (kind, cell) in [("Wine job", "windows"), ("container job", "debian")] {
        if let Some((per_job, jobs)) = job_kind_cpu(root, scratch.path(), cell).await? {
            let _ = writeln!(
                t,
                "  processor time per {kind:<14} {} (the {cell} cell's {jobs} jobs, less the same run all cached)",
                secs(per_job)
            );
        }
    }
    print!("{t}");
    Ok(())
}

/// How many of a run's jobs were reused from the cache, and how many it had.
fn cached_jobs(results: &Value) -> (usize, usize) {
    let jobs = results["jobs"].as_array().cloned().unwrap_or_default();
    let cached = jobs.iter().filter(|j| !j["cached"].is_null()).count();
    (cached, jobs.len())
}

fn figures_jobs(results: &Value) -> usize {
    results["jobs"].as_array().map_or(0, Vec::len)
}

/// A copy of the sample's matrix beside the repository (in its target folder, so that cargo
/// finds the workspace), its `projects` suite and baselines copied: a run of it, then `runs`
/// re-runs each after one case file of `projects` changed. The median re-run, and the jobs
/// the last one ran (suite, cell).
async fn one_case_changed(
    root: &Path,
    scratch: &Path,
    runs: usize,
) -> Result<(Run, Vec<(String, String)>), Error> {
    let dir = root
        .join("target/bench")
        .join(format!("cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let abs = |rel: &str| root.join(rel).display().to_string();
    let text = std::fs::read_to_string(root.join("matrix.toml"))
        .map_err(|e| Error::io(root.join("matrix.toml"), e))?
        .replace("path = \"fixtures/suites/projects\"", "path = \"projects\"")
        .replace(
            "path = \"fixtures/",
            &format!("path = \"{}/", abs("fixtures")),
        )
        .replace(
            "seed = \"fixtures/",
            &format!("seed = \"{}/", abs("fixtures")),
        )
        .replace(
            "\"fixtures/client-tests\", \"cell\", \"Cargo.lock\"",
            &format!(
                "\"{}\", \"{}\", \"{}\"",
                abs("fixtures/client-tests"),
                abs("cell"),
                abs("Cargo.lock")
            ),
        )
        .replace(
            "dir = \"fixtures/deploy-server/snapshots\"",
            "dir = \"snapshots\"",
        );
    let copy = |from: &Path, to: &Path| -> Result<(), Error> {
        std::fs::create_dir_all(to).map_err(|e| Error::io(to, e))?;
        for entry in std::fs::read_dir(from)
            .map_err(|e| Error::io(from, e))?
            .flatten()
        {
            std::fs::copy(entry.path(), to.join(entry.file_name()))
                .map_err(|e| Error::io(entry.path(), e))?;
        }
        Ok(())
    };
    copy(
        &root.join("fixtures/suites/projects"),
        &dir.join("projects"),
    )?;
    copy(
        &root.join("fixtures/deploy-server/snapshots"),
        &dir.join("snapshots"),
    )?;
    let config = dir.join("matrix.toml");
    std::fs::write(&config, text).map_err(|e| Error::io(&config, e))?;
    let run = |out: PathBuf| {
        Cmd::new(cargo())
            .args(["xtask", "matrix", "--format", "json", "--config"])
            .arg(&config)
            .arg("--out")
            .arg(out)
            .current_dir(root)
    };
    let result = async {
        timed(&run(scratch.join("copy")), &[0]).await?;
        let case = dir.join("projects/rename.toml");
        let original = std::fs::read_to_string(&case).map_err(|e| Error::io(&case, e))?;
        let mut times = Vec::new();
        let mut ran = Vec::new();
        // A change no earlier bench made: the result cache would hold a result of the same
        // file, and reuse it.
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        for i in 0..runs {
            std::fs::write(&case, format!("{original}\n# reviewed {stamp} {i}\n"))
                .map_err(|e| Error::io(&case, e))?;
            let out = scratch.join(format!("changed-{i}"));
            times.push(with_cpu(timed(&run(out.clone()), &[0])).await?);
            ran = results(&out)?["jobs"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter(|j| j["cached"].is_null())
                .map(|j| {
                    let s = |k: &str| j[k].as_str().unwrap_or_default().to_owned();
                    (s("suite"), s("cell"))
                })
                .collect();
        }
        Ok((median_run(times), ran))
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The processor time one job of `cell` costs: a run of the cell's jobs one after another,
/// less the same run with every job cached (cargo, the checks and the reports), per job.
async fn job_kind_cpu(
    root: &Path,
    scratch: &Path,
    cell: &str,
) -> Result<Option<(Duration, usize)>, Error> {
    let run = |cache: bool| {
        let out = scratch.join(format!("kind-{cell}-{cache}"));
        let mut cmd = Cmd::new(cargo())
            .args([
                "xtask", "matrix", "-j", "1", "--cell", cell, "--format", "json",
            ])
            .arg("--out")
            .arg(out)
            .current_dir(root);
        if !cache {
            cmd = cmd.arg("--no-cache");
        }
        cmd
    };
    let ran = with_cpu(timed(&run(false), &[0])).await?;
    let jobs = figures_jobs(&results(&scratch.join(format!("kind-{cell}-false")))?);
    let cached = with_cpu(timed(&run(true), &[0])).await?;
    Ok(ran
        .1
        .zip(cached.1)
        .filter(|_| jobs > 0)
        .map(|(a, b)| (a.saturating_sub(b) / jobs as u32, jobs)))
}

/// The processor time the whole machine has spent since it started (Linux's `/proc/stat`,
/// every state but idle and waiting for I/O), so that what a run's daemons do counts too
/// (wineservers, a container engine's helpers); `None` elsewhere. Meaningful on a machine
/// that does nothing else meanwhile.
fn machine_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map_while(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal, in USER_HZ (100 a second on Linux).
    let busy: u64 = ticks.get(0..3)?.iter().sum::<u64>() + ticks.get(5..8)?.iter().sum::<u64>();
    Some(Duration::from_millis(busy * 10))
}

/// A wall time with the machine's processor time meanwhile.
type Run = (Duration, Option<Duration>);

async fn with_cpu(
    timed: impl std::future::Future<Output = Result<(Duration, String), Error>>,
) -> Result<Run, Error> {
    let before = machine_cpu();
    let (wall, _) = timed.await?;
    let cpu = before.zip(machine_cpu()).map(|(a, b)| b.saturating_sub(a));
    Ok((wall, cpu))
}

/// The run of median wall time.
fn median_run(mut v: Vec<Run>) -> Run {
    v.sort_by_key(|r| r.0);
    v[v.len() / 2]
}

fn run_figures((wall, cpu): Run) -> String {
    match cpu {
        Some(cpu) => format!("{}; {}", secs(wall), secs(cpu)),
        None => secs(wall),
    }
}

/// A generated matrix of `suites` http suites (one case each) on `cells`, whose server is
/// the sample server already built.
fn scale_matrix(dir: &Path, root: &Path, cells: &[(&str, &str)], suites: usize) -> PathBuf {
    let linux = root.join("target/x86_64-unknown-linux-gnu/debug/deploy-server");
    let windows = root.join("target/x86_64-pc-windows-gnu/debug/deploy-server.exe");
    let mut m = format!(
        "primary = \"{}\"\n[server]\npackage = \"deploy-server\"\nargs = [\"--listen\", \"{{addr}}\", \"--data-dir\", \"{{data_dir}}\"]\n[server.ready]\nhttp = \"/health\"\n",
        cells[0].0
    );
    for (name, runtime) in cells {
        let (triple, artifact, extra) = match *runtime {
            "wine" => ("x86_64-pc-windows-gnu", &windows, ""),
            "container" => (
                "x86_64-unknown-linux-gnu",
                &linux,
                "image = \"debian:bookworm-slim\"\n",
            ),
            _ => ("x86_64-unknown-linux-gnu", &linux, ""),
        };
        let _ = write!(
            m,
            "[[target]]\nname = \"{name}\"\ntriple = \"{triple}\"\nruntime = \"{runtime}\"\n{extra}build = {{ command = [\"true\"], artifact = '{}' }}\n",
            artifact.display()
        );
    }
    for i in 0..suites {
        let path = dir.join(format!("suites/s{i}"));
        std::fs::create_dir_all(&path).expect("a fresh temp dir is writable");
        std::fs::write(
            path.join("info.toml"),
            "[[step]]\nmethod = \"GET\"\npath = \"/health\"\nexpect = { status = 200 }\n",
        )
        .expect("a fresh temp dir is writable");
        let _ = write!(
            m,
            "[[suite]]\nname = \"s{i}\"\nkind = \"http\"\npath = \"suites/s{i}\"\nscope = \"per-target\"\n"
        );
    }
    let file = dir.join("matrix.toml");
    std::fs::write(&file, m).expect("a fresh temp dir is writable");
    file
}

/// One scale point: the wall time and the number of jobs of a generated matrix's run.
async fn scale_point(
    root: &Path,
    cells: &[(&str, &str)],
    suites: usize,
    jobs: usize,
) -> Result<(Duration, usize), Error> {
    let dir = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let config = scale_matrix(dir.path(), root, cells, suites);
    let out = dir.path().join("out");
    let exe = std::env::current_exe().map_err(|e| Error::io("xtask", e))?;
    let cmd = Cmd::new(exe)
        .args([
            "matrix",
            "--format",
            "json",
            "-j",
            &jobs.to_string(),
            "--config",
        ])
        .arg(&config)
        .arg("--out")
        .arg(&out);
    // A first run has no baselines: PENDING (4) is its success.
    let (took, _) = timed(&cmd, &[0, 4]).await?;
    let results = results(&out)?;
    let errors = job_figures(&results, took).errors;
    if errors > 0 {
        return Err(Error::Command {
            command: cmd.to_string(),
            problem: format!("had {errors} jobs in error"),
            stderr: String::new(),
        });
    }
    let ran = results["jobs"].as_array().map_or(0, Vec::len);
    Ok((took, ran))
}

/// `--explore --explore-writes` on the sample, warm (a first run builds and provisions,
/// unmeasured): the same run with and without it, the difference being the exploration's
/// cost; requests per second and findings per class.
async fn explore(root: &Path, runs: usize) -> Result<(), Error> {
    let scratch = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let cmd = |out: &Path, explore: bool| {
        let mut cmd = Cmd::new(cargo())
            .args(["xtask", "matrix", "--format", "json", "--out"])
            .arg(out)
            .current_dir(root);
        if explore {
            cmd = cmd.args(["--explore", "--explore-writes"]);
        }
        cmd
    };
    // Findings make it NO-GO (1): that is its success here.
    timed(&cmd(&scratch.path().join("warm"), true), &[0, 1]).await?;
    let (mut with, mut without) = (Vec::new(), Vec::new());
    let mut found = Value::Null;
    for i in 0..runs {
        let (took, _) = timed(
            &cmd(&scratch.path().join(format!("plain-{i}")), false),
            &[0, 1],
        )
        .await?;
        without.push(took);
        let (took, stdout) = timed(
            &cmd(&scratch.path().join(format!("explore-{i}")), true),
            &[0, 1],
        )
        .await?;
        with.push(took);
        let results: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        found = results["explored"].clone();
    }
    let (with, without) = (median(with), median(without));
    let exploring = with.saturating_sub(without).max(Duration::from_millis(1));
    let probes = found["probes"].as_u64().unwrap_or(0);
    let cells = found["cells"].as_array().map_or(0, Vec::len) as u64;
    let findings: usize = found["classes"].as_array().map_or(0, |c| {
        c.iter()
            .map(|c| c["findings"].as_array().map_or(0, Vec::len))
            .sum()
    });
    println!("explore: the sample, warm (median of {runs})");
    println!(
        "  the run {} without --explore, {} with it: the exploration takes {}",
        secs(without),
        secs(with),
        secs(exploring)
    );
    println!(
        "  {probes} probes x {cells} cells = {} requests: {:.0} requests/s",
        probes * cells,
        (probes * cells) as f64 / exploring.as_secs_f64()
    );
    println!(
        "  first finding {} after the run started, {} into the exploration ({findings} findings in {} classes)",
        secs(with),
        secs(exploring),
        found["classes"].as_array().map_or(0, Vec::len)
    );
    let per_class: Vec<String> = found["classes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let findings = c["findings"].as_array().map_or(&[][..], Vec::as_slice);
            let known = findings.iter().filter(|f| !f["known"].is_null()).count();
            format!(
                "{} {} ({known} known)",
                c["class"].as_str().unwrap_or("?"),
                findings.len()
            )
        })
        .collect();
    println!("  findings per class: {}", per_class.join(", "));
    Ok(())
}

async fn scale(root: &Path) -> Result<(), Error> {
    let host4 = [
        ("h0", "host"),
        ("h1", "host"),
        ("h2", "host"),
        ("h3", "host"),
    ];
    let host2 = [("h0", "host"), ("h1", "host")];
    let default = harness::run::default_parallel();
    println!("scale: http suites of one case on host cells, wall time and jobs per second");
    println!(
        "  {:>6} {:>6} {:>4} {:>10} {:>8}",
        "suites", "cells", "-j", "wall", "jobs/s"
    );
    for jobs in [2, default] {
        for suites in [25, 50, 100, 200] {
            let (took, ran) = scale_point(root, &host4, suites, jobs).await?;
            println!(
                "  {suites:>6} {:>6} {jobs:>4} {:>10} {:>8.1}",
                4,
                secs(took),
                ran as f64 / took.as_secs_f64()
            );
        }
    }
    // The same number of jobs over half the cells: the slope is set by -j, not by cells.
    let (took, ran) = scale_point(root, &host2, 200, default).await?;
    println!(
        "  {:>6} {:>6} {default:>4} {:>10} {:>8.1}",
        200,
        2,
        secs(took),
        ran as f64 / took.as_secs_f64()
    );
    println!("scale: the same on Wine and podman (one cell each)");
    let both = [("debian", "container"), ("windows", "wine")];
    for suites in [4, 8, 16] {
        let (took, ran) = scale_point(root, &both, suites, default).await?;
        println!(
            "  {suites:>6} {:>6} {default:>4} {:>10} {:>8.1}",
            2,
            secs(took),
            ran as f64 / took.as_secs_f64()
        );
    }
    Ok(())
}

async fn cargo_bench(root: &Path, name: &str) -> Result<(), Error> {
    let cmd = Cmd::new(cargo())
        .args(["bench", "--quiet", "-p", "harness", "--bench", name])
        .current_dir(root);
    let (_, out) = timed(&cmd, &[0]).await?;
    print!("{out}");
    Ok(())
}
