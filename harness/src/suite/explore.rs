//! `--explore`: requests nobody wrote. From what the harness knows of the server (the paths
//! of the seed's files and folders, the paths the `http` suites request) it derives probes by
//! the mutations that Windows and Linux are known to answer differently (case, `\` as a
//! separator, traversal, trailing dots and spaces, reserved device names, encodings and
//! Unicode normalization forms, long and 8.3 names), and runs them as a generated `http` suite: one case per probe, one `GET`,
//! its normalized answer compared across cells like any snapshot. The probes go to the
//! server, whose answers are compared, never followed on the host.
//!
//! Deterministic: the same bases, seed and budget give the same probes, in the same order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::http::case::{Body, CaseFile, Expect, Step};

/// The kind of difference a probe looks for: the matrix's own enum, since a
/// `[[divergence]]` can accept a whole class.
pub use crate::matrix::ExploreClass as Class;

/// One generated request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// Its case name: `<class>-<number>` (`write-<class>-<number>` for a write), unique in
    /// the run.
    pub name: String,
    /// What it looks for.
    pub class: Class,
    /// `GET`, or `PUT` for a write (`--explore-writes`), each in a data dir of its own.
    pub method: String,
    /// The request it mutates.
    pub base: String,
    /// The request path, percent-encoded as sent.
    pub path: String,
}

/// How many probes, chosen how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Picks which probes run when there are more than `requests`.
    pub seed: u64,
    /// The most probes (bases included) a cell is sent.
    pub requests: usize,
    /// How long a cell's probes may take; those that would start later are not sent.
    pub time: Option<std::time::Duration>,
    /// Whether writes are probed too (`PUT`s of the seed's files under mutated names, each
    /// in a fresh data dir whose tree is compared with the answer).
    pub writes: bool,
}

/// The body every write probe sends.
pub const WRITE_BODY: &str = "written by --explore\n";

/// The seed's regular files, as paths under the data dir (`/files/readme.md`): what write
/// probes write again under mutated names.
pub fn seed_files(seed: Option<&Path>) -> Vec<String> {
    let mut found = BTreeSet::new();
    if let Some(seed) = seed {
        walk(seed, seed, &mut found);
        found.retain(|p| {
            let name = p.trim_start_matches('/').replace("%25", "%");
            std::fs::symlink_metadata(seed.join(name)).is_ok_and(|m| m.file_type().is_file())
        });
    }
    found.into_iter().collect()
}

/// The write probes of `files`: each file written again as itself (the base) and under the
/// names a port reads otherwise (case, `\`, a trailing character, a device name, a long
/// name). Never traversal: a write is never aimed outside the data dir.
pub fn write_probes(files: &[String], budget: Budget) -> Vec<Probe> {
    let writable = [
        Class::CaseSensitivity,
        Class::Separators,
        Class::TrailingCharacters,
        Class::ReservedNames,
        Class::LongNames,
    ];
    let mut candidates: Vec<(Class, String, String)> = Vec::new();
    let mut mutated: Vec<(Class, String, String)> = Vec::new();
    let mut seen = BTreeSet::new();
    for base in files {
        candidates.push((Class::Base, base.clone(), encode(base)));
        for (class, path) in mutations(base) {
            if writable.contains(&class) {
                mutated.push((class, base.clone(), encode(&path)));
            }
        }
    }
    candidates.retain(|c| seen.insert(c.2.clone()));
    mutated.retain(|c| seen.insert(c.2.clone()));
    numbered(within(candidates, mutated, budget), "write-", "PUT")
}

/// How many of a budget the writes may take: at most half of it, so that reads always run.
pub fn write_share(budget: Budget) -> usize {
    if budget.writes {
        budget.requests / 2
    } else {
        0
    }
}

/// The bases, then as many of `mutated` as `budget.requests` leaves room for, chosen by
/// `budget.seed` when there are more, in class order.
fn within(
    mut bases: Vec<(Class, String, String)>,
    mut mutated: Vec<(Class, String, String)>,
    budget: Budget,
) -> Vec<(Class, String, String)> {
    bases.truncate(budget.requests);
    let room = budget.requests.saturating_sub(bases.len());
    if mutated.len() > room {
        let rank = |path: &str| -> [u8; 32] {
            Sha256::new()
                .chain_update(budget.seed.to_le_bytes())
                .chain_update(path.as_bytes())
                .finalize()
                .into()
        };
        let mut ranked: Vec<_> = mutated.into_iter().map(|c| (rank(&c.2), c)).collect();
        ranked.sort();
        ranked.truncate(room);
        mutated = ranked.into_iter().map(|(_, c)| c).collect();
        mutated.sort_by(|a, b| (a.0, &a.1, &a.2).cmp(&(b.0, &b.1, &b.2)));
    }
    bases.extend(mutated);
    bases
}

/// `candidates` (class, base, path) as probes of `method`, named `<prefix><class>-<n>` with
/// `n` counting within each class.
fn numbered(candidates: Vec<(Class, String, String)>, prefix: &str, method: &str) -> Vec<Probe> {
    let mut numbers: BTreeMap<Class, usize> = BTreeMap::new();
    candidates
        .into_iter()
        .map(|(class, base, path)| {
            let n = numbers.entry(class).or_default();
            *n += 1;
            Probe {
                name: format!("{prefix}{}-{n:03}", class.as_str()),
                class,
                method: method.to_owned(),
                base,
                path,
            }
        })
        .collect()
}

/// The paths the probes start from: `/` plus every file and folder of the seed (as the
/// server's data dir holds them), and every path the `http` suites request that needs no
/// captured value. Sorted, without duplicates.
pub fn bases(seed: Option<&Path>, requested: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut found = BTreeSet::new();
    if let Some(seed) = seed {
        walk(seed, seed, &mut found);
    }
    for path in requested {
        if path.starts_with('/') && !path.contains("${") && !path.contains('?') {
            found.insert(path);
        }
    }
    found.into_iter().filter(|p| p != "/").collect()
}

/// The paths of an OpenAPI document's `GET` operations that take no path parameter, under
/// the path of its first server's URL. JSON or YAML.
pub fn openapi_paths(text: &str) -> std::result::Result<Vec<String>, String> {
    let doc: serde_json::Value = serde_yaml_ng::from_str(text)
        .map_err(|e| format!("not an OpenAPI document (JSON or YAML): {e}"))?;
    let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) else {
        return Err("no `paths` object: expected an OpenAPI document".to_owned());
    };
    let prefix = doc
        .pointer("/servers/0/url")
        .and_then(|u| u.as_str())
        .map(|u| path_of(u).trim_end_matches('/').to_owned())
        .unwrap_or_default();
    Ok(paths
        .iter()
        .filter(|(path, item)| !path.contains('{') && item.get("get").is_some())
        .map(|(path, _)| format!("{prefix}{path}"))
        .collect())
}

/// The paths of a HAR recording's `GET` requests, without their query.
pub fn har_paths(text: &str) -> std::result::Result<Vec<String>, String> {
    let har: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not a HAR recording (JSON): {e}"))?;
    let Some(entries) = har.pointer("/log/entries").and_then(|e| e.as_array()) else {
        return Err("no `log.entries` list: expected a HAR recording".to_owned());
    };
    Ok(entries
        .iter()
        .filter(|e| e.pointer("/request/method").and_then(|m| m.as_str()) == Some("GET"))
        .filter_map(|e| e.pointer("/request/url")?.as_str())
        .map(|url| {
            let path = path_of(url);
            path.split(['?', '#']).next().unwrap_or(path).to_owned()
        })
        .collect())
}

/// The path of a URL (`http://host:80/a/b` -> `/a/b`), or the text itself when it is one.
fn path_of(url: &str) -> &str {
    match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => url,
    }
}

fn walk(root: &Path, dir: &Path, found: &mut BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Ok(relative) = path.strip_prefix(root) else {
            continue;
        };
        let Some(relative) = relative.to_str() else {
            continue;
        };
        // A path as sent: a `%` of the name is the name's, so it is written `%25` (a file
        // named `%2e%2e` is not `..`).
        found.insert(format!(
            "/{}",
            relative.replace('\\', "/").replace('%', "%25")
        ));
        // Into real folders only: a link is probed as itself.
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk(root, &path, found);
        }
    }
}

/// Characters kept as they are in a probe's path; everything else is percent-encoded.
fn encode(raw: &str) -> String {
    let mut out = String::new();
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@%".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The mutations of `base` (a path starting with `/`), by class.
fn mutations(base: &str) -> Vec<(Class, String)> {
    let (dir, name) = base.rsplit_once('/').unwrap_or(("", base));
    let mut out = Vec::new();
    if name.is_empty() {
        return out;
    }
    let flipped: String = name
        .chars()
        .map(|c| {
            if c.is_lowercase() {
                c.to_uppercase().next().unwrap_or(c)
            } else {
                c.to_lowercase().next().unwrap_or(c)
            }
        })
        .collect();
    if flipped != name {
        out.push((Class::CaseSensitivity, format!("{dir}/{flipped}")));
        let upper_first: String = name
            .chars()
            .enumerate()
            .map(|(i, c)| if i == 0 { c.to_ascii_uppercase() } else { c })
            .collect();
        if upper_first != name && upper_first != flipped {
            out.push((Class::CaseSensitivity, format!("{dir}/{upper_first}")));
        }
    }
    if !dir.is_empty() {
        out.push((Class::Separators, format!("{dir}\\{name}")));
        let parent = dir.rsplit('/').next().unwrap_or("");
        if !parent.is_empty() {
            out.push((Class::Traversal, format!("{dir}/../{parent}/{name}")));
            out.push((Class::Traversal, format!("{dir}\\..\\{parent}\\{name}")));
        }
    }
    out.push((Class::TrailingCharacters, format!("{base}.")));
    out.push((Class::TrailingCharacters, format!("{base} ")));
    for device in ["CON", "NUL.txt", "COM1"] {
        out.push((Class::ReservedNames, format!("{dir}/{device}")));
    }
    if let Some(first) = name.chars().next().filter(|c| c.is_ascii() && *c != '%') {
        let rest = &name[first.len_utf8()..];
        out.push((
            Class::Encoding,
            format!("{dir}/%{:02X}{rest}", first as u32 & 0xff),
        ));
    }
    if !dir.is_empty() {
        out.push((Class::Encoding, format!("{dir}%252F{name}")));
    }
    // A name with accents in the other Unicode normalization form (macOS and some Windows
    // tools write NFD, Linux keeps bytes as they come).
    {
        use unicode_normalization::UnicodeNormalization;
        for other in [
            name.nfd().collect::<String>(),
            name.nfc().collect::<String>(),
        ] {
            if other != name {
                out.push((Class::Encoding, format!("{dir}/{other}")));
            }
        }
    }
    out.push((Class::LongNames, format!("{dir}/{}", "n".repeat(300))));
    let stem: String = name
        .split('.')
        .next()
        .unwrap_or(name)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(6)
        .collect::<String>()
        .to_uppercase();
    if name.len() > 8 && !stem.is_empty() {
        let ext: String = name
            .rsplit_once('.')
            .map(|(_, e)| format!(".{}", e.chars().take(3).collect::<String>().to_uppercase()))
            .unwrap_or_default();
        out.push((Class::ShortNames, format!("{dir}/{stem}~1{ext}")));
    }
    out
}

/// Every probe of `bases` within `budget`: each base first (as the reference of its
/// mutations), then the mutations. Over budget, the seed picks which mutations stay (by a
/// hash of the seed and the probe, so that one more base does not reshuffle the others).
pub fn probes(bases: &[String], budget: Budget) -> Vec<Probe> {
    let mut candidates: Vec<(Class, String, String)> = Vec::new();
    for base in bases {
        candidates.push((Class::Base, base.clone(), encode(base)));
    }
    let mut mutated: Vec<(Class, String, String)> = bases
        .iter()
        .flat_map(|base| {
            mutations(base)
                .into_iter()
                .map(move |(class, path)| (class, base.clone(), encode(&path)))
        })
        .collect();
    let mut seen: BTreeSet<String> = candidates.iter().map(|c| c.2.clone()).collect();
    mutated.retain(|c| seen.insert(c.2.clone()));
    numbered(within(candidates, mutated, budget), "", "GET")
}

/// The probes as the cases of a generated `http` suite: one `GET` each, its answer (status,
/// content type, body) snapshotted, nothing expected of it.
pub fn cases(probes: &[Probe]) -> Vec<(String, CaseFile)> {
    probes
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                CaseFile {
                    description: format!("{} probe of {}", p.class.as_str(), p.base),
                    steps: vec![Step {
                        name: "1".into(),
                        method: p.method.clone(),
                        path: p.path.clone(),
                        headers: BTreeMap::new(),
                        body: if p.method == "GET" {
                            Body::None
                        } else {
                            Body::Text(WRITE_BODY.to_owned())
                        },
                        expect: Expect::default(),
                        capture: BTreeMap::new(),
                        follow_redirects: false,
                        snapshot: true,
                        snapshot_headers: Vec::new(),
                    }],
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(requests: usize) -> Budget {
        Budget {
            seed: 7,
            requests,
            time: None,
            writes: false,
        }
    }

    #[test]
    fn a_percent_in_a_seed_name_is_the_name_s_and_never_a_traversal() {
        let seed = tempfile::tempdir().unwrap();
        std::fs::create_dir(seed.path().join("files")).unwrap();
        std::fs::write(seed.path().join("files/%2e%2e"), "x").unwrap();
        let bases = bases(Some(seed.path()), []);
        assert_eq!(bases, ["/files", "/files/%252e%252e"]);
        assert_eq!(seed_files(Some(seed.path())), ["/files/%252e%252e"]);
        for probe in probes(&bases, budget(1000)) {
            assert!(
                !probe.path.to_lowercase().contains("/%2e%2e"),
                "{} is sent as a traversal",
                probe.path
            );
        }
    }

    #[test]
    fn a_seeded_file_gets_every_class_it_can_show() {
        let probes = probes(&["/files/readme.md".to_owned()], budget(1000));
        let classes: BTreeSet<Class> = probes.iter().map(|p| p.class).collect();
        let generated: BTreeSet<Class> = Class::ALL
            .into_iter()
            .filter(|c| *c != Class::Ordering)
            .collect();
        assert_eq!(classes, generated, "{probes:#?}");
        let paths: Vec<&str> = probes.iter().map(|p| p.path.as_str()).collect();
        for expected in [
            "/files/readme.md",
            "/files/README.MD",
            "/files%5Creadme.md",
            "/files/../files/readme.md",
            "/files/readme.md.",
            "/files/readme.md%20",
            "/files/CON",
            "/files/README~1.MD",
        ] {
            assert!(paths.contains(&expected), "no {expected} in {paths:#?}");
        }
        assert_eq!(probes[0].class, Class::Base);
        assert_eq!(probes[0].name, "base-001");
    }

    #[test]
    fn the_same_seed_picks_the_same_probes_and_another_seed_others() {
        let bases: Vec<String> = (0..20).map(|i| format!("/files/f{i}.txt")).collect();
        let a = probes(&bases, budget(60));
        assert_eq!(a.len(), 60);
        assert_eq!(a, probes(&bases, budget(60)));
        let other = probes(
            &bases,
            Budget {
                seed: 8,
                requests: 60,
                time: None,
                writes: false,
            },
        );
        assert_ne!(a, other);
        assert!(
            a.iter().filter(|p| p.class == Class::Base).count() == 20,
            "every base stays within budget"
        );
    }

    #[test]
    fn an_accented_name_is_probed_in_the_other_normalization_form() {
        let probes = probes(&["/files/caf\u{e9}.txt".to_owned()], budget(1000));
        let paths: Vec<&str> = probes.iter().map(|p| p.path.as_str()).collect();
        // NFD: `e` and the combining acute accent, percent-encoded as UTF-8.
        assert!(paths.contains(&"/files/cafe%CC%81.txt"), "{paths:#?}");
        assert!(paths.contains(&"/files/caf%C3%A9.txt"), "the base, as sent");
    }

    #[test]
    fn writes_rename_the_seed_s_files_and_never_climb_out() {
        let budget = Budget {
            seed: 0,
            requests: 400,
            time: None,
            writes: true,
        };
        let probes = write_probes(&["/files/readme.md".to_owned()], budget);
        let paths: Vec<(&str, &str)> = probes
            .iter()
            .map(|p| (p.method.as_str(), p.path.as_str()))
            .collect();
        assert_eq!(paths[0], ("PUT", "/files/readme.md"));
        assert!(paths.contains(&("PUT", "/files/README.MD")), "{paths:?}");
        assert!(
            probes
                .iter()
                .all(|p| p.class != Class::Traversal && !p.path.contains("..")),
            "{paths:?}"
        );
        assert!(probes.iter().all(|p| p.name.starts_with("write-")));
    }

    #[test]
    fn the_budget_counts_reads_and_writes_together() {
        let files: Vec<String> = (0..60).map(|i| format!("/files/doc-{i}.txt")).collect();
        for requests in [40, 100, 400] {
            let budget = Budget {
                seed: 7,
                requests,
                time: None,
                writes: true,
            };
            let writes = write_probes(
                &files,
                Budget {
                    requests: write_share(budget),
                    ..budget
                },
            );
            let reads = probes(
                &files,
                Budget {
                    requests: requests - writes.len(),
                    ..budget
                },
            );
            assert!(!writes.is_empty() && !reads.is_empty(), "{requests}");
            assert!(
                writes.len() + reads.len() <= requests,
                "{requests}: {} + {}",
                writes.len(),
                reads.len()
            );
        }
    }

    #[test]
    fn an_openapi_document_and_a_har_recording_give_their_get_paths() {
        let openapi = "openapi: 3.0.0\nservers:\n  - url: https://example.test/api\npaths:\n  /health:\n    get: {}\n  /items/{id}:\n    get: {}\n  /upload:\n    post: {}\n";
        assert_eq!(openapi_paths(openapi).unwrap(), ["/api/health"]);
        assert!(openapi_paths("[]").unwrap_err().contains("no `paths`"));
        let har = r#"{"log": {"entries": [
            {"request": {"method": "GET", "url": "http://127.0.0.1:8080/files/readme.md?x=1"}},
            {"request": {"method": "DELETE", "url": "http://127.0.0.1:8080/files/a"}}
        ]}}"#;
        assert_eq!(har_paths(har).unwrap(), ["/files/readme.md"]);
        assert!(har_paths("{}").unwrap_err().contains("log.entries"));
    }

    #[test]
    fn bases_come_from_the_seed_and_the_suites_without_captures() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("files/docs")).unwrap();
        std::fs::write(dir.path().join("files/docs/guide.txt"), "g").unwrap();
        let found = bases(
            Some(dir.path()),
            [
                "/health".to_owned(),
                "/projects/${id}".to_owned(),
                "/search?q=x".to_owned(),
            ],
        );
        assert_eq!(
            found,
            ["/files", "/files/docs", "/files/docs/guide.txt", "/health"]
        );
    }
}
