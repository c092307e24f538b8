use std::io::Write;
use std::process::Stdio;

#[test]
fn sql_c_runs_and_errors_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let out = super::bin()
        .args(["-w", wh.to_str().unwrap(), "sql", "--format", "csv", "-c"])
        .arg(
            "CREATE DOMAIN orders OWNER 'checkout-team'; SELECT name, owner_team FROM meta.domains",
        )
        .output()
        .unwrap();
    let stdout = succeeded(out);
    assert!(
        stdout.contains("name,owner_team\norders,checkout-team"),
        "{stdout}"
    );

    let out = super::bin()
        .args([
            "-w",
            wh.to_str().unwrap(),
            "sql",
            "-c",
            "SELECT * FROM orders.nope",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one-line error: {stderr}");
}

/// The stdout of a run that must have succeeded (its stderr shown when it did not).
fn succeeded(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the binary with `input` on a pipe as standard input.
fn run_with_stdin(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = super::bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn piped_statements_run_until_end_of_input() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let out = run_with_stdin(
        &["-w", wh.to_str().unwrap(), "--user", "alice", "sql", "--format", "ndjson"],
        b"CREATE DOMAIN users\n  OWNER 'growth-team';\n\\format csv\nSELECT name, updated_by FROM meta.domains;\n",
    );
    let stdout = succeeded(out);
    assert!(stdout.contains("name,updated_by\nusers,alice"), "{stdout}");
}

#[test]
fn demo_builds_the_mesh_and_reads_statements_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let out = run_with_stdin(
        &["-w", wh.to_str().unwrap(), "demo", "--format", "csv"],
        b"SELECT count(*) AS n FROM orders.orders_fact;\nSELECT count(*) AS d FROM meta.domains;\n",
    );
    let stdout = succeeded(out);
    assert!(stdout.contains("n\n2000\n"), "{stdout}");
    assert!(stdout.contains("d\n3\n"), "{stdout}");
}

#[test]
fn lineage_graph_draws_the_example_mesh() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let wh = wh.to_str().unwrap();
    let run = |args: &[&str]| {
        let out = super::bin()
            .args(["-w", wh, "-u", "admin"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let mesh = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mesh");
    let lineage = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mesh/lineage.sql");
    assert_eq!(run(&["apply", mesh]).0, Some(0));
    let (code, _, err) = run(&["sql", "-f", lineage]);
    assert_eq!(code, Some(0), "{err}");

    let (code, out, err) = run(&["lineage", "graph", "orders.orders_fact"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("flowchart LR\n"), "{out}");
    // upstream user_profiles feeds the centre, which feeds payments and segments
    for (from, to) in [
        ("users.user_profiles", "orders.orders_fact"),
        ("orders.orders_fact", "orders.payments_fact"),
        ("orders.orders_fact", "users.user_segments"),
    ] {
        let id = |name: &str| {
            out.lines()
                .find(|l| l.contains(&format!("[\"{name}<br/>")))
                .and_then(|l| l.split('[').next())
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|| panic!("{name} missing: {out}"))
        };
        assert!(
            out.contains(&format!("{} --> {}", id(from), id(to))),
            "{out}"
        );
    }
    assert!(
        out.contains("not checked"),
        "nothing was checked yet: {out}"
    );

    let (code, out, _) = run(&[
        "lineage",
        "graph",
        "orders.orders_fact",
        "--format",
        "dot",
        "--depth",
        "1",
    ]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("\"users.user_profiles\" -> \"orders.orders_fact\";"),
        "{out}"
    );

    let svg = dir.path().join("g.svg");
    let (code, _, err) = run(&[
        "lineage",
        "graph",
        "orders.orders_fact",
        "--format",
        "svg",
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<svg") && text.contains("orders.payments_fact"),
        "{text}"
    );

    let (code, _, err) = run(&["lineage", "graph", "orders.nope"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown data product 'orders.nope'"), "{err}");
}

/// `lakemeta completions bash` prints a script bash accepts (`bash -n`), completing the real
/// subcommands; an unknown shell is refused with the supported ones listed.
#[test]
fn completions_are_valid_scripts_and_an_unknown_shell_lists_the_known_ones() {
    let out = super::bin().args(["completions", "bash"]).output().unwrap();
    let script = succeeded(out);
    for word in ["apply", "serve", "completions", "--warehouse"] {
        assert!(script.contains(word), "the bash script completes {word}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lakemeta.bash");
    std::fs::write(&file, &script).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    for shell in ["zsh", "fish", "powershell"] {
        let out = super::bin().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        assert!(!out.stdout.is_empty(), "{shell}");
    }

    let out = super::bin().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("'tcsh'"), "{stderr}");
    for shell in ["bash", "zsh", "fish", "powershell"] {
        assert!(stderr.contains(shell), "the error lists {shell}: {stderr}");
    }
}

/// `lakemeta man` names every subcommand; `man SUB` is that subcommand's page; `man --dir`
/// writes a page per subcommand; an unknown subcommand is refused with the known ones.
#[test]
fn man_pages_name_every_subcommand() {
    use clap::CommandFactory;
    let cmd = lakemeta::cli::Cli::command();
    let subcommands: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect();
    assert!(subcommands.len() > 10, "{subcommands:?}");

    let out = super::bin().arg("man").output().unwrap();
    let page = succeeded(out);
    assert!(page.contains(".TH lakemeta 1 "), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for name in &subcommands {
        assert!(
            page.contains(&format!("lakemeta\\-{}", name.replace('-', "\\-"))),
            "the man page names {name}: {page}"
        );
    }

    let out = super::bin().args(["man", "apply"]).output().unwrap();
    let page = succeeded(out);
    assert!(page.contains(".TH lakemeta-apply 1"), "{page}");
    assert!(page.contains("\\-\\-dry\\-run"), "{page}");

    let out = super::bin().args(["man", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("'nope'") && stderr.contains("apply") && stderr.contains("serve"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let out = super::bin()
        .args(["man", "--dir", pages.to_str().unwrap()])
        .output()
        .unwrap();
    let listed = succeeded(out);
    let mut on_disk: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = listed.lines().map(str::to_string).collect();
    listed.sort();
    assert_eq!(listed, on_disk, "it lists the pages it wrote");
    for name in &subcommands {
        assert!(
            on_disk.contains(&format!("lakemeta-{name}.1")),
            "{on_disk:?}"
        );
    }
    assert!(
        on_disk.contains(&"lakemeta-contract-lint.1".to_string()),
        "{on_disk:?}"
    );
}

/// `lakemeta --version` prints the version, and the commit when built from a git checkout.
#[test]
fn version_names_the_commit_of_a_checkout() {
    let out = super::bin().arg("--version").output().unwrap();
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    let expected = format!("lakemeta {}", env!("CARGO_PKG_VERSION"));
    assert!(line.starts_with(&expected), "{line}");
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    let top = std::process::Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    if let (Ok(head), Ok(top)) = (head, top)
        && head.status.success()
        && std::fs::canonicalize(String::from_utf8_lossy(&top.stdout).trim()).ok()
            == std::fs::canonicalize(env!("CARGO_MANIFEST_DIR")).ok()
    {
        let commit = String::from_utf8(head.stdout).unwrap();
        assert_eq!(
            line.trim(),
            format!("{expected} (commit {})", commit.trim()),
            "built from this checkout"
        );
    }
}

/// The README's two commands: the first is the demo, run here as written (its arguments after
/// `--`, in a fresh directory, statements piped in); the second is the test command CI runs.
#[test]
fn the_readme_first_command_runs_the_demo_and_ci_runs_the_second() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("## The two commands")
        .nth(1)
        .expect("the README has its two commands");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the two commands are a sh block");
    let commands: Vec<&str> = block
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(commands.len(), 2, "{commands:?}");
    let (cargo, args) = commands[0]
        .split_once(" -- ")
        .expect("the first command is `cargo run … -- ARGS`");
    assert!(cargo.starts_with("cargo run"), "{cargo}");
    let args: Vec<&str> = args.split_whitespace().collect();
    assert_eq!(args, ["demo"], "the first command runs the demo");

    // as a newcomer runs it: in a fresh directory, so the warehouse is ./warehouse there
    let dir = tempfile::tempdir().unwrap();
    let mut child = super::bin()
        .args(&args)
        .current_dir(dir.path())
        .env_remove("LAKEMETA_WAREHOUSE")
        .env_remove("LAKEMETA_USER")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"SHOW DOMAINS;\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = succeeded(out);
    for domain in ["orders", "users", "inventory"] {
        assert!(stdout.contains(domain), "{stdout}");
    }
    assert!(dir.path().join("warehouse/_meta").is_dir());

    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).unwrap();
    assert!(
        ci.lines().any(|l| l.trim() == commands[1]),
        "CI runs the README's test command `{}`",
        commands[1]
    );
}
