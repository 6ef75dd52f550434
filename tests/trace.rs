//! Trace mode on real programs: python3 servers and clients written the way
//! tutorials write them, a C program compiled here, `nc`; event order,
//! return values, exact bytes, errno, step mode, and the program's end.
//! (Long: each test embeds the real program it traces.)
#![cfg(target_os = "linux")]

mod trace_log;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use socklab::engine::trace::{CallKind, TraceHandle, TraceSpec};
use socklab::engine::*;

const WAIT: Duration = Duration::from_secs(30);

struct T {
    engine: Engine,
    rx: Events,
    log: Vec<Event>,
}

impl T {
    fn new() -> T {
        T::with(EngineConfig::default())
    }
    fn with(cfg: EngineConfig) -> T {
        let (engine, rx) = Engine::start(cfg);
        T {
            engine,
            rx,
            log: Vec::new(),
        }
    }

    fn trace(&self, argv: &[&str]) -> TraceHandle {
        TraceHandle::start(&self.engine, TraceSpec::new(argv.iter().copied()))
            .expect("trace starts")
    }

    fn trace_step(&self, argv: &[&str]) -> TraceHandle {
        let mut spec = TraceSpec::new(argv.iter().copied());
        spec.step = true;
        TraceHandle::start(&self.engine, spec).expect("trace starts")
    }

    /// Read events until one matches (panics after WAIT: the test failed).
    async fn until(&mut self, what: &str, f: impl Fn(&Event) -> bool) -> Event {
        if let Some(e) = self.log.iter().find(|e| f(e)) {
            return e.clone();
        }
        let end = Instant::now() + WAIT;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(ev)) => {
                    self.log.push(ev.clone());
                    if f(&ev) {
                        return ev;
                    }
                }
                _ => panic!("no event: {what}\nlog:\n{}", self.dump()),
            }
        }
    }

    async fn exited(&mut self, pid: u32) -> (Option<i32>, Option<i32>) {
        let ev = self
            .until("program exit", |e| {
                matches!(&e.kind, EventKind::Program { pid: p, note: ProgramNote::Exited { .. } } if *p == pid)
            })
            .await;
        match ev.kind {
            EventKind::Program {
                note: ProgramNote::Exited { code, signal, .. },
                ..
            } => (code, signal),
            _ => unreachable!(),
        }
    }

    /// Take in what has arrived so far, without waiting.
    fn drain(&mut self) {
        while let Ok(ev) = self.rx.try_recv() {
            self.log.push(ev);
        }
    }

    fn dump(&self) -> String {
        trace_log::dump(&self.log)
    }

    /// The traced calls of one process, in order: (method, text).
    fn calls_of(&self, pid: u32) -> Vec<(u64, String, String)> {
        trace_log::calls_of(&self.log, pid)
    }

    fn result_of(&self, call: u64) -> Option<Result<Ret, CallError>> {
        self.log.iter().find_map(|e| match &e.kind {
            EventKind::CallDone { call: c, ret, .. } if *c == call => Some(Ok(ret.clone())),
            EventKind::CallFailed { call: c, error, .. } if *c == call => Some(Err(error.clone())),
            _ => None,
        })
    }

    /// All the output of a process once it contains `needle` (its pipes are
    /// read apart from the trace, so it can come after the exit).
    async fn output_with(&mut self, pid: u32, needle: &str) -> String {
        let end = Instant::now() + WAIT;
        while !self.output_of(pid).contains(needle) {
            match tokio::time::timeout(
                end.saturating_duration_since(Instant::now()),
                self.rx.recv(),
            )
            .await
            {
                Ok(Some(ev)) => self.log.push(ev),
                _ => panic!("no output {needle:?} from {pid}\nlog:\n{}", self.dump()),
            }
        }
        self.output_of(pid)
    }

    fn output_of(&self, pid: u32) -> String {
        trace_log::output_of(&self.log, pid)
    }

    fn bytes(&self, sock: SockId, dir: Dir) -> Vec<u8> {
        self.log
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Data {
                    sock: s,
                    dir: d,
                    data,
                    ..
                } if *s == sock && *d == dir => Some(data.to_vec()),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

fn is_done(e: &Event, method: &str, pid: u32, log: &[Event]) -> bool {
    let EventKind::CallDone { call, .. } = &e.kind else {
        return false;
    };
    log.iter().any(|s| {
        matches!(&s.kind, EventKind::CallStarted { call: c, method: m, owner, .. }
            if c == call && m == method && owner.program_pid() == Some(pid))
    })
}

const SERVER: &str = r#"
import socket, sys
HOST = "127.0.0.1"
PORT = int(sys.argv[1])
with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind((HOST, PORT))
    s.listen()
    conn, addr = s.accept()
    with conn:
        print(f"Connected by {addr}", flush=True)
        while True:
            data = conn.recv(1024)
            if not data:
                break
            conn.sendall(data)
"#;

const CLIENT: &str = r#"
import socket, sys
with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.connect(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"Hello, world")
    data = s.recv(1024)
print(f"Received {data!r}")
"#;

fn port() -> String {
    free_port().unwrap().to_string()
}

/// The listening socket of a traced server is up (its listen() returned).
async fn listening(t: &mut T, pid: u32) {
    t.until("listen() returned", |e| {
        matches!(
            &e.kind,
            EventKind::LabState {
                to: LabState::Listening,
                ..
            }
        )
    })
    .await;
    let _ = pid;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_server_and_client_traced_together() {
    let mut t = T::new();
    let p = port();
    let srv = t.trace(&["python3", "-c", SERVER, &p]);
    listening(&mut t, srv.pid()).await;
    let cli = t.trace(&["python3", "-c", CLIENT, &p]);
    assert_eq!(t.exited(cli.pid()).await, (Some(0), None));
    assert_eq!(t.exited(srv.pid()).await, (Some(0), None));
    t.drain();

    // The server: socket → bind → listen → accept4 → recv/send echo → close.
    let calls = t.calls_of(srv.pid());
    let methods: Vec<&str> = calls.iter().map(|c| c.1.as_str()).collect();
    let pos = |m: &str| {
        methods
            .iter()
            .position(|x| *x == m)
            .unwrap_or_else(|| panic!("no {m} in {methods:?}"))
    };
    assert!(
        pos("socket") < pos("bind")
            && pos("bind") < pos("listen")
            && pos("listen") < pos("accept4"),
        "{methods:?}"
    );
    let bind = &calls[pos("bind")];
    assert_eq!(bind.2, format!("bind(fd 3, ('127.0.0.1', {p}))"));
    assert_eq!(
        calls[pos("socket")].2,
        "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC)"
    );
    assert_eq!(t.result_of(bind.0), Some(Ok(Ret::Int(0))));
    // accept4 waited for the client: pending, then the new socket and its peer.
    let accept = &calls[pos("accept4")];
    assert!(
        t.log
            .iter()
            .any(|e| matches!(&e.kind, EventKind::CallPending { call, .. } if *call == accept.0))
    );
    let Some(Ok(Ret::Accepted(conn, peer))) = t.result_of(accept.0) else {
        panic!("accept4 result: {:?}", t.result_of(accept.0));
    };
    assert!(peer.ip().is_loopback());
    // The exact bytes, both ways, from the programs' memory.
    assert_eq!(t.bytes(conn, Dir::Received), b"Hello, world");
    assert_eq!(t.bytes(conn, Dir::Sent), b"Hello, world");
    // The last recv saw the client's FIN: b''.
    let recvs: Vec<_> = calls.iter().filter(|c| c.1 == "recvfrom").collect();
    assert_eq!(
        t.result_of(recvs.last().unwrap().0),
        Some(Ok(Ret::Bytes(Default::default())))
    );
    // Sockets are lab sockets owned by the program, with kernel state by inode.
    let created = t.log.iter().find_map(|e| match &e.kind {
        EventKind::SocketCreated {
            sock, owner, fd, ..
        } if *sock == conn => Some((owner.clone(), *fd)),
        _ => None,
    });
    let (owner, fd) = created.unwrap();
    assert_eq!(owner.to_string(), format!("python3[{}]", srv.pid()));
    assert_eq!(fd, 4);
    assert!(
        t.log.iter().any(|e| matches!(
            &e.kind,
            EventKind::KernelState {
                to: Some(TcpState::Listen),
                ..
            }
        )),
        "listener's kernel state"
    );
    assert!(
        t.log
            .iter()
            .any(|e| matches!(&e.kind, EventKind::SocketClosed { sock } if *sock == conn))
    );
    // Both programs' output.
    t.output_with(srv.pid(), "Connected by ('127.0.0.1', ")
        .await;
    assert_eq!(
        t.output_with(cli.pid(), "\n").await,
        "Received b'Hello, world'\n"
    );
    // The client: connect returned 0 and its sendall is one sendto of 12 bytes.
    let ccalls = t.calls_of(cli.pid());
    let connect = ccalls.iter().find(|c| c.1 == "connect").unwrap();
    assert_eq!(connect.2, format!("connect(fd 3, ('127.0.0.1', {p}))"));
    assert_eq!(t.result_of(connect.0), Some(Ok(Ret::Int(0))));
    let send = ccalls.iter().find(|c| c.1 == "sendto").unwrap();
    assert_eq!(send.2, "sendto(fd 3, b'Hello, world')");
    assert_eq!(t.result_of(send.0), Some(Ok(Ret::Int(12))));
}

const C_PROGRAM: &str = r#"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[1]));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0)
        printf("connect: %s\n", strerror(errno));
    close(s);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    a.sin_port = htons(atoi(argv[2]));
    ssize_t n = sendto(u, "ping\0\x01", 6, 0, (struct sockaddr *)&a, sizeof a);
    printf("sent %zd\n", n);
    write(1, "", 0);
    close(u);
    return 3;
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_program_refused_connect_and_a_datagram() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("p.c");
    let bin = dir.path().join("p");
    std::fs::write(&src, C_PROGRAM).unwrap();
    let st = std::process::Command::new("cc")
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("cc runs");
    assert!(st.success());
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let uport = udp.local_addr().unwrap().port().to_string();
    let mut t = T::new();
    let closed = port();
    let h = t.trace(&[bin.to_str().unwrap(), &closed, &uport]);
    assert_eq!(t.exited(h.pid()).await, (Some(3), None));
    t.drain();
    let calls = t.calls_of(h.pid());
    let methods: Vec<&str> = calls.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(
        methods,
        ["socket", "connect", "close", "socket", "sendto", "close"],
        "{}",
        t.dump()
    );
    assert_eq!(calls[0].2, "socket(AF_INET, SOCK_STREAM)");
    let Some(Err(e)) = t.result_of(calls[1].0) else {
        panic!("connect should fail")
    };
    assert_eq!(e.errno, Some(libc::ECONNREFUSED));
    assert_eq!(e.errno_name.as_deref(), Some("ECONNREFUSED"));
    assert_eq!(
        socklab::i18n::note(socklab::settings::Lang::En, &e.explain),
        format!("nothing is listening on 127.0.0.1:{closed} (the SYN was answered with RST)")
    );
    assert_eq!(
        calls[4].2,
        format!("sendto(fd 3, b'ping\\x00\\x01', ('127.0.0.1', {uport}))")
    );
    assert_eq!(t.result_of(calls[4].0), Some(Ok(Ret::Int(6))));
    let mut buf = [0u8; 16];
    let (n, _) = udp.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ping\0\x01");
    // write(1, ...) on stdout is not a socket call: not in the log.
    assert!(!methods.contains(&"write"));
    assert_eq!(
        t.output_with(h.pid(), "sent 6\n").await,
        "connect: Connection refused\nsent 6\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_addresses_are_refused_before_the_call() {
    let mut t = T::new();
    let prog = r#"
import socket
s = socket.socket()
try:
    s.connect(("192.0.2.1", 80))
except OSError as e:
    print(type(e).__name__, e.errno)
"#;
    let h = t.trace(&["python3", "-c", prog]);
    assert_eq!(t.exited(h.pid()).await, (Some(0), None));
    t.drain();
    let calls = t.calls_of(h.pid());
    let c = calls
        .iter()
        .find(|c| c.1 == "connect")
        .expect("connect traced");
    let Some(Err(e)) = t.result_of(c.0) else {
        panic!("connect must fail")
    };
    assert_eq!(e.errno, Some(libc::EACCES));
    assert!(en(&e).contains("not a loopback address"), "{}", en(&e));
    assert!(en(&e).contains("--allow-remote"));
    // The program saw the refusal, and the kernel never tried (no SYN_SENT).
    assert_eq!(t.output_with(h.pid(), "\n").await, "PermissionError 13\n");
    assert!(!t.log.iter().any(|e| matches!(
        &e.kind,
        EventKind::KernelState {
            to: Some(TcpState::SynSent),
            ..
        }
    )));
    assert!(
        t.log
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Notice { note }
                if note.key == "notice.traced_not_loopback"
                    && note.arg("ip") == Some("192.0.2.1")))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threaded_server_with_clients_from_outside() {
    let prog = r#"
import socket, sys, threading
def serve(conn):
    with conn:
        data = conn.recv(100)
        conn.sendall(data.upper())
with socket.socket() as s:
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen()
    ts = []
    for _ in range(2):
        conn, _ = s.accept()
        t = threading.Thread(target=serve, args=(conn,))
        t.start()
        ts.append(t)
    for t in ts:
        t.join()
"#;
    let mut t = T::new();
    let p = port();
    let h = t.trace(&["python3", "-c", prog, &p]);
    listening(&mut t, h.pid()).await;
    let mut got = Vec::new();
    for word in ["one", "two"] {
        let mut c = TcpStream::connect(format!("127.0.0.1:{p}")).unwrap();
        c.write_all(word.as_bytes()).unwrap();
        let mut s = String::new();
        c.read_to_string(&mut s).unwrap();
        got.push(s);
    }
    assert_eq!(got, ["ONE", "TWO"]);
    assert_eq!(t.exited(h.pid()).await, (Some(0), None));
    t.drain();
    // Calls from the threads are the process's calls, on the accepted sockets.
    let calls = t.calls_of(h.pid());
    let sends: Vec<&String> = calls
        .iter()
        .filter(|c| c.1 == "sendto")
        .map(|c| &c.2)
        .collect();
    assert_eq!(sends.len(), 2, "{calls:?}");
    assert!(
        sends.iter().any(|s| s.contains("b'ONE'")) && sends.iter().any(|s| s.contains("b'TWO'"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forking_server_children_are_traced() {
    let prog = r#"
import os, socket, sys
with socket.socket() as s:
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen()
    conn, _ = s.accept()
    pid = os.fork()
    if pid == 0:
        s.close()
        conn.sendall(b"from the child")
        conn.close()
        os._exit(0)
    conn.close()
    os.waitpid(pid, 0)
"#;
    let mut t = T::new();
    let p = port();
    let h = t.trace(&["python3", "-c", prog, &p]);
    listening(&mut t, h.pid()).await;
    let mut c = TcpStream::connect(format!("127.0.0.1:{p}")).unwrap();
    let mut s = String::new();
    c.read_to_string(&mut s).unwrap();
    assert_eq!(s, "from the child");
    assert_eq!(t.exited(h.pid()).await, (Some(0), None));
    t.drain();
    // (python3 may be a pyenv shim: its shell forks helpers first.)
    let child = t
        .log
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Program {
                pid,
                note:
                    ProgramNote::Started {
                        parent: Some(pp), ..
                    },
            } if *pp == h.pid() => Some(*pid),
            _ => None,
        })
        .find(|c| !t.calls_of(*c).is_empty())
        .expect("the fork is reported and makes calls");
    let ccalls = t.calls_of(child);
    let send = ccalls
        .iter()
        .find(|c| c.1 == "sendto")
        .expect("child's send traced");
    assert_eq!(send.2, "sendto(fd 4, b'from the child')");
    // The parent's close of fd 4 does not close the socket: the child still holds it.
    let conn = t
        .log
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::CallDone {
                ret: Ret::Accepted(s, _),
                ..
            } => Some(*s),
            _ => None,
        })
        .unwrap();
    let closed_at = t
        .log
        .iter()
        .position(|e| matches!(&e.kind, EventKind::SocketClosed { sock } if *sock == conn))
        .expect("closed at last");
    let sent_at = t
        .log
        .iter()
        .position(
            |e| matches!(&e.kind, EventKind::Data { sock, dir: Dir::Sent, .. } if *sock == conn),
        )
        .expect("the child's bytes on the same lab socket");
    assert!(sent_at < closed_at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nc_client_is_traced() {
    assert!(
        std::path::Path::new("/usr/bin/nc").exists() || std::path::Path::new("/bin/nc").exists(),
        "this test needs nc (apt-get install netcat-openbsd)"
    );
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let p = l.local_addr().unwrap().port().to_string();
    let mut t = T::new();
    let h = t.trace(&["nc", "-N", "127.0.0.1", &p]);
    let (mut conn, _) = l.accept().unwrap();
    conn.write_all(b"hi nc\n").unwrap();
    drop(conn);
    let ev = t.until("nc writes what it got to stdout", |e| {
        matches!(&e.kind, EventKind::Program { note: ProgramNote::Output { text, .. }, .. } if text.contains("hi nc"))
    }).await;
    let _ = ev;
    drop(h);
    t.drain();
    let calls = t.calls_of(
        t.log
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::CallStarted { owner, .. } => owner.program_pid(),
                _ => None,
            })
            .unwrap(),
    );
    let connect = calls
        .iter()
        .find(|c| c.1 == "connect")
        .expect("nc's connect");
    assert_eq!(connect.2, format!("connect(fd 3, ('127.0.0.1', {p}))"));
    assert!(t.log.iter().any(|e| matches!(&e.kind, EventKind::Data { dir: Dir::Received, data, .. } if &data[..] == b"hi nc\n")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_handle_kills_the_program() {
    let mut t = T::new();
    let h = t.trace(&[
        "python3",
        "-c",
        "import socket, time\ns = socket.socket()\ntime.sleep(600)",
    ]);
    let pid = h.pid();
    t.until("the socket", |e| {
        matches!(&e.kind, EventKind::SocketCreated { .. })
    })
    .await;
    drop(h);
    assert_eq!(t.exited(pid).await, (None, Some(libc::SIGKILL)));
    t.until("its socket closes", |e| {
        matches!(&e.kind, EventKind::SocketClosed { .. })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_mode_stops_before_accept_and_goes_on() {
    let mut t = T::new();
    let p = port();
    let h = t.trace_step(&["python3", "-c", SERVER, &p]);
    // Stopped before the very first socket call.
    t.until("about to call socket", |e| {
        matches!(&e.kind, EventKind::Program { note: ProgramNote::AboutToCall { method, .. }, .. } if method == "socket")
    }).await;
    assert!(h.is_held());
    t.drain();
    assert!(t.calls_of(h.pid()).is_empty(), "nothing ran yet");
    h.step();
    t.until("socket ran", |e| {
        matches!(&e.kind, EventKind::SocketCreated { .. })
    })
    .await;
    t.until("about to call bind", |e| {
        matches!(&e.kind, EventKind::Program { note: ProgramNote::AboutToCall { text, .. }, .. } if text.starts_with("bind(fd 3"))
    }).await;
    h.until(CallKind::Accept);
    let ev = t.until("about to call accept4", |e| {
        matches!(&e.kind, EventKind::Program { note: ProgramNote::AboutToCall { method, owner, .. }, .. }
            if method == "accept4" && owner.to_string() == format!("python3[{}]", h.pid()))
    }).await;
    let _ = ev;
    // It is listening, and a client's connection waits in the accept queue,
    // but accept() has not been called.
    let mut c = TcpStream::connect(format!("127.0.0.1:{p}")).unwrap();
    t.until("the accept queue holds it", |e| {
        matches!(
            &e.kind,
            EventKind::Queues {
                accept_q: Some(1),
                ..
            }
        )
    })
    .await;
    assert!(h.is_held());
    t.drain();
    assert!(!t.calls_of(h.pid()).iter().any(|c| c.1 == "accept4"));
    h.go();
    let pid = h.pid();
    let log_ok = t
        .until("accept4 returned", |e| {
            matches!(
                &e.kind,
                EventKind::CallDone {
                    ret: Ret::Accepted(..),
                    ..
                }
            )
        })
        .await;
    let _ = log_ok;
    c.write_all(b"x").unwrap();
    let mut b = [0u8; 1];
    c.read_exact(&mut b).unwrap();
    drop(c);
    assert_eq!(t.exited(pid).await, (Some(0), None));
    let log = t.log.clone();
    assert!(log.iter().any(|e| is_done(e, "accept4", pid, &log)));
}

#[test]
fn headless_transcript_of_a_traced_program() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_socklab"))
        .args(["trace", "--headless", "--", "python3", "-c"])
        .arg("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('127.0.0.1', 0))\nprint('ok')\nraise SystemExit(4)")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(
        text.contains("socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC) → fd 3"),
        "{text}"
    );
    assert!(text.contains("bind(fd 3, ('127.0.0.1', 0)) → 0"), "{text}");
    assert!(text.contains("fd 3: created → bound"), "{text}");
    assert!(text.contains("stdout: ok"), "{text}");
    assert!(text.contains("exited with status 4"), "{text}");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_socklab"))
        .args(["trace", "--headless", "--", "no-such-program-here"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no program"));
}

/// The error as an English-reading student sees it (Python's line and the lab's explanation).
fn en(e: &socklab::engine::CallError) -> String {
    socklab::describe::error_line(socklab::settings::Lang::En, e)
}
