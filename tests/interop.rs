//! The lab against programs not written in Rust (python3), and its kernel
//! states against `ss`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;
use socklab::engine::*;

#[tokio::test]
async fn python_client_against_lab_server() {
    let mut lab = Lab::new();
    let (srv, port) = lab.server(5).await;
    let script = format!(
        "import socket\n\
         s = socket.create_connection(('127.0.0.1', {port}))\n\
         s.sendall(b'from python\\n')\n\
         print(s.recv(100).decode().strip(), flush=True)\n\
         s.close()\n"
    );
    let child = Command::new("python3")
        .args(["-c", &script])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let Ret::Accepted(conn, from) = lab.ok(Op::Accept { sock: srv }).await else {
        panic!()
    };
    assert!(from.ip().is_loopback());
    let mut got = Vec::new();
    while !got.ends_with(b"\n") {
        got.extend(as_bytes(lab.ok(recv_op(conn, 100)).await));
    }
    assert_eq!(got, b"from python\n");
    lab.ok(sendall_op(conn, b"from the lab\n")).await;
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "from the lab");
    assert_eq!(
        as_bytes(lab.ok(recv_op(conn, 100)).await),
        b"",
        "python closed: EOF"
    );
}

#[tokio::test]
async fn lab_client_against_python_server() {
    let mut lab = Lab::new();
    let script = "import socket\n\
         srv = socket.socket()\n\
         srv.bind(('127.0.0.1', 0))\n\
         srv.listen(1)\n\
         print(srv.getsockname()[1], flush=True)\n\
         c, _ = srv.accept()\n\
         data = c.recv(100)\n\
         c.sendall(data.upper())\n\
         c.close()\n";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().parse().unwrap();
    let cli = lab.tcp().await;
    lab.ok(Op::Connect {
        sock: cli,
        addr: addr("127.0.0.1", port),
    })
    .await;
    lab.ok(sendall_op(cli, b"shout \x00\xff")).await;
    let mut got = Vec::new();
    loop {
        let chunk = as_bytes(lab.ok(recv_op(cli, 100)).await);
        if chunk.is_empty() {
            break;
        }
        got.extend(chunk);
    }
    assert_eq!(got, b"SHOUT \x00\xff");
    assert!(child.wait().unwrap().success());
}

/// `ss -tanH` rows: (state, local, peer).
fn ss_rows() -> Vec<(String, String, String)> {
    let out = Command::new("ss")
        .args(["-tanH"])
        .output()
        .expect("ss runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 5).then(|| (f[0].to_string(), f[3].to_string(), f[4].to_string()))
        })
        .collect()
}

fn ss_name(s: TcpState) -> &'static str {
    match s {
        TcpState::Established => "ESTAB",
        TcpState::Listen => "LISTEN",
        TcpState::FinWait1 => "FIN-WAIT-1",
        TcpState::FinWait2 => "FIN-WAIT-2",
        TcpState::CloseWait => "CLOSE-WAIT",
        TcpState::TimeWait => "TIME-WAIT",
        TcpState::LastAck => "LAST-ACK",
        TcpState::SynSent => "SYN-SENT",
        TcpState::SynRecv => "SYN-RECV",
        TcpState::Closing => "CLOSING",
        TcpState::Close | TcpState::NewSynRecv => "UNCONN",
    }
}

#[tokio::test]
async fn kernel_states_agree_with_ss() {
    let mut lab = Lab::new();
    // ESTABLISHED pair, a half-closed pair, and a closed connection in TIME_WAIT.
    let (_srv, _a, _b, _) = lab.pair().await;
    let (_srv2, c, d, _) = lab.pair().await;
    lab.ok(Op::Shutdown { sock: c, how: 1 }).await;
    let (_srv3, e, f, _) = lab.pair().await;
    lab.ok(Op::Close { sock: e }).await;
    lab.ok(Op::Close { sock: f }).await;
    lab.wait_model("states settle", |m| {
        m.sock(c).unwrap().kernel == Some(TcpState::FinWait2)
            && m.sock(d).unwrap().kernel == Some(TcpState::CloseWait)
            && m.orphans
                .values()
                .any(|o| o.origin == Some(e) && o.state == TcpState::TimeWait)
    })
    .await;
    let rows = ss_rows();
    let mut compared = 0;
    for r in lab.model.live() {
        let (Some(state), Some(local)) = (r.kernel, r.local) else {
            continue;
        };
        let peer = r
            .peer
            .map(|p| p.to_string())
            .unwrap_or_else(|| "0.0.0.0:*".into());
        let row = rows
            .iter()
            .find(|(_, l, p)| *l == local.to_string() && (*p == peer || r.peer.is_none()))
            .unwrap_or_else(|| panic!("ss has no row for {local} {peer}: {rows:?}"));
        assert_eq!(row.0, ss_name(state), "{} {local} {peer}", r.name());
        compared += 1;
    }
    for o in lab.model.orphans.values() {
        let row = rows
            .iter()
            .find(|(_, l, p)| *l == o.tuple.local.to_string() && *p == o.tuple.remote.to_string())
            .unwrap_or_else(|| panic!("ss has no row for orphan {:?}", o.tuple));
        assert_eq!(row.0, ss_name(o.state));
        compared += 1;
    }
    assert!(compared >= 8, "compared {compared} sockets");
}
