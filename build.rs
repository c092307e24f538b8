//! Records the commit lakemeta is built from, for `lakemeta --version`: from git when the
//! source is a git checkout, else from `LAKEMETA_BUILD_COMMIT` (a build from a source archive),
//! else the version alone.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LAKEMETA_BUILD_COMMIT");
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let commit = std::env::var("LAKEMETA_BUILD_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| {
            own_checkout()?;
            watch_head();
            git(&["rev-parse", "--short=12", "HEAD"])
        });
    let text = match commit {
        Some(c) => format!("{version} (commit {})", c.trim()),
        None => version,
    };
    println!("cargo:rustc-env=LAKEMETA_VERSION={text}");
}

/// Some when this source tree is the top of a git checkout (not a copy of it inside another
/// repository, whose commit would be someone else's).
fn own_checkout() -> Option<()> {
    let top = std::fs::canonicalize(git(&["rev-parse", "--show-toplevel"])?).ok()?;
    let here = std::fs::canonicalize(std::env::var("CARGO_MANIFEST_DIR").ok()?).ok()?;
    (top == here).then_some(())
}

/// Asks cargo to run this again when HEAD moves: a new commit, a checkout. Only files that
/// exist are named (cargo reruns every build for a missing one).
fn watch_head() {
    let Some(git_dir) = git(&["rev-parse", "--git-dir"]) else {
        return;
    };
    let common = git(&["rev-parse", "--git-common-dir"]).unwrap_or_else(|| git_dir.clone());
    let mut files = vec![Path::new(&git_dir).join("HEAD")];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        files.push(Path::new(&common).join(branch));
    }
    files.push(Path::new(&common).join("packed-refs"));
    for file in files.iter().filter(|f| f.exists()) {
        println!("cargo:rerun-if-changed={}", file.display());
    }
}

/// The trimmed output of a git command, when git ran and succeeded.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}
