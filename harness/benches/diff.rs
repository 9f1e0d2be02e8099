//! Benchmark: 100,000 snapshot pairs (one step on the primary cell and on a second cell)
//! normalized with the sample matrix's rules and compared, as a run of that size would; one
//! pair in a hundred differs, and gets its diff. Prints the time of each phase and the
//! process's peak memory. Run with `cargo bench -p harness --bench diff`.

use std::path::Path;
use std::time::Instant;

use harness::matrix::Scope;
use harness::normalize::{self, Injected};
use harness::outcome::Observation;
use harness::verdict::compare::compare;

const PAIRS: usize = 100_000;

const MATRIX: &str = r#"
primary = "debian"
[server]
package = "deploy-server"
args = ["--listen", "{addr}"]
[server.ready]
http = "/health"
[[target]]
name = "windows"
triple = "x86_64-pc-windows-gnu"
runtime = "wine"
[[target]]
name = "debian"
triple = "x86_64-unknown-linux-gnu"
runtime = "host"
[normalize]
redact = [".id", ".created", ".uploaded", "[].id", "[].created", "[].uploaded", ".duration_ms"]
[[normalize.filter]]
regex = '127\.0\.0\.1:\d+'
replace = "[addr]"
[[normalize.filter]]
regex = '"debian_version": "(\d+)\.\d+"'
replace = '"debian_version": "$1.x"'
"#;

/// A response body as the sample server sends it: ids and times that differ on every run,
/// a name, a list, and (on one pair in a hundred, on the second cell) a real difference.
fn body(i: usize, cell: usize) -> String {
    let differs = cell == 1 && i.is_multiple_of(100);
    format!(
        r#"{{"id":"p{}","created":"2026-11-25T10:{:02}:{:02}Z","name":"project {i}","owner":"team-{}","tags":["a","b","{}"],"url":"http://127.0.0.1:{}/projects/p{i}","duration_ms":{}}}"#,
        i * 2 + cell,
        i % 60,
        (i + cell) % 60,
        i % 17,
        if differs { "C" } else { "c" },
        40000 + cell,
        i % 900,
    )
}

/// The process's peak resident memory, in MiB (Linux).
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let matrix =
        harness::matrix::parse(Path::new("bench.toml"), MATRIX, harness::runtime::kinds()).unwrap();
    let cells = ["debian", "windows"];
    let injected = Injected::new("/tmp/data", "/data", 40000);
    let headers = [("content-type", "application/json")];

    let start = Instant::now();
    let mut observations = Vec::with_capacity(PAIRS * 2);
    for i in 0..PAIRS {
        for (c, cell) in cells.iter().enumerate() {
            let n = normalize::response(
                &matrix.normalize,
                &injected,
                200,
                &headers,
                body(i, c).as_bytes(),
            );
            observations.push(Observation {
                suite: format!("suite{}", i / 1000),
                case: format!("case{}", i % 1000),
                step: "get".into(),
                cell: (*cell).into(),
                scope: Scope::PerTarget,
                audit: false,
                source: format!("suites/suite{}/case{}.toml", i / 1000, i % 1000),
                expression: format!("GET /projects/p{i}"),
                text: n.text,
            });
        }
    }
    let normalized = start.elapsed();
    if let Some(held) = peak_mib() {
        println!(
            "diff   {} observations normalized and held: {held:.0} MiB",
            observations.len()
        );
    }

    let start = Instant::now();
    let comparison = compare(&matrix, &observations, &|_| None, "2026-11-25", false);
    let compared = start.elapsed();
    let divergences = comparison.all_divergences().count();
    assert_eq!(
        divergences,
        PAIRS / 100,
        "one pair in a hundred differs after normalization"
    );

    let total = normalized + compared;
    let peak = peak_mib();
    println!(
        "diff   {PAIRS} pairs: normalize {normalized:?}, compare {compared:?} ({divergences} divergences with diffs), total {total:?}"
    );
    match peak {
        Some(peak) => println!("diff   peak memory {peak:.0} MiB"),
        None => println!("diff   peak memory: unknown on this system"),
    }
    let (time_goal, memory_goal) = (std::time::Duration::from_secs(2), 200.0);
    println!(
        "goal   under {time_goal:?}: {}; under {memory_goal:.0} MiB: {}",
        if total < time_goal { "met" } else { "NOT met" },
        match peak {
            Some(p) if p < memory_goal => "met",
            Some(_) => "NOT met",
            None => "unknown",
        }
    );
}
