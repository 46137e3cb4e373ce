//! The pre-commit hook of `.pre-commit-hooks.yaml`, run by pre-commit itself
//! as a user's repository runs it: a scratch hook repository holding the
//! file, a scratch project whose `.pre-commit-config.yaml` names the hook in
//! three lines, and `pre-commit run --all-files` with the built palisade on
//! PATH. pre-commit comes from `PRE_COMMIT`, `target/pre-commit-venv`
//! (which `scripts/test.sh` installs) or PATH.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The pre-commit executable.
fn pre_commit() -> PathBuf {
    if let Some(p) = std::env::var_os("PRE_COMMIT") {
        return PathBuf::from(p);
    }
    let venv = common::repo().join("target/pre-commit-venv/bin/pre-commit");
    if venv.is_file() {
        return venv;
    }
    let on_path = Command::new("pre-commit").arg("--version").output();
    assert!(
        on_path.is_ok_and(|o| o.status.success()),
        "pre-commit not found: run scripts/test.sh (it installs it into \
         target/pre-commit-venv), or set PRE_COMMIT to its path"
    );
    PathBuf::from("pre-commit")
}

/// Runs `git ARGS` in `dir` with a fixed identity and no user configuration.
fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .args(args)
        .output()
        .expect("git runs");
    assert!(o.status.success(), "git {args:?}: {o:?}");
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// A git repository holding this checkout's `.pre-commit-hooks.yaml`, and
/// its commit.
fn hook_repo(dir: &Path) -> String {
    std::fs::create_dir(dir).expect("mkdir");
    git(dir, &["init", "-q"]);
    std::fs::copy(
        common::repo().join(".pre-commit-hooks.yaml"),
        dir.join(".pre-commit-hooks.yaml"),
    )
    .expect("copy the hook file");
    git(dir, &["add", ".pre-commit-hooks.yaml"]);
    git(dir, &["commit", "-q", "-m", "hooks"]);
    git(dir, &["rev-parse", "HEAD"])
}

/// `pre-commit run --all-files` in a new project holding `manifest` (a
/// file of `examples/`) as `deploy/web.yaml`.
fn run_hook(manifest: &str) -> Output {
    let tmp = tempfile::tempdir().expect("temp dir");
    let hooks = tmp.path().join("hooks");
    let rev = hook_repo(&hooks);
    let project = tmp.path().join("project");
    std::fs::create_dir_all(project.join("deploy")).expect("mkdir");
    git(&project, &["init", "-q"]);
    std::fs::copy(
        common::repo().join("examples").join(manifest),
        project.join("deploy/web.yaml"),
    )
    .expect("copy the manifest");
    let config = format!(
        "repos:\n  - repo: {}\n    rev: {rev}\n    hooks: [{{id: palisade}}]\n",
        hooks.display()
    );
    std::fs::write(project.join(".pre-commit-config.yaml"), config).expect("write");
    git(&project, &["add", "."]);

    let bin = PathBuf::from(env!("CARGO_BIN_EXE_palisade"));
    let bin_dir = bin.parent().expect("the binary's directory");
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    Command::new(pre_commit())
        .current_dir(&project)
        .args(["run", "--all-files", "--color", "never"])
        .env("PATH", path)
        .env("PRE_COMMIT_HOME", tmp.path().join("cache"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("PALISADE_CONFIG")
        .env_remove("SKIP")
        .output()
        .expect("pre-commit runs")
}

#[test]
fn pre_commit_hook_fails_on_an_insecure_manifest() {
    let o = run_hook("insecure/web.yaml");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("palisade") && l.ends_with("Failed")),
        "{out}"
    );
    assert!(out.contains("deploy/web.yaml"), "{out}");
    assert!(out.contains("pss/privileged"), "{out}");
}

#[test]
fn pre_commit_hook_passes_a_hardened_manifest() {
    let o = run_hook("hardened/web.yaml");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    // The hook ran (on the manifest and the YAML config, which it skips).
    assert!(
        out.lines()
            .any(|l| l.starts_with("palisade") && l.ends_with("Passed")),
        "{out}"
    );
}
