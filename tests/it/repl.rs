use std::process::Command;

/// The REPL through a real pseudo-terminal, driven by pexpect.
#[test]
fn repl_through_a_pseudo_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let demo = super::bin()
        .args(["-w", wh.to_str().unwrap(), "demo"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let python = super::support::python_tools().join("python");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/repl_pty.py");
    let out = Command::new(python)
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_lakemeta"))
        .arg(&wh)
        .arg(dir.path().join("history"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
