//! Records where this build of the harness comes from (a git repository and a commit), so
//! that a pipeline generated for a repository without `cargo xtask` installs this same
//! harness. `PORT_HARNESS_GIT` and `PORT_HARNESS_REV` override what git says. Built from a
//! `cargo install --git` checkout, the URL is the one cargo fetched (its database records it).

use std::path::Path;

#[expect(
    clippy::disallowed_methods,
    reason = "a build script asks git, outside the harness"
)]
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-env-changed=PORT_HARNESS_GIT");
    println!("cargo:rerun-if-env-changed=PORT_HARNESS_REV");
    let dir = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    if let Some(git_dir) = git(&dir, &["rev-parse", "--absolute-git-dir"]) {
        // A new commit or checkout moves HEAD's log.
        println!("cargo:rerun-if-changed={git_dir}/logs/HEAD");
        println!("cargo:rerun-if-changed={git_dir}/HEAD");
    }
    let rev = std::env::var("PORT_HARNESS_REV")
        .ok()
        .or_else(|| git(&dir, &["rev-parse", "HEAD"]));
    let url = std::env::var("PORT_HARNESS_GIT").ok().or_else(|| {
        let origin = git(&dir, &["remote", "get-url", "origin"])?;
        // cargo's checkouts point at its database, whose FETCH_HEAD names the real URL.
        let db = origin.strip_prefix("file://").unwrap_or(&origin);
        match std::fs::read_to_string(Path::new(db).join("FETCH_HEAD")) {
            Ok(fetched) if db.contains("/git/db/") => fetched
                .lines()
                .next()
                .and_then(|l| l.split('\t').next_back())
                .map(|url| url.rsplit(" of ").next().unwrap_or(url).to_owned()),
            _ => Some(origin),
        }
    });
    if let (Some(url), Some(rev)) = (url, rev) {
        println!("cargo:rustc-env=PORT_HARNESS_SOURCE_GIT={url}");
        println!("cargo:rustc-env=PORT_HARNESS_SOURCE_REV={rev}");
    }
}
