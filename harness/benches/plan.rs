//! Benchmark: parse a matrix of 10 cells and 10,000 suites, then plan it (whole, sharded,
//! and filtered), printing the time of each. Run with `cargo bench -p harness --bench plan`.

use std::fmt::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use harness::plan::{Selection, plan};

const CELLS: usize = 10;
const SUITES: usize = 10_000;

fn matrix_text() -> String {
    let mut t = String::from(
        "primary = \"t0\"\n[server]\npackage = \"srv\"\nargs = [\"--listen\", \"{addr}\"]\n[server.ready]\nhttp = \"/health\"\n",
    );
    for i in 0..CELLS {
        write!(t, "[[target]]\nname = \"t{i}\"\ntriple = \"x86_64-unknown-linux-gnu\"\nruntime = \"host\"\n").unwrap();
    }
    for i in 0..SUITES {
        let scope = if i % 3 == 0 { "agnostic" } else { "per-target" };
        let filter = if i % 3 != 0 && i % 7 == 1 {
            "targets = [\"t1\", \"t2\", \"t3\"]\n"
        } else {
            ""
        };
        write!(t, "[[suite]]\nname = \"s{i}\"\nkind = \"http\"\npath = \"suites/s{i}\"\nscope = \"{scope}\"\n{filter}").unwrap();
    }
    t
}

/// The best of `runs` timings of `f`, which is what the code can do without the noise of
/// the machine (the median is printed too).
fn measure<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(std::hint::black_box(f()));
        times.push(start.elapsed());
    }
    times.sort();
    (times[0], times[runs / 2], last.unwrap())
}

fn main() {
    let text = matrix_text();
    let (best, median, matrix) = measure(5, || {
        harness::matrix::parse(Path::new("bench.toml"), &text, harness::runtime::kinds()).unwrap()
    });
    println!(
        "parse  {CELLS} cells x {SUITES} suites ({} KiB): best {best:?}, median {median:?}",
        text.len() / 1024
    );
    let (best, median, p) = measure(21, || plan(&matrix, &Selection::default()).unwrap());
    println!(
        "plan   {CELLS} cells x {SUITES} suites -> {} jobs (naive {}): best {best:?}, median {median:?}",
        p.totals.runs, p.totals.naive
    );
    let shard = Selection {
        shard: Some("3/8".parse().unwrap()),
        ..Selection::default()
    };
    let (best, median, p) = measure(21, || plan(&matrix, &shard).unwrap());
    println!(
        "plan   shard 3/8 -> {} jobs: best {best:?}, median {median:?}",
        p.jobs.len()
    );
    let filtered = Selection {
        cells: vec!["t1".into(), "t2".into()],
        suites: (0..SUITES).step_by(2).map(|i| format!("s{i}")).collect(),
        ..Selection::default()
    };
    let (best, median, p) = measure(5, || plan(&matrix, &filtered).unwrap());
    println!(
        "plan   2 cells, {} suites selected by name -> {} jobs: best {best:?}, median {median:?}",
        SUITES / 2,
        p.jobs.len()
    );
    let goal = Duration::from_millis(200);
    let (_, whole, _) = measure(21, || plan(&matrix, &Selection::default()).unwrap());
    println!(
        "goal   whole plan under {goal:?}: {}",
        if whole < goal { "met" } else { "NOT met" }
    );
}
