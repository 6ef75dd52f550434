//! Session over real loopback sockets: typed lines in, engine events fed back
//! through `on_event`, Python-style outcomes out.

use std::time::Duration;

use socklab::engine::{CallId, Engine, EngineConfig, Events, LabState, free_port};
use socklab::session::{Outcome, Session, Submitted};

struct Lab {
    sn: Session,
    rx: Events,
    /// Outcomes of other calls that arrived while waiting for one.
    early: Vec<Outcome>,
}

impl Lab {
    fn new() -> Lab {
        let (engine, rx) = Engine::start(EngineConfig::default());
        Lab {
            sn: Session::new(engine),
            rx,
            early: Vec::new(),
        }
    }

    /// Start a line that makes a socket call.
    fn start(&mut self, line: &str) -> CallId {
        match self.sn.submit(line) {
            Submitted::Started { call, .. } => call,
            other => panic!("{line}: expected a call, got {other:?}"),
        }
    }

    /// Feed events until the call's outcome arrives (5 s at most).
    async fn wait(&mut self, call: CallId) -> Outcome {
        if let Some(i) = self.early.iter().position(|o| o.call == call) {
            return self.early.remove(i);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let ev = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "call {call} did not finish; pending {:?}",
                        self.sn.pending()
                    )
                })
                .expect("engine stopped");
            if let Some(o) = self.sn.on_event(&ev) {
                if o.call == call {
                    return o;
                }
                self.early.push(o);
            }
        }
    }

    /// Run a line to completion; Ok(echo) or Err(error).
    async fn run(&mut self, line: &str) -> Result<String, String> {
        match self.sn.submit(line) {
            Submitted::Started { call, .. } => {
                let o = self.wait(call).await;
                if o.ok {
                    Ok(o.echo.unwrap_or_default())
                } else {
                    Err(o.error.unwrap_or_default())
                }
            }
            Submitted::Echo(e) => Ok(e),
            Submitted::Nothing => Ok(String::new()),
            Submitted::Error(e) => Err(e),
            other => panic!("{line}: {other:?}"),
        }
    }

    async fn ok(&mut self, line: &str) -> String {
        self.run(line)
            .await
            .unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    /// Let pending events reach the model.
    async fn settle(&mut self) {
        while let Ok(Some(ev)) =
            tokio::time::timeout(Duration::from_millis(50), self.rx.recv()).await
        {
            if let Some(o) = self.sn.on_event(&ev) {
                self.early.push(o);
            }
        }
    }
}

#[tokio::test]
async fn tcp_round_trip_through_the_session() {
    let mut lab = Lab::new();
    let echo = lab.ok("srv = socket(AF_INET, SOCK_STREAM)").await;
    assert!(echo.starts_with("srv = <socket fd="), "{echo}");
    lab.ok("srv.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)").await;
    assert_eq!(lab.ok("srv.bind(('127.0.0.1', 0))").await, "");
    assert_eq!(lab.ok("srv.listen(5)").await, "");
    let port_echo = lab.ok("port = srv.getsockname()[1]").await;
    let port: u16 = port_echo.strip_prefix("port = ").unwrap().parse().unwrap();

    // accept waits; the client connects from another "thread".
    let accept = lab.start("conn, addr = srv.accept()");
    lab.ok("cli = socket()").await;
    assert_eq!(lab.ok("cli.connect(('127.0.0.1', port))").await, "");
    let out = lab.wait(accept).await;
    assert!(out.ok, "{out:?}");
    let echo = out.echo.unwrap();
    assert!(
        echo.starts_with("conn = <socket fd=")
            && echo.contains(&format!("127.0.0.1:{port} ⇄ 127.0.0.1:")),
        "{echo}"
    );
    assert!(echo.contains(", addr = ('127.0.0.1', "), "{echo}");

    assert_eq!(lab.ok("cli.sendall(b'hello\\n')").await, "");
    assert_eq!(lab.ok("conn.recv(1024)").await, "b'hello\\n'");
    assert_eq!(lab.ok("n = conn.send(b'hi')").await, "n = 2");
    assert_eq!(lab.ok("cli.recv(1024).decode()").await, "'hi'");
    assert_eq!(lab.ok("cli.shutdown(SHUT_WR)").await, "");
    assert_eq!(lab.ok("conn.recv(1024)").await, "b''");
    lab.ok("conn.close()").await;
    lab.ok("cli.close()").await;
    lab.settle().await;

    let model = lab.sn.model();
    for name in ["srv", "cli", "conn"] {
        assert!(model.by_label(name).is_some(), "no socket labelled {name}");
    }
    assert_eq!(model.by_label("conn").unwrap().lab, LabState::Closed);
    let code = lab.sn.code();
    assert_eq!(code[0], "from socket import *");
    assert!(
        code.contains(&"conn, addr = srv.accept()".to_string()),
        "{code:?}"
    );
    assert!(
        code.contains(&"cli.connect(('127.0.0.1', port))".to_string()),
        "{code:?}"
    );
}

#[tokio::test]
async fn errors_come_back_python_style() {
    let mut lab = Lab::new();
    let port = free_port().unwrap();
    lab.ok("cli = socket()").await;
    let e = lab
        .run(&format!("cli.connect(('127.0.0.1', {port}))"))
        .await
        .unwrap_err();
    assert!(
        e.starts_with("ConnectionRefusedError: [Errno 111] Connection refused"),
        "{e}"
    );
    assert!(!lab.sn.code().iter().any(|l| l.contains("connect")));

    lab.ok("s = socket()").await;
    lab.ok("s.settimeout(0.2)").await;
    assert_eq!(lab.ok("s.gettimeout()").await, "0.2");
    lab.ok("s.bind(('127.0.0.1', 0))").await;
    lab.ok("s.listen()").await;
    let e = lab.run("s.accept()").await.unwrap_err();
    assert!(e.starts_with("TimeoutError"), "{e}");
}

#[tokio::test]
async fn ctrl_c_cancels_the_newest_waiting_call() {
    let mut lab = Lab::new();
    lab.ok("srv = socket()").await;
    lab.ok("srv.bind(('127.0.0.1', 0))").await;
    lab.ok("srv.listen()").await;
    let call = lab.start("conn, addr = srv.accept()");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(lab.sn.pending().len(), 1);
    assert!(matches!(lab.sn.submit("srv.close()"), Submitted::Error(_)));
    assert!(lab.sn.cancel_latest());
    let out = lab.wait(call).await;
    assert!(!out.ok);
    assert!(out.error.unwrap().starts_with("KeyboardInterrupt"));
    assert!(lab.sn.pending().is_empty());
    assert!(lab.sn.vars().get("conn").is_none());
    // The socket is still there and usable.
    assert!(
        lab.ok("srv.getsockname()")
            .await
            .starts_with("('127.0.0.1', ")
    );
}

#[tokio::test]
async fn udp_send_pane_and_select() {
    let mut lab = Lab::new();
    lab.ok("a = socket(AF_INET, SOCK_DGRAM)").await;
    lab.ok("a.bind(('127.0.0.1', 0))").await;
    let addr = lab.ok("a.getsockname()").await;
    lab.ok("b = socket(AF_INET, SOCK_DGRAM)").await;
    lab.ok(&format!("b.sendto(b'ping', {addr})")).await;
    let r = lab.ok("r, w, x = select([a], [], [], 2.0)").await;
    assert!(r.starts_with("r = [<socket fd="), "{r}");
    let got = lab.ok("a.recvfrom(100)").await;
    assert!(got.starts_with("(b'ping', ('127.0.0.1', "), "{got}");

    // The send pane writes to a connected socket like a typed sendall.
    lab.ok("b.connect(a.getsockname())").await;
    assert_eq!(lab.ok("b.getpeername() == a.getsockname()").await, "True");
    let b_id = match lab.sn.vars().get("b") {
        Some(socklab::lang::Value::Socket(id)) => *id,
        other => panic!("{other:?}"),
    };
    match lab.sn.send_text(b_id, "LED ON\\r", true) {
        Submitted::Started { call, text } => {
            assert_eq!(text, "b.sendall(b'LED ON\\r\\n')");
            assert!(lab.wait(call).await.ok);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(lab.ok("a.recv(100)").await, "b'LED ON\\r\\n'");
}

#[tokio::test]
async fn peers_are_started_listed_and_stopped_from_the_prompt() {
    let mut lab = Lab::new();
    let started = lab.ok(":peer echo 127.0.0.1:{port} name=e").await;
    let port = &lab.sn.placeholders()["port"];
    assert_eq!(
        started,
        format!("peer e (echo) listening on 127.0.0.1:{port}")
    );
    assert_eq!(lab.sn.completions(":stop ", 6), vec!["e"]);
    let listed = lab.ok(":peers").await;
    assert!(listed.starts_with("e  echo  127.0.0.1:"), "{listed}");
    lab.ok("c = socket()").await;
    lab.ok("c.connect(('{host}', {port}))").await;
    lab.ok("c.sendall('hé\\n'.encode())").await;
    // Echoed bytes may come back in pieces; read until all 4 are here.
    lab.ok("data = c.recv(100)").await;
    while lab.ok("len(data)").await != "4" {
        lab.ok("data += c.recv(100)").await;
    }
    assert_eq!(lab.ok("data").await, r"b'h\xc3\xa9\n'");
    assert_eq!(lab.ok("data.decode()").await, r"'hé\n'");
    assert_eq!(lab.ok(":stop e").await, "stopped peer e");
    assert_eq!(lab.ok(":peers").await, "no peers running");
    let e = lab.run(":stop e").await.unwrap_err();
    assert_eq!(e, "LabError: no peer named 'e'");
}

/// The Code pane's program is real Python: run it with python3 against a
/// peer the session started, and it does what the session did.
#[tokio::test]
async fn exported_code_runs_under_python() {
    let Ok(status) = std::process::Command::new("python3")
        .arg("--version")
        .output()
    else {
        panic!("python3 is needed for this test (it checks the exported code)");
    };
    assert!(status.status.success());
    let mut lab = Lab::new();
    lab.ok(":peer upper 127.0.0.1:{port} name=up").await;
    for line in [
        "import socket",
        "c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
        "c.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)",
        "c.connect(('{host}', {port}))  # the peer",
        "msg = 'hé, ' + str(len(b'abc')) + '\\n'",
        "c.sendall(msg.encode('utf-8'))",
        "data = b''",
        "data += c.recv(100)",
    ] {
        lab.ok(line).await;
    }
    while lab.ok("len(data)").await != "7" {
        lab.ok("data += c.recv(100)").await;
    }
    lab.ok("print(data.decode(), end='')").await;
    lab.ok("r, w, x = select([c], [c], [], 1.0)").await;
    lab.ok("print(len(r), len(w))").await;
    lab.ok("c.close()").await;

    let code = lab.sn.code().join("\n") + "\n";
    assert!(
        !code.contains("{port}") && !code.contains("socket.AF_INET"),
        "{code}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.py");
    std::fs::write(&path, &code).unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::process::Command::new("python3").arg(&path).output(),
    )
    .await
    .expect("python3 timed out")
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{code}\n{stderr}");
    // The session printed the same line the script prints (the peer upper-cases it).
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hé, 3\n0 1\n",
        "{code}"
    );
}

#[tokio::test]
async fn a_line_makes_several_calls_in_pythons_order() {
    let mut lab = Lab::new();
    lab.ok("srv = socket()").await;
    lab.ok("srv.bind(('127.0.0.1', 0))").await;
    lab.ok("srv.listen()").await;
    lab.ok("cli = socket()").await;
    // connect's argument is another call: getsockname runs first.
    lab.ok("cli.connect(srv.getsockname())").await;
    lab.ok("conn, addr = srv.accept()").await;
    assert_eq!(
        lab.ok("conn.getpeername() == cli.getsockname()").await,
        "True"
    );
    // The echo a student types first: pending while recv waits.
    let echo = lab.start("conn.sendall(conn.recv(1024))");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(lab.sn.pending().len(), 1, "the line waits in recv");
    lab.ok("cli.sendall(b'ping')").await;
    let out = lab.wait(echo).await;
    assert!(out.ok, "{out:?}");
    assert_eq!(lab.ok("cli.recv(1024) == b'ping'").await, "True");
    assert!(
        lab.sn
            .code()
            .contains(&"conn.sendall(conn.recv(1024))".to_string())
    );
    // Ctrl-C cancels the line, whichever of its calls it waits in.
    let line = lab.start("x = conn.recv(10) + conn.recv(10)");
    tokio::time::sleep(Duration::from_millis(50)).await;
    lab.ok("cli.sendall(b'a')").await;
    lab.settle().await;
    assert_eq!(lab.sn.pending().len(), 1, "waits in the second recv");
    assert!(lab.sn.cancel_latest());
    let out = lab.wait(line).await;
    assert!(out.error.unwrap().starts_with("KeyboardInterrupt"));
    assert!(lab.sn.pending().is_empty());
    assert!(lab.sn.vars().get("x").is_none());
}

#[tokio::test]
async fn indented_lines_under_a_refused_block_are_an_indentation_error() {
    let mut lab = Lab::new();
    lab.ok("s = socket()").await;
    let e = lab.run("while True:").await.unwrap_err();
    assert!(e.contains("SyntaxError"), "{e}");
    for line in ["    s.close()", "\ts.bind(('127.0.0.1', 0))"] {
        let e = lab.run(line).await.unwrap_err();
        assert!(
            e.lines()
                .last()
                .unwrap()
                .starts_with("IndentationError: unexpected indent"),
            "{e}"
        );
    }
    // Nothing under the block ran: s is still open and unbound.
    assert_eq!(lab.ok("s.getsockname()").await, "('0.0.0.0', 0)");
    // A line back at the left margin ends the block.
    assert_eq!(lab.ok("x = 1").await, "x = 1");
}
