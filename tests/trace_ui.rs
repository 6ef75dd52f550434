//! Trace mode on the lab screen: a real program in step mode driven through
//! a pseudo-terminal (it really stops before `accept`, and goes on after the
//! key), `:trace` of a Python client against a built-in peer in the app, and
//! snapshots of the screen mid-step (synthetic events, so the pid is fixed).

mod ui_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use socklab::app::{self, App, Msg};
use socklab::engine::*;
use ui_support::*;

const SERVER: &str = r#"
import socket
with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind(("127.0.0.1", 0))
    s.listen(5)
    print("port", s.getsockname()[1], flush=True)
    conn, addr = s.accept()
    print("accepted", flush=True)
    with conn:
        conn.sendall(conn.recv(1024))
"#;

struct Pty {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    parser: Arc<Mutex<vt100::Parser>>,
    _home: tempfile::TempDir,
}

impl Pty {
    fn spawn(args: &[&str], cols: u16, rows: u16) -> Pty {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let home = tempfile::tempdir().expect("tempdir");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_socklab"));
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env("HOME", home.path());
        cmd.env("XDG_STATE_HOME", home.path());
        cmd.env("XDG_DATA_HOME", home.path());
        cmd.env("LANG", "C.UTF-8");
        let child = pair.slave.spawn_command(cmd).expect("spawn");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(rows).expect("rows"),
            std::num::NonZeroU16::new(cols).expect("cols"),
            0,
        )));
        let p2 = parser.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p2.lock().expect("lock").process(&buf[..n]);
            }
        });
        Pty {
            child,
            _master: pair.master,
            writer,
            parser,
            _home: home,
        }
    }

    fn screen(&self) -> String {
        self.parser.lock().expect("lock").screen().contents()
    }

    fn wait_for(&self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = self.screen();
            if s.contains(what) {
                return s;
            }
            assert!(Instant::now() < deadline, "no {what:?} on screen:\n{s}");
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
        self.writer.flush().expect("flush");
    }
}

const F5: &[u8] = b"\x1b[15~";

/// The process state letter in /proc/PID/stat (`t`: stopped by its tracer).
fn proc_state(pid: u32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit(')').next()?.trim().chars().next()
}

fn number_after(screen: &str, re: &str) -> u32 {
    let re = regex::Regex::new(re).expect("re");
    re.captures(screen)
        .and_then(|c| c[1].parse().ok())
        .unwrap_or_else(|| panic!("no {re} on screen:\n{screen}"))
}

#[test]
fn step_mode_stops_before_accept_and_goes_on_after_the_key() {
    let mut pty = Pty::spawn(&["trace", "--step", "--", "python3", "-c", SERVER], 120, 36);
    pty.wait_for("is about to call socket(");
    // F5 runs each call and stops before the next, until the server is about to accept.
    let mut screen = String::new();
    for _ in 0..40 {
        screen = pty.screen();
        if screen.contains("is about to call accept") {
            break;
        }
        let before = screen.matches("is about to call").count();
        pty.send(F5);
        let deadline = Instant::now() + Duration::from_secs(30);
        while pty.screen().matches("is about to call").count() == before
            && !pty.screen().contains("is about to call accept")
        {
            assert!(
                Instant::now() < deadline,
                "F5 did nothing:\n{}",
                pty.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    assert!(screen.contains("is about to call accept"), "{screen}");
    let pid = number_after(&screen, r"python3\[(\d+)\] is about to call accept");
    // The program's stdout is read on its own thread: its line may reach the
    // screen a moment after the stop does.
    let port = number_after(&pty.wait_for("stdout: port"), r"stdout: port (\d+)");
    // The status line says so, with the keys.
    let last = screen.lines().last().unwrap_or_default().to_string();
    assert!(last.contains("is about to call accept"), "{last}");
    assert!(last.contains("F5") && last.contains("F6"), "{last}");
    // Its socket is on the Sockets pane, owned by the program.
    assert!(screen.contains(&format!("python3[{pid}]")), "{screen}");
    // A client connects: the kernel queues it, but the program stays stopped.
    let mut client = TcpStream::connect(("127.0.0.1", port as u16)).expect("connect");
    client.write_all(b"hello\n").expect("write");
    assert_eq!(proc_state(pid), Some('t'), "the program is not stopped");
    assert!(!pty.screen().contains("stdout: accepted"));
    // F5: accept runs, and the program stops before its next call, on the new socket.
    pty.send(F5);
    let deadline = Instant::now() + Duration::from_secs(30);
    let next = regex::Regex::new(r"is about to call \w+\(fd [4-9]").expect("re");
    while !next.is_match(&pty.screen()) {
        assert!(
            Instant::now() < deadline,
            "accept did not run:\n{}",
            pty.screen()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // F6: go on freely; the echo comes back.
    pty.send(b"\x1b[17~");
    client
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut got = [0u8; 6];
    client.read_exact(&mut got).expect("echo");
    assert_eq!(&got, b"hello\n");
    pty.wait_for("stdout: accepted");
    pty.wait_for("exited with status 0");
    // Ctrl-C at an idle prompt quits.
    pty.send(b"\x03");
    let deadline = Instant::now() + Duration::from_secs(30);
    while pty.child.try_wait().expect("try_wait").is_none() {
        assert!(Instant::now() < deadline, "socklab did not quit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_program_stopped_before_a_call_dies_when_socklab_quits() {
    let mut pty = Pty::spawn(&["trace", "--step", "--", "python3", "-c", SERVER], 120, 36);
    let screen = pty.wait_for("is about to call socket(");
    let pid = number_after(&screen, r"python3\[(\d+)\] is about to call");
    assert_eq!(proc_state(pid), Some('t'));
    pty.send(b"\x03");
    let deadline = Instant::now() + Duration::from_secs(30);
    while pty.child.try_wait().expect("try_wait").is_none() {
        assert!(Instant::now() < deadline, "socklab did not quit");
        std::thread::sleep(Duration::from_millis(20));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while proc_state(pid).is_some_and(|s| s != 'Z') {
        assert!(
            Instant::now() < deadline,
            "the traced program outlived socklab"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn pump(app: &mut App, events: &mut Events, what: &str, cond: impl Fn(&App) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !cond(app) {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(ev)) => {
                app::update(app, Msg::Engine(ev));
            }
            _ => panic!(
                "timed out waiting for {what}; screen:\n{}",
                screen(app, 160, 48)
            ),
        }
    }
}

fn said(app: &App, text: &str) -> bool {
    app.output.iter().any(|l| l.text.contains(text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_a_python_client_against_a_built_in_peer() {
    let (mut app, mut events) = app();
    let port = free_port().expect("port");
    enter_line(&mut app, &format!(":peer echo 127.0.0.1:{port}"));
    enter_line(
        &mut app,
        &format!(":trace python3 {{programs}}/echo_client.py {port} 'hi there'"),
    );
    assert!(said(&app, "tracing python3["), "{:?}", app.output);
    pump(&mut app, &mut events, "the client's answer", |a| {
        said(a, r"stdout: received b'hi there\n'")
    })
    .await;
    pump(&mut app, &mut events, "the client's exit", |a| {
        said(a, "exited with status 0")
    })
    .await;
    // Its socket stays on the Sockets pane after it is closed (dimmed),
    // long after a closed socket of the lab would have gone.
    let rows: Vec<String> = app
        .socket_rows()
        .iter()
        .filter(|r| r.owner.program_pid().is_some())
        .map(|r| format!("{} {} {}", r.owner, r.name(), r.closed))
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].ends_with("true"), "{rows:?}");
    // The traced calls are in the Events pane, owned by the program.
    let ev = |t: &str| app.events.iter().any(|e| e.text.contains(t));
    assert!(ev("connect(fd 3, ('127.0.0.1',"), "{:?}", events_text(&app));
    assert!(ev("python3["), "{:?}", events_text(&app));
    let shown = screen(&mut app, 160, 48);
    assert!(shown.contains("python3["), "{shown}");
    // :rerun runs it again; the first run's socket is gone from the pane.
    let old = app.session.traces().roots();
    enter_line(&mut app, ":rerun");
    assert!(said(&app, "tracing python3["), "{:?}", app.output);
    let new = app.session.traces().roots();
    assert_ne!(old, new);
    assert!(
        !app.socket_rows()
            .iter()
            .any(|r| r.owner.program_pid() == old.first().copied()),
        "the old run's socket is still shown"
    );
    pump(&mut app, &mut events, "the second answer", |a| {
        a.output
            .iter()
            .filter(|l| l.text.contains("stdout: received"))
            .count()
            == 2
    })
    .await;
    app.session.engine().shutdown();
}

fn events_text(app: &App) -> Vec<String> {
    app.events.iter().map(|e| e.text.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_commands_without_a_program_say_so() {
    let (mut app, _events) = app();
    key(&mut app, KeyCode::F(5));
    assert!(
        said(&app, "no traced program is running"),
        "{:?}",
        app.output
    );
    enter_line(&mut app, ":until nonsense");
    enter_line(&mut app, ":rerun");
    assert!(said(&app, "nothing to run again yet"), "{:?}", app.output);
    enter_line(&mut app, ":trace");
    assert!(said(&app, "usage: :trace"), "{:?}", app.output);
    enter_line(&mut app, ":trace no-such-program-here-xyz");
    assert!(said(&app, "cannot run"), "{:?}", app.output);
    app.session.engine().shutdown();
}

// ---- snapshots mid-step, from synthetic events (fixed pid and ports) ----

struct Feed {
    seq: u64,
    t: u64,
}

impl Feed {
    fn send(&mut self, app: &mut App, kind: EventKind) {
        self.seq += 1;
        self.t += 1000;
        app::update(
            app,
            Msg::Engine(Event {
                seq: self.seq,
                t_us: self.t,
                kind,
            }),
        );
    }
}

fn mid_step(app: &mut App) {
    let owner = Owner::Program {
        name: "python3".into(),
        pid: 4711,
    };
    let mut f = Feed { seq: 0, t: 0 };
    f.send(
        app,
        EventKind::Program {
            pid: 4711,
            note: ProgramNote::Started {
                name: "python3".into(),
                argv: vec!["python3".into(), "echo_server.py".into(), "9000".into()],
                parent: None,
                exec: false,
            },
        },
    );
    let calls: [(&str, String, Option<Ret>); 3] = [
        (
            "socket",
            "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC)".into(),
            None,
        ),
        (
            "bind",
            "bind(fd 3, ('127.0.0.1', 9000))".into(),
            Some(Ret::None),
        ),
        ("listen", "listen(fd 3, 5)".into(), Some(Ret::None)),
    ];
    let sock: SockId = 1;
    for (i, (method, text, ret)) in calls.into_iter().enumerate() {
        f.send(
            app,
            EventKind::Program {
                pid: 4711,
                note: ProgramNote::AboutToCall {
                    owner: owner.clone(),
                    method: method.into(),
                    text: text.clone(),
                },
            },
        );
        f.send(
            app,
            EventKind::Program {
                pid: 4711,
                note: ProgramNote::Resumed,
            },
        );
        let call = i as CallId + 1;
        f.send(
            app,
            EventKind::CallStarted {
                call,
                sock: if i == 0 { None } else { Some(sock) },
                owner: owner.clone(),
                method: method.into(),
                text,
            },
        );
        if i == 0 {
            f.send(
                app,
                EventKind::SocketCreated {
                    sock,
                    no: sock,
                    owner: owner.clone(),
                    family: Family::V4,
                    ty: SockType::Stream,
                    fd: 3,
                },
            );
            f.send(
                app,
                EventKind::SocketLabel {
                    sock,
                    label: "fd 3".into(),
                },
            );
        }
        if i == 1 {
            f.send(
                app,
                EventKind::LabState {
                    sock,
                    from: LabState::Created,
                    to: LabState::Bound,
                },
            );
            f.send(
                app,
                EventKind::Endpoints {
                    sock,
                    local: Some("127.0.0.1:9000".parse().expect("addr")),
                    peer: None,
                },
            );
        }
        if i == 2 {
            f.send(
                app,
                EventKind::LabState {
                    sock,
                    from: LabState::Bound,
                    to: LabState::Listening,
                },
            );
            f.send(
                app,
                EventKind::KernelState {
                    sock,
                    from: Some(TcpState::Close),
                    to: Some(TcpState::Listen),
                },
            );
        }
        f.send(
            app,
            EventKind::CallDone {
                call,
                sock: Some(sock),
                ret: ret.unwrap_or(Ret::Socket(sock)),
            },
        );
    }
    f.send(
        app,
        EventKind::Program {
            pid: 4711,
            note: ProgramNote::Output {
                stream: Stream::Stdout,
                text: "listening on 127.0.0.1:9000\n".into(),
            },
        },
    );
    f.send(
        app,
        EventKind::Program {
            pid: 4711,
            note: ProgramNote::AboutToCall {
                owner,
                method: "accept4".into(),
                text: "accept4(fd 3)".into(),
            },
        },
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_mid_step_80x24() {
    let (mut app, _events) = app();
    mid_step(&mut app);
    let s = screen(&mut app, 80, 24);
    // What a student must read is whole: the call it is stopped before, the keys.
    assert!(
        s.contains("python3[4711] is about to call accept4(fd 3)"),
        "{s}"
    );
    assert!(
        s.contains("F5 run it") && s.contains("F6 go on") && s.contains("F7 until"),
        "{s}"
    );
    assert!(
        s.contains("python3[4711] stdout: listening on 127.0.0.1:9000"),
        "{s}"
    );
    insta::assert_snapshot!("trace_mid_step_80x24", mask(&s));
    app.session.engine().shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_mid_step_200x60() {
    let (mut app, _events) = app();
    mid_step(&mut app);
    let s = screen(&mut app, 200, 60);
    assert!(
        s.contains("python3[4711] is about to call accept4(fd 3)"),
        "{s}"
    );
    insta::assert_snapshot!("trace_mid_step_200x60", mask(&s));
    app.session.engine().shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helpers_exec_chain_is_one_line_in_the_events_pane() {
    let (mut app, mut events) = app();
    // sh forks /bin/true (no socket call), then execs sh, which execs python3
    // (itself maybe a pyenv shim: more execs).
    enter_line(
        &mut app,
        r#":trace sh -c "/bin/true; exec sh -c 'exec python3 -c \"import socket; socket.socket().close()\"'""#,
    );
    assert!(said(&app, "tracing sh["), "{:?}", app.output);
    pump(&mut app, &mut events, "the program's exit", |a| {
        said(a, "exited with status 0")
    })
    .await;
    let lines = events_text(&app);
    let runs: Vec<&String> = lines.iter().filter(|l| l.contains(" runs ")).collect();
    assert_eq!(runs.len(), 1, "{lines:#?}");
    assert!(
        runs[0].contains("python3[") && runs[0].contains("import socket"),
        "{lines:#?}"
    );
    let at = |t: &str| lines.iter().position(|l| l.contains(t));
    assert!(at(" runs ") < at("socket(AF_INET"), "{lines:#?}");
    // The forked `true` leaves no line: every program line names the one pid.
    let root = app.session.traces().roots()[0];
    assert!(
        lines
            .iter()
            .filter(|l| l.contains("started") || l.contains("exited"))
            .all(|l| l.contains(&format!("[{root}]"))),
        "{lines:#?}"
    );
    app.session.engine().shutdown();
}
