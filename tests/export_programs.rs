//! `:export py` and `:export c`: the session written as a program, run
//! against the same built-in peer the session talked to. The C program is
//! compiled with `cc -Wall -Werror`; both must print the bytes the peer sent.

use std::path::Path;
use std::time::Duration;

use socklab::engine::{CallId, Engine, EngineConfig, Events};
use socklab::session::{Outcome, Session, Submitted};

struct Lab {
    sn: Session,
    rx: Events,
}

impl Lab {
    fn new() -> Lab {
        let (engine, rx) = Engine::start(EngineConfig::default());
        Lab {
            sn: Session::new(engine),
            rx,
        }
    }

    async fn wait(&mut self, call: CallId) -> Outcome {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let ev = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .expect("call did not finish")
                .expect("engine stopped");
            if let Some(o) = self.sn.on_event(&ev)
                && o.call == call
            {
                return o;
            }
        }
    }

    async fn ok(&mut self, line: &str) -> String {
        match self.sn.submit(line) {
            Submitted::Started { call, .. } => {
                let o = self.wait(call).await;
                assert!(o.ok, "{line}: {o:?}");
                o.echo.unwrap_or_default()
            }
            Submitted::Echo(e) => e,
            Submitted::Nothing => String::new(),
            other => panic!("{line}: {other:?}"),
        }
    }
}

async fn run(cmd: &mut tokio::process::Command, what: &str) -> Vec<u8> {
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{what} timed out"))
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Export the session both ways; run the Python and the compiled C.
async fn both(lab: &mut Lab, dir: &Path) -> (Vec<u8>, Vec<u8>, String) {
    let py = dir.join("prog.py");
    let c = dir.join("prog.c");
    let exe = dir.join("prog");
    let said = lab.ok(&format!(":export py {}", py.display())).await;
    assert!(said.starts_with("wrote "), "{said}");
    lab.ok(&format!(":export c {}", c.display())).await;
    let source = std::fs::read_to_string(&c).unwrap();
    let py_out = run(tokio::process::Command::new("python3").arg(&py), "python3").await;
    run(
        tokio::process::Command::new("cc")
            .args(["-Wall", "-Werror", "-o"])
            .arg(&exe)
            .arg(&c),
        &format!("cc -Wall -Werror\n{source}"),
    )
    .await;
    let c_out = run(&mut tokio::process::Command::new(&exe), "the C program").await;
    (py_out, c_out, source)
}

#[tokio::test]
async fn tcp_client_exports_run_against_the_peer() {
    let mut lab = Lab::new();
    lab.ok(":peer upper {host}:{port}").await;
    for line in [
        "c = socket(AF_INET, SOCK_STREAM)",
        "c.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)",
        "c.connect(('{host}', {port}))",
        "c.getpeername() == ('{host}', {port})",
        "c.sendall(b'hello, \"peer\" \\x01?\\n')",
        "data = c.recv(100)",
        "print(data.decode(), end='')",
        "c.shutdown(SHUT_WR)",
        "print(c.recv(100).decode(), end='')",
        "c.close()",
    ] {
        lab.ok(line).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let (py, c, source) = both(&mut lab, dir.path()).await;
    assert_eq!(py, b"HELLO, \"PEER\" \x01?\n", "python");
    assert_eq!(c, py, "the C program printed other bytes:\n{source}");
    // What Beej's guide would write.
    for want in [
        "#include <sys/socket.h>",
        "getaddrinfo(",
        "c = socket(AF_INET, SOCK_STREAM, 0);",
        "setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &optval, sizeof optval)",
        "connect(c, ",
        "sendall(c, ",
        "n = recv(c, buf, 100, 0);",
        "perror(\"recv\");",
        "shutdown(c, SHUT_WR)",
        "close(c)",
        "/* c.connect(",
    ] {
        assert!(source.contains(want), "no {want:?} in\n{source}");
    }
}

#[tokio::test]
async fn an_echo_line_and_udp_export_too() {
    let mut lab = Lab::new();
    lab.ok(":peer echo {host}:{port}").await;
    lab.ok(":peer udpecho {host}:{port2}").await;
    for line in [
        "c = socket()",
        "c.connect(('{host}', {port}))",
        "c.sendall(b'one')",
        // Two calls in one line: what came back goes out again.
        "c.sendall(c.recv(3))",
        "print(c.recv(3), end='')",
        "c.close()",
        "u = socket(AF_INET, SOCK_DGRAM)",
        "u.sendto(b'dgram', ('{host}', {port2}))",
        "print(u.recvfrom(100)[0], end='')",
        "u.close()",
    ] {
        lab.ok(line).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let (py, c, source) = both(&mut lab, dir.path()).await;
    assert_eq!(py, b"b'one'b'dgram'");
    // C writes the raw bytes of every recv: one (echoed), one again, dgram.
    assert_eq!(c, b"oneonedgram", "{source}");
    assert!(source.contains("sendall(c, buf, n, 0)"), "{source}");
    assert!(source.contains("sendto(u, "), "{source}");
    assert!(source.contains("recvfrom(u, buf, 100, 0"), "{source}");
}

#[tokio::test]
async fn export_refuses_what_it_cannot_write() {
    let mut lab = Lab::new();
    for (args, want) in [
        ("", "usage: :export FORMAT FILE"),
        ("py", "usage: :export FORMAT FILE"),
        ("pyy /tmp/x", "did you mean py?"),
        (
            "py /nonexistent-dir/x.py",
            "could not write /nonexistent-dir/x.py",
        ),
    ] {
        match lab.sn.submit(&format!(":export {args}")) {
            Submitted::Error(e) => assert!(e.contains(want), "{args}: {e}"),
            other => panic!("{args}: {other:?}"),
        }
    }
}
