//! Bulk data into the built-in sink peer vs a plain loopback pair, and the
//! memory it costs. Run: `cargo bench --bench throughput`.
//!
//! Target (DESIGN.md): the lab moves at least 50 % of what a plain
//! `sendall`/`recv` pair moves on the same loopback in the same run, and
//! stays under 50 MiB resident after 1 GiB has crossed a lab socket.
//! Figures are medians of several rounds, reported as a ratio. Memory is
//! measured on the real binary in a process of its own: `socklab run`
//! streams 1 GiB into the discard peer in 4 MiB `sendall` lines while this
//! bench reads the child's VmRSS from /proc.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use socklab::engine::*;

const TOTAL: usize = 1 << 30;
const CHUNK: usize = 4 << 20;
const ROUNDS: usize = 5;

fn plain_pair() -> Duration {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = vec![0u8; 256 * 1024];
        let mut n = 0;
        while n < TOTAL {
            let r = s.read(&mut buf).unwrap();
            if r == 0 {
                break;
            }
            n += r;
        }
    });
    let mut c = TcpStream::connect(addr).unwrap();
    let data = vec![7u8; CHUNK];
    let t = Instant::now();
    for _ in 0..TOTAL / CHUNK {
        c.write_all(&data).unwrap();
    }
    reader.join().unwrap();
    t.elapsed()
}

/// The lab's sender into the discard peer; `capture`: with the wire
/// captured (needs CAP_NET_RAW: run as root, or the figure is the same).
fn lab(rt: &tokio::runtime::Runtime, capture: bool) -> Duration {
    rt.block_on(async {
        let (engine, mut events) = Engine::start(EngineConfig {
            capture,
            ..EngineConfig::default()
        });
        // The UI's share of the work: fold every event into the model.
        let consumer = tokio::spawn(async move {
            let mut model = LabModel::new();
            let mut received = 0usize;
            while let Some(ev) = events.recv().await {
                if let EventKind::Data {
                    dir: Dir::Received,
                    len,
                    ..
                } = &ev.kind
                {
                    received += len;
                }
                model.apply(&ev);
                if received >= TOTAL {
                    break;
                }
            }
        });
        let port = free_port().unwrap();
        engine
            .start_peer(PeerSpec::new("discard", &format!("127.0.0.1:{port}")))
            .unwrap();
        let c = engine.call(
            Owner::Student,
            Op::Socket {
                family: 2,
                ty: 1,
                proto: 0,
            },
        );
        // Socket ids start at 1 and the peer took the first.
        let _ = c;
        let sock = 2;
        tokio::time::sleep(Duration::from_millis(20)).await;
        engine.call(
            Owner::Student,
            Op::Connect {
                sock,
                addr: AddrArg {
                    host: "127.0.0.1".into(),
                    port: port as i64,
                },
            },
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        let data = bytes::Bytes::from(vec![7u8; TOTAL]);
        let t = Instant::now();
        engine.call(
            Owner::Student,
            Op::SendAll {
                sock,
                data,
                flags: 0,
            },
        );
        consumer.await.unwrap();
        let d = t.elapsed();
        engine.shutdown();
        d
    })
}

/// A resident-memory figure of a process, in MiB (`VmRSS`, `VmHWM`, …).
fn status_mib(pid: u32, key: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
}

/// `socklab run` sending 1 GiB into the discard peer, sampled from outside:
/// (median VmRSS while it runs, peak VmHWM, samples).
fn binary_memory() -> (f64, f64, usize) {
    let mut script = String::from(
        ":peer discard 127.0.0.1:{port}\nc = socket()\nc.connect(('127.0.0.1', {port}))\n",
    );
    script.push_str(&format!("chunk = b'\\x07' * {CHUNK}\n"));
    for _ in 0..TOTAL / CHUNK {
        script.push_str("c.sendall(chunk)\n");
    }
    script.push_str("c.close()\n");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_socklab"))
        .args(["run", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(script.as_bytes()));
    let mut samples = Vec::new();
    let mut peak = 0.0f64;
    while child.try_wait().unwrap().is_none() {
        if let Some(rss) = status_mib(pid, "VmRSS:") {
            samples.push(rss);
        }
        if let Some(hwm) = status_mib(pid, "VmHWM:") {
            peak = peak.max(hwm);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    feeder.join().unwrap().unwrap();
    let n = samples.len();
    (median(samples), peak, n)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let gbps = |d: Duration| TOTAL as f64 / d.as_secs_f64() / 1e9;
    let mut plain = Vec::new();
    let mut labs = Vec::new();
    let mut wired = Vec::new();
    for _ in 0..ROUNDS {
        plain.push(gbps(plain_pair()));
        labs.push(gbps(lab(&rt, false)));
        wired.push(gbps(lab(&rt, true)));
    }
    let (p, l, w) = (median(plain), median(labs), median(wired));
    println!("plain sendall/recv pair : {p:.2} GB/s (median of {ROUNDS})");
    println!("lab → discard peer      : {l:.2} GB/s (median of {ROUNDS})");
    println!("  … with capture on     : {w:.2} GB/s (median of {ROUNDS})");
    println!(
        "ratio lab / plain       : {:.0} % (target ≥ 50 %)",
        100.0 * l / p
    );
    println!(
        "ratio capture on / plain: {:.0} % (target ≥ 50 %)",
        100.0 * w / p
    );
    let (rss, peak, n) = binary_memory();
    println!(
        "socklab run, 1 GiB into the discard peer (capture on where permitted): resident {rss:.1} MiB median, {peak:.1} MiB peak ({n} samples of VmRSS; target < 50 MiB, < 64 MiB with capture)"
    );
}
