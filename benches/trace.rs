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

const ROUNDS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let exe = env!("CARGO_BIN_EXE_socklab");
    let plain = || {
        let mut c = Command::new("python3");
        c.args(["-c", PROGRAM]);
        c
    };
    let traced = || {
        let mut c = Command::new(exe);
        c.args(["trace", "--headless", "--", "python3", "-c", PROGRAM]);
        c
    };
    let strace = || {
        let mut c = Command::new("strace");
        c.args(["-f", "-o", "/dev/null", "python3", "-c", PROGRAM]);
        c
    };
    let have_strace = Command::new("strace").arg("-V").output().is_ok();
    // Interleaved rounds, so a busy moment of a shared machine hits all three.
    let (mut p, mut t, mut s) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        p.push(time(plain()).as_secs_f64());
        t.push(time(traced()).as_secs_f64());
        if have_strace {
            s.push(time(strace()).as_secs_f64());
        }
    }
    let (p, t) = (median(p), median(t));
    println!("20 000 round trips, medians of {ROUNDS} interleaved rounds:");
    println!("plain                    {p:8.3} s");
    println!("socklab trace --headless {t:8.3} s  ({:.1}×)", t / p);
    if have_strace {
        let s = median(s);
        println!("strace -f                {s:8.3} s  ({:.1}×)", s / p);
        println!(
            "overhead socklab / strace: {:.2} (target < 1: socklab adds less time than strace -f)",
            (t - p) / (s - p)
        );
    } else {
        println!("strace -f                (strace is not installed)");
    }
    // A pyenv shim (a shell script exec'ing on to python) is traced too:
    // strace -f follows every helper it forks, socklab stops only at the
    // helpers' socket-related calls. Said, so the figures read right.
    if let Some(p) = script_on_path("python3") {
        println!(
            "(python3 is a script here, {}: both tracers run it too; strace -f stops at every call of its helpers)",
            p.display()
        );
    }
}

/// The first `name` on PATH, if it is a `#!` script.
fn script_on_path(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    let p = std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())?;
    let head = std::fs::read(&p).ok()?;
    head.starts_with(b"#!").then_some(p)
}
