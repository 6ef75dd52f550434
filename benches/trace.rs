//! Trace overhead: a syscall-heavy program (20 000 send/recv round trips
//! over loopback, in Python) run plain, under `socklab trace --headless`,
//! and under `strace -f`, in one run. Prints the times and the ratios.
//! `cargo bench --bench trace` (builds the release binary first).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PROGRAM: &str = r#"
import socket
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen()
a = socket.create_connection(l.getsockname())
b, _ = l.accept()
for _ in range(20000):
    a.send(b"x")
    b.recv(1)
"#;

fn time(mut cmd: Command) -> Duration {
    let t = Instant::now();
    let st = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("runs");
    assert!(st.success(), "{cmd:?} failed");
    t.elapsed()
}

fn main() {
    let exe = env!("CARGO_BIN_EXE_socklab");
    let mut plain = Command::new("python3");
    plain.args(["-c", PROGRAM]);
    let mut traced = Command::new(exe);
    traced.args(["trace", "--headless", "--", "python3", "-c", PROGRAM]);
    let mut strace = Command::new("strace");
    strace.args(["-f", "-o", "/dev/null", "python3", "-c", PROGRAM]);
    let p = time(plain);
    let t = time(traced);
    println!("plain                    {:8.3} s", p.as_secs_f64());
    println!(
        "socklab trace --headless {:8.3} s  ({:.1}×)",
        t.as_secs_f64(),
        t.as_secs_f64() / p.as_secs_f64()
    );
    if Command::new("strace").arg("-V").output().is_ok() {
        let s = time(strace);
        println!(
            "strace -f                {:8.3} s  ({:.1}×)",
            s.as_secs_f64(),
            s.as_secs_f64() / p.as_secs_f64()
        );
    } else {
        println!("strace -f                (strace is not installed)");
    }
}
