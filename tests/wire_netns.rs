//! The wire without privileges, for real: the socklab binary run under
//! `setpriv` without CAP_NET_RAW (capture unavailable, everything else
//! works), as user `nobody` with `--netns` (capture works there), and
//! `socklab shell` joining a running `--netns` lab.

use socklab::engine::free_port;

const ROUND_TRIP: &str = r#"
srv = socket(AF_INET, SOCK_STREAM)
srv.bind(("127.0.0.1", {port}))
srv.listen(5)
cli = socket()
cli.connect(("127.0.0.1", {port}))
conn, addr = srv.accept()
cli.sendall(b"hello\n")
conn.recv(1024)
"#;

/// The socklab binary copied where any user may run it.
fn binary_for_anyone() -> (tempfile::TempDir, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("socklab");
    std::fs::copy(env!("CARGO_BIN_EXE_socklab"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    (dir, bin)
}

/// `setpriv ARGS... socklab SOCKLAB_ARGS... run --json -` on ROUND_TRIP:
/// the JSON events.
fn run_json(setpriv: &[&str], socklab: &[&str]) -> Vec<serde_json::Value> {
    use std::io::Write;
    let (_dir, bin) = binary_for_anyone();
    let mut child = std::process::Command::new("setpriv")
        .args(setpriv)
        .arg(&bin)
        .args(socklab)
        .args(["run", "--json", "-"])
        .env_remove("XDG_RUNTIME_DIR")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("setpriv (util-linux) must be installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ROUND_TRIP.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn of_kind<'a>(evs: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    evs.iter().filter(|e| e["event"] == kind).collect()
}

/// Everything but the wire works: the bytes went through.
fn sockets_worked(evs: &[serde_json::Value]) {
    let got = of_kind(evs, "data")
        .iter()
        .any(|e| e["dir"] == "received" && e["data"] == "hello\\n");
    assert!(got, "the data arrived: {evs:#?}");
}

fn unavailable_because_no_cap_net_raw(evs: &[serde_json::Value]) {
    let cap = of_kind(evs, "capture");
    assert_eq!(cap.len(), 1, "one event says so: {cap:#?}");
    assert_eq!(cap[0]["status"], "unavailable");
    assert_eq!(cap[0]["why"], "no_cap_net_raw");
    assert!(of_kind(evs, "segment").is_empty(), "nothing is made up");
    sockets_worked(evs);
}

#[test]
fn without_cap_net_raw_capture_is_unavailable_and_sockets_work() {
    let evs = run_json(&["--inh-caps=-net_raw", "--bounding-set=-net_raw"], &[]);
    unavailable_because_no_cap_net_raw(&evs);
}

#[test]
fn an_ordinary_user_has_no_capture_without_netns() {
    let evs = run_json(&["--reuid=65534", "--regid=65534", "--clear-groups"], &[]);
    unavailable_because_no_cap_net_raw(&evs);
}

#[test]
fn netns_lets_an_ordinary_user_capture() {
    let evs = run_json(
        &["--reuid=65534", "--regid=65534", "--clear-groups"],
        &["--netns"],
    );
    let cap = of_kind(&evs, "capture");
    assert_eq!(cap[0]["status"], "on", "{cap:#?}");
    sockets_worked(&evs);
    let segs = of_kind(&evs, "segment");
    let syn = segs
        .iter()
        .find(|s| s["tcp"]["flags"]["syn"] == true && s["tcp"]["flags"]["ack"] == false)
        .unwrap_or_else(|| panic!("a SYN was captured: {segs:#?}"));
    assert_eq!(syn["from_end"]["label"], "cli");
    assert_eq!(syn["tcp"]["seq"], 0);
    let data = segs
        .iter()
        .find(|s| s["len"] == 6)
        .expect("the data segment");
    assert_eq!(data["preview"], "hello\\n");
}

#[test]
fn socklab_shell_runs_inside_the_running_lab() {
    use std::io::Write;
    let (dir, bin) = binary_for_anyone();
    let rt = dir.path().join("run");
    let port = free_port().unwrap();
    // The lab listens on `port` inside its own network and waits.
    let script =
        format!("srv = socket()\nsrv.bind((\"127.0.0.1\", {port}))\nsrv.listen(1)\nsrv.accept()\n");
    let mut lab = std::process::Command::new(&bin)
        .args(["--netns", "run", "--timeout", "60", "-"])
        .env("XDG_RUNTIME_DIR", &rt)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    lab.stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let listening = format!(":{port:04X} 00000000:0000 0A");
    let pid_file = rt.join("socklab/netns.pid");
    let mut inside = String::new();
    for _ in 0..200 {
        if pid_file.exists() {
            let o = std::process::Command::new(&bin)
                .args(["shell", "cat", "/proc/net/tcp"])
                .env("XDG_RUNTIME_DIR", &rt)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            inside = String::from_utf8_lossy(&o.stdout).into_owned();
            if inside.contains(&listening) {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let outside = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let _ = lab.kill();
    let _ = lab.wait();
    assert!(
        inside.contains(&listening),
        "the shell sees the lab's listener: {inside}"
    );
    assert!(!outside.contains(&listening), "the host's network does not");
}

#[test]
fn socklab_shell_without_a_lab_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_socklab"))
        .args(["shell", "true"])
        .env("XDG_RUNTIME_DIR", dir.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no lab with --netns is running"), "{err}");
}
