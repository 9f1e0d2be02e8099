//! `--explore`: requests nobody wrote. From what the harness knows of the server (the paths
//! of the seed's files and folders, `/` and every folder with and without its trailing slash,
//! the paths the `http` suites request, an OpenAPI document, a HAR recording) it derives
//! probes by the mutations that Windows and Linux are known to answer differently (case, `\`
//! as a separator, traversal, trailing dots and spaces, reserved device names, encodings and
//! Unicode normalization forms, long and 8.3 names), and runs them as a generated `http`
//! suite: one case per probe, its normalized answer (and the lines the server logged while
//! answering) compared across cells. With writes, the seed's files are uploaded again under
//! mutated names, the way the server takes uploads (a multipart form when its OpenAPI
//! document or one of its pages says so, `PUT` otherwise), each in a fresh data dir. The
//! probes go to the server, whose answers are compared, never followed on the host.
//!
//! Deterministic: the same bases, seed and budget give the same probes, in the same order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::http::case::{Body, CaseFile, Expect, Step};

mod documents;
pub use documents::{har_paths, html_forms, openapi_forms, openapi_paths};

/// A probe's mutation, and a finding's class: the matrix's own enum, since a
/// `[[divergence]]` can accept a whole class.
pub use crate::matrix::ExploreClass as Class;

/// One generated request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// Its case name: `<mutation>-<number>` (`write-<mutation>-<number>` for a write),
    /// unique in the run.
    pub name: String,
    /// What it did to its base request (`base`: nothing).
    pub mutation: Class,
    /// `GET`; for a write (`--explore-writes`) `PUT`, or `POST` of a multipart form.
    pub method: String,
    /// The request it mutates.
    pub base: String,
    /// The request path, percent-encoded as sent.
    pub path: String,
    /// For a multipart upload: the form's file field and the file name sent in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<Upload>,
}

impl Probe {
    /// The request as a line: `GET /files/a`, `POST /upload (file "A.TXT")`.
    pub fn request(&self) -> String {
        match &self.upload {
            Some(upload) => format!(
                "{} {} ({} {:?})",
                self.method, self.path, upload.field, upload.file_name
            ),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

/// A file sent in a multipart form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    /// The form field that takes the file.
    pub field: String,
    /// The file name the form sends (the name a port may store otherwise).
    pub file_name: String,
}

/// Where a server takes uploads as a multipart form: the path a form posts to and its file
/// field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// The path (`/upload`).
    pub action: String,
    /// The field of type file.
    pub field: String,
}

/// How many probes, chosen how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Picks which probes run when there are more than `requests`.
    pub seed: u64,
    /// The most probes (bases included, reads and writes together) a cell is sent.
    pub requests: usize,
    /// How long the whole exploration may take: no probe starts (and no write's server is
    /// launched) after it.
    pub time: Option<std::time::Duration>,
    /// Whether writes are probed too (the seed's files uploaded under mutated names, each
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
            std::fs::symlink_metadata(seed.join(unescaped(p)))
                .is_ok_and(|m| m.file_type().is_file())
        });
    }
    found.into_iter().collect()
}

/// The names of the seed's symbolic links (`current`): a difference in lines that name one
/// is a matter of how links are reported or followed.
pub fn seed_links(seed: Option<&Path>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    if let Some(seed) = seed {
        walk(seed, seed, &mut found);
        found.retain(|p| {
            std::fs::symlink_metadata(seed.join(unescaped(p)))
                .is_ok_and(|m| m.file_type().is_symlink())
        });
    }
    found
        .into_iter()
        .filter_map(|p| Some(p.rsplit('/').next()?.replace("%25", "%")))
        .collect()
}

/// A seed path as the file system names it (the `%` that [`walk`] escaped).
fn unescaped(path: &str) -> String {
    path.trim_start_matches('/').replace("%25", "%")
}

/// The write probes of `files`: each file written again as itself (the base) and under the
/// names a port reads otherwise (case, `\`, a trailing character, a device name, a long
/// name). Never traversal: a write is never aimed outside the data dir. `PUT`s, until
/// [`as_uploads`] turns them into the forms a server takes.
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

/// `writes` as uploads through `form`: each a `POST` of a multipart form to its action,
/// sending the last segment of the mutated path as the file's name (`docs\guide.txt` for a
/// separator). Two writes that would send the same name are one.
pub fn as_uploads(writes: Vec<Probe>, form: &Form) -> Vec<Probe> {
    let mut seen = BTreeSet::new();
    writes
        .into_iter()
        .filter_map(|probe| {
            let sent = probe.path.rsplit('/').next().unwrap_or(&probe.path);
            let file_name = percent_decode(sent);
            if file_name.is_empty() || !seen.insert(file_name.clone()) {
                return None;
            }
            Some(Probe {
                method: "POST".to_owned(),
                path: form.action.clone(),
                upload: Some(Upload {
                    field: form.field.clone(),
                    file_name,
                }),
                ..probe
            })
        })
        .collect()
}

/// `text` with its `%XX` escapes decoded (as bytes, then as UTF-8, lossily).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How many of a budget the writes may take: at most half of it, so that reads always run.
pub fn write_share(budget: Budget) -> usize {
    if budget.writes {
        budget.requests / 2
    } else {
        0
    }
}

/// The bases, then as many of `mutated` as `budget.requests` leaves room for, in class
/// order. When there are more, the shortest request of each mutation goes first (so that
/// whatever a mutation shows, its smallest example is among the probes: each class of
/// findings leads with the smallest request that shows it), then `budget.seed` picks.
fn within(
    mut bases: Vec<(Class, String, String)>,
    mut mutated: Vec<(Class, String, String)>,
    budget: Budget,
) -> Vec<(Class, String, String)> {
    bases.truncate(budget.requests);
    let room = budget.requests.saturating_sub(bases.len());
    if mutated.len() > room {
        let shortest: BTreeMap<Class, &str> =
            mutated.iter().fold(BTreeMap::new(), |mut shortest, c| {
                let path = shortest.entry(c.0).or_insert(c.2.as_str());
                if (c.2.len(), c.2.as_str()) < (path.len(), *path) {
                    *path = c.2.as_str();
                }
                shortest
            });
        let shortest: BTreeSet<String> = shortest.into_values().map(str::to_owned).collect();
        let rank = |path: &str| -> (bool, [u8; 32]) {
            let hash = Sha256::new()
                .chain_update(budget.seed.to_le_bytes())
                .chain_update(path.as_bytes())
                .finalize()
                .into();
            (!shortest.contains(path), hash)
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

/// `candidates` (mutation, base, path) as probes of `method`, named `<prefix><mutation>-<n>`
/// with `n` counting within each mutation.
fn numbered(candidates: Vec<(Class, String, String)>, prefix: &str, method: &str) -> Vec<Probe> {
    let mut numbers: BTreeMap<Class, usize> = BTreeMap::new();
    candidates
        .into_iter()
        .map(|(mutation, base, path)| {
            let n = numbers.entry(mutation).or_default();
            *n += 1;
            Probe {
                name: format!("{prefix}{}-{n:03}", mutation.as_str()),
                mutation,
                method: method.to_owned(),
                base,
                path,
                upload: None,
            }
        })
        .collect()
}

/// The paths the probes start from: `/`, every file and folder of the seed (as the server's
/// data dir holds them; each folder with and without its trailing slash, so that listings
/// are asked for both ways), and every path the `http` suites, an OpenAPI document or a HAR
/// recording request that needs no captured value (queries kept). Sorted, without
/// duplicates.
pub fn bases(seed: Option<&Path>, requested: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut found = BTreeSet::from(["/".to_owned()]);
    if let Some(seed) = seed {
        let mut walked = BTreeSet::new();
        walk(seed, seed, &mut walked);
        for path in walked {
            let folder = std::fs::symlink_metadata(seed.join(unescaped(&path)))
                .is_ok_and(|m| m.file_type().is_dir());
            if folder {
                found.insert(format!("{path}/"));
            }
            found.insert(path);
        }
    }
    for path in requested {
        if path.starts_with('/') && !path.contains("${") {
            found.insert(path);
        }
    }
    found.into_iter().collect()
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

/// A path as sent: every byte that is not unreserved (RFC 3986: letters, digits, `-._~`)
/// nor `/` percent-encoded; an escape already there (`%XX`) is kept, and so is a query (as
/// it was recorded or written).
fn encode(raw: &str) -> String {
    let (path, query) = match raw.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (raw, None),
    };
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~%".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// The mutations of `base` (a path starting with `/`, maybe with a query, which each
/// mutation keeps), by class.
fn mutations(base: &str) -> Vec<(Class, String)> {
    let (base, query) = match base.split_once('?') {
        Some((path, query)) => (path, format!("?{query}")),
        None => (base, String::new()),
    };
    let mut out = mutated_paths(base);
    for (_, path) in &mut out {
        path.push_str(&query);
    }
    out
}

/// The mutations of the path `base`, by class.
fn mutated_paths(base: &str) -> Vec<(Class, String)> {
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

/// The probes as the cases of a generated `http` suite: one request each, its answer
/// (status, content type, body) snapshotted, nothing expected of it.
pub fn cases(probes: &[Probe]) -> Vec<(String, CaseFile)> {
    probes
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                CaseFile {
                    description: format!("{} probe of {}", p.mutation.as_str(), p.base),
                    steps: vec![Step {
                        name: "1".into(),
                        method: p.method.clone(),
                        path: p.path.clone(),
                        headers: BTreeMap::new(),
                        body: match (&p.upload, p.method.as_str()) {
                            (Some(upload), _) => Body::Multipart(super::http::case::Upload {
                                field: upload.field.clone(),
                                name: upload.file_name.clone(),
                                body: WRITE_BODY.to_owned(),
                            }),
                            (None, "GET") => Body::None,
                            (None, _) => Body::Text(WRITE_BODY.to_owned()),
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
        assert_eq!(bases, ["/", "/files", "/files/", "/files/%252e%252e"]);
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
        let classes: BTreeSet<Class> = probes.iter().map(|p| p.mutation).collect();
        let generated: BTreeSet<Class> =
            Class::ALL.into_iter().filter(|c| c.is_mutation()).collect();
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
        assert_eq!(probes[0].mutation, Class::Base);
        assert_eq!(probes[0].name, "base-001");
    }

    #[test]
    fn over_budget_each_mutation_keeps_its_smallest_example() {
        let mut bases: Vec<String> = (0..40)
            .map(|i| format!("/files/folder-{i:02}/a-long-file-name-{i}.txt"))
            .collect();
        bases.push("/a".to_owned());
        for seed in 0..5 {
            let picked = probes(
                &bases,
                Budget {
                    seed,
                    requests: 60,
                    time: None,
                    writes: false,
                },
            );
            let paths: Vec<&str> = picked.iter().map(|p| p.path.as_str()).collect();
            for smallest in ["/A", "/a.", "/CON", "/%61"] {
                assert!(paths.contains(&smallest), "seed {seed}: no {smallest}");
            }
        }
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
            a.iter().filter(|p| p.mutation == Class::Base).count() == 20,
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
                .all(|p| p.mutation != Class::Traversal && !p.path.contains("..")),
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
        // `/`, each folder with and without its slash, queries kept, captures left out.
        assert_eq!(
            found,
            [
                "/",
                "/files",
                "/files/",
                "/files/docs",
                "/files/docs/",
                "/files/docs/guide.txt",
                "/health",
                "/search?q=x"
            ]
        );
        // A query stays as it was while the path is mutated.
        let probes = probes(&["/search?q=a b".to_owned()], budget(100));
        let paths: Vec<&str> = probes.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"/search?q=a b"), "{paths:?}");
        assert!(paths.contains(&"/SEARCH?q=a b"), "{paths:?}");
    }

    #[test]
    fn every_byte_of_a_name_that_is_not_unreserved_is_percent_encoded() {
        let probes = probes(&["/files/a'b(c)!$&+,;=:@ d.txt".to_owned()], budget(100));
        assert_eq!(
            probes[0].path,
            "/files/a%27b%28c%29%21%24%26%2B%2C%3B%3D%3A%40%20d.txt"
        );
    }

    #[test]
    fn uploads_go_where_an_openapi_document_or_an_html_form_says() {
        let openapi = "openapi: 3.0.0\nservers:\n  - url: /api\npaths:\n  /upload:\n    post:\n      requestBody:\n        content:\n          multipart/form-data:\n            schema:\n              properties:\n                note: {type: string}\n                document: {type: string, format: binary}\n  /json:\n    post:\n      requestBody:\n        content:\n          application/json: {}\n";
        assert_eq!(
            openapi_forms(openapi).unwrap(),
            [Form {
                action: "/api/upload".into(),
                field: "document".into()
            }]
        );
        let page = r#"<html><body>
            <form method="get" action="/search"><input name="q"></form>
            <form method="POST" enctype="multipart/form-data" action="store">
              <input type="text" name="title"><input type="file" name="attachment">
            </form>
            <form method="post" enctype="multipart/form-data" action="https://elsewhere.test/x">
              <input type="file" name="f">
            </form></body></html>"#;
        assert_eq!(
            html_forms("/files/index.html", page),
            [Form {
                action: "/files/store".into(),
                field: "attachment".into()
            }]
        );
        let writes = write_probes(
            &["/files/docs/guide.txt".to_owned()],
            Budget {
                seed: 0,
                requests: 100,
                time: None,
                writes: true,
            },
        );
        let uploads = as_uploads(
            writes,
            &Form {
                action: "/upload".into(),
                field: "file".into(),
            },
        );
        let names: Vec<&str> = uploads
            .iter()
            .map(|p| p.upload.as_ref().unwrap().file_name.as_str())
            .collect();
        assert_eq!(names[0], "guide.txt");
        for name in ["GUIDE.TXT", "docs\\guide.txt", "guide.txt.", "CON"] {
            assert!(names.contains(&name), "no {name} in {names:?}");
        }
        assert!(
            uploads
                .iter()
                .all(|p| p.method == "POST" && p.path == "/upload")
        );
        assert_eq!(uploads[0].request(), "POST /upload (file \"guide.txt\")");
        // The form as sent.
        let cases = cases(&uploads[..1]);
        let Body::Multipart(upload) = &cases[0].1.steps[0].body else {
            panic!("{:?}", cases[0].1.steps[0].body)
        };
        let (content_type, bytes) = upload.encode();
        assert!(content_type.starts_with("multipart/form-data; boundary="));
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.contains(
                "Content-Disposition: form-data; name=\"file\"; filename=\"guide.txt\"\r\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("--\r\n"), "{text}");
    }
}
