use std::time::Duration;

const MESH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mesh");

fn count(wh: &str, table: &str) -> u64 {
    let out = super::bin()
        .args(["-w", wh, "sql", "--format", "csv", "-c"])
        .arg(format!("SELECT count(*) AS n FROM meta.{table}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "unreadable: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

/// Ctrl-C (SIGINT) at different moments of an apply: the warehouse stays readable and holds
/// either none or all of the apply — never domains without their products or the reverse.
#[test]
fn ctrl_c_during_apply_leaves_all_or_nothing() {
    let mut seen_nothing = false;
    let mut seen_all = false;
    for delay_ms in [0u64, 40, 50, 60, 70, 80, 100, 120, 160, 240] {
        let dir = tempfile::tempdir().unwrap();
        let wh = dir.path().join("wh");
        let wh = wh.to_str().unwrap();
        let init = super::bin().args(["-w", wh, "init"]).output().unwrap();
        assert!(init.status.success());
        let child = super::bin()
            .args(["-w", wh, "apply", MESH])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let kill = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let (domains, products, contracts) = (
            count(wh, "domains"),
            count(wh, "products"),
            count(wh, "contracts"),
        );
        eprintln!(
            "delay {delay_ms} ms: exit {:?}, state {:?} {stderr}",
            out.status.code(),
            (domains, products, contracts)
        );
        match (domains, products, contracts) {
            (0, 0, 0) => {
                seen_nothing = true;
                if kill.success() && out.status.code() == Some(2) {
                    assert!(stderr.contains("nothing was written"), "{stderr}");
                }
            }
            (3, 9, 9) => seen_all = true,
            other => panic!("after Ctrl-C at {delay_ms} ms: partial apply {other:?}; {stderr}"),
        }
    }
    assert!(seen_nothing || seen_all);
}
