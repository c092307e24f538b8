//! Real peers the tests run against: an S3-compatible server (SeaweedFS) and Python tools, from
//! a venv that `tests/support/python-tools.sh` makes with pinned versions.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The bin directory of the test venv (created on first use).
pub fn python_tools() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/python-tools.sh");
        let out = Command::new("bash")
            .arg(script)
            .output()
            .expect("run python-tools.sh");
        assert!(
            out.status.success(),
            "python-tools.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
    .clone()
}

/// A SeaweedFS server on 127.0.0.1 with bucket `lake`. It stops when the test process exits:
/// it runs under a shell that kills it when its standard input (a pipe from this process)
/// closes.
pub struct S3Server {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    child: Child,
    args: Vec<String>,
    _dir: tempfile::TempDir,
}

/// A free port for SeaweedFS, which cannot be told to take port 0 itself: one below the system's
/// ephemeral range, so that no port-0 bind elsewhere in the tests takes it while a SeaweedFS
/// that is being restarted has let it go; never the same one twice in a process.
fn free_port() -> u16 {
    use rand::Rng;
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let mut given = GIVEN.lock().unwrap();
    let mut rng = rand::rng();
    for _ in 0..10_000 {
        let port = rng.random_range(10_000..ephemeral.max(10_001));
        if !given.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.push(port);
            return port;
        }
    }
    panic!("no free port below {ephemeral} for SeaweedFS")
}

/// The server shared by the tests of this process, started on first use.
pub fn s3() -> &'static S3Server {
    static SERVER: OnceLock<S3Server> = OnceLock::new();
    SERVER.get_or_init(S3Server::start)
}

/// Runs `weed` with `args` and waits for its own "all components running" line (no sleeping,
/// 120 s at most).
fn spawn_weed(args: &[String]) -> Child {
    let weed = python_tools().join("weed");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#""$0" "$@" 2>&1 & pid=$!; cat >/dev/null; kill -9 $pid; wait $pid"#)
        .arg(&weed)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start weed");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("All enabled components are running") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("SeaweedFS did not report ready within 120 s");
    child
}

impl S3Server {
    /// A server of its own: free ports, data in a new directory.
    pub fn start() -> S3Server {
        let dir = tempfile::tempdir().unwrap();
        let s3_port = free_port();
        let mut args = vec![
            "mini".to_string(),
            format!("-dir={}", dir.path().display()),
            "-ip=127.0.0.1".into(),
            "-ip.bind=127.0.0.1".into(),
            "-bucket=lake".into(),
            "-webdav=false".into(),
            "-admin.ui=false".into(),
            "-master.telemetry=false".into(),
            format!("-s3.port={s3_port}"),
        ];
        for flag in [
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port.grpc",
            "s3.port.iceberg",
            "s3.port.lance",
            "admin.port",
            "admin.port.grpc",
            "debug.port",
            "metricsPort",
        ] {
            args.push(format!("-{flag}={}", free_port()));
        }
        S3Server {
            endpoint: format!("http://127.0.0.1:{s3_port}"),
            child: spawn_weed(&args),
            args,
            _dir: dir,
        }
    }

    /// Kills the server at once (kill -9), as a crash or a lost machine would stop it.
    pub fn kill(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }

    /// Starts it again on the same ports over the same data, once it has been killed; returns
    /// when it is ready.
    pub fn restart(&mut self) {
        self.child = spawn_weed(&self.args);
    }

    /// The `AWS_*` settings that reach this server.
    pub fn env(&self) -> HashMap<String, String> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "lakemeta"),
            ("AWS_SECRET_ACCESS_KEY", "lakemeta-secret"),
            ("AWS_REGION", "us-east-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

/// A fresh warehouse URL in the test bucket.
pub fn s3_warehouse(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("s3://lake/{name}-{nanos}")
}
