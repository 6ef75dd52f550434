//! Drives a real engine from tests: make calls, wait for their results, and
//! keep the whole event log and folded model for assertions.
#![allow(dead_code)]

use std::time::Duration;

use socklab::engine::*;

pub struct Lab {
    pub engine: Engine,
    pub rx: Events,
    pub log: Vec<Event>,
    pub model: LabModel,
}

pub const WAIT: Duration = Duration::from_secs(20);

impl Lab {
    pub fn new() -> Lab {
        Lab::with(EngineConfig::default())
    }

    /// A lab with other limits.
    pub fn with(cfg: EngineConfig) -> Lab {
        let (engine, rx) = Engine::start(cfg);
        Lab {
            engine,
            rx,
            log: Vec::new(),
            model: LabModel::new(),
        }
    }

    fn take(&mut self, ev: Event) {
        self.model.apply(&ev);
        self.log.push(ev);
    }

    /// Apply every event that has already arrived.
    pub fn drain(&mut self) {
        while let Ok(ev) = self.rx.try_recv() {
            self.take(ev);
        }
    }

    /// Wait for the next event.
    pub async fn next(&mut self, what: &str) {
        match tokio::time::timeout(WAIT, self.rx.recv()).await {
            Ok(Some(ev)) => self.take(ev),
            _ => panic!("timed out waiting for {what}; log:\n{}", self.dump()),
        }
    }

    /// Wait until an event satisfies `f` (checking the log from `from`).
    pub async fn wait_for(&mut self, what: &str, f: impl Fn(&Event) -> bool) -> Event {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut i = 0;
        loop {
            while i < self.log.len() {
                if f(&self.log[i]) {
                    return self.log[i].clone();
                }
                i += 1;
            }
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(ev)) => self.take(ev),
                _ => panic!("timed out waiting for {what}; log:\n{}", self.dump()),
            }
        }
    }

    /// Wait until the folded model satisfies `f`.
    pub async fn wait_model(&mut self, what: &str, f: impl Fn(&LabModel) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            self.drain();
            if f(&self.model) {
                return;
            }
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(ev)) => self.take(ev),
                _ => panic!("timed out waiting for {what}; log:\n{}", self.dump()),
            }
        }
    }

    pub fn start(&mut self, op: Op) -> CallId {
        self.engine.call(Owner::Student, op)
    }

    pub async fn finish(&mut self, call: CallId) -> Result<Ret, CallError> {
        let ev = self
            .wait_for(&format!("call {call} to finish"), |e| {
                matches!(&e.kind, EventKind::CallDone { call: c, .. } | EventKind::CallFailed { call: c, .. } if *c == call)
            })
            .await;
        match ev.kind {
            EventKind::CallDone { ret, .. } => Ok(ret),
            EventKind::CallFailed { error, .. } => Err(error),
            _ => unreachable!(),
        }
    }

    pub async fn call(&mut self, op: Op) -> Result<Ret, CallError> {
        let id = self.start(op);
        self.finish(id).await
    }

    pub async fn ok(&mut self, op: Op) -> Ret {
        let text = op.method();
        match self.call(op).await {
            Ok(r) => r,
            Err(e) => panic!("{text} failed: {}", e.python()),
        }
    }

    pub async fn err(&mut self, op: Op) -> CallError {
        let text = op.method();
        match self.call(op).await {
            Ok(r) => panic!("{text} should fail, returned {r:?}"),
            Err(e) => e,
        }
    }

    pub async fn tcp(&mut self) -> SockId {
        self.socket(2, 1).await
    }

    pub async fn socket(&mut self, family: i64, ty: i64) -> SockId {
        match self
            .ok(Op::Socket {
                family,
                ty,
                proto: 0,
            })
            .await
        {
            Ret::Socket(s) => s,
            r => panic!("socket() returned {r:?}"),
        }
    }

    /// A listening server on 127.0.0.1 with an OS-chosen port.
    pub async fn server(&mut self, backlog: i64) -> (SockId, u16) {
        let s = self.tcp().await;
        self.bind(s, "127.0.0.1", 0).await;
        self.listen(s, backlog).await;
        (s, self.port_of(s).await)
    }

    pub async fn port_of(&mut self, s: SockId) -> u16 {
        match self.ok(Op::GetSockName { sock: s }).await {
            Ret::Addr(a) => a.port(),
            r => panic!("getsockname returned {r:?}"),
        }
    }

    /// A connected pair: (listener, client, accepted, port).
    pub async fn pair(&mut self) -> (SockId, SockId, SockId, u16) {
        let (srv, port) = self.server(5).await;
        let cli = self.tcp().await;
        self.connect(cli, "127.0.0.1", port).await;
        let conn = self.accept(srv).await;
        (srv, cli, conn, port)
    }

    /// `s.bind((host, port))`, which must succeed.
    pub async fn bind(&mut self, sock: SockId, host: &str, port: u16) {
        self.ok(Op::Bind {
            sock,
            addr: addr(host, port),
        })
        .await;
    }

    /// `s.listen(backlog)`, which must succeed.
    pub async fn listen(&mut self, sock: SockId, backlog: i64) {
        self.ok(Op::Listen {
            sock,
            backlog: Some(backlog),
        })
        .await;
    }

    /// `s.connect((host, port))`, which must succeed.
    pub async fn connect(&mut self, sock: SockId, host: &str, port: u16) {
        self.ok(Op::Connect {
            sock,
            addr: addr(host, port),
        })
        .await;
    }

    /// `conn, _ = s.accept()`, which must succeed.
    pub async fn accept(&mut self, sock: SockId) -> SockId {
        match self.ok(Op::Accept { sock }).await {
            Ret::Accepted(c, _) => c,
            r => panic!("accept returned {r:?}"),
        }
    }

    /// `s.setsockopt(level, opt, value)` with an int, which must succeed.
    pub async fn setopt(&mut self, sock: SockId, level: i64, opt: i64, value: i64) {
        self.ok(Op::SetSockOpt {
            sock,
            level,
            opt,
            value: OptVal::Int(value),
        })
        .await;
    }

    pub fn dump(&self) -> String {
        self.log
            .iter()
            .map(|e| format!("{:>8} {:?}", e.t_us, e.kind))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn kernel_states(&self, sock: SockId) -> Vec<TcpState> {
        self.log
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::KernelState {
                    sock: s,
                    to: Some(t),
                    ..
                } if *s == sock => Some(*t),
                _ => None,
            })
            .collect()
    }
}

pub fn addr(host: &str, port: u16) -> AddrArg {
    AddrArg {
        host: host.to_string(),
        port: port as i64,
    }
}

pub fn bytes(b: &[u8]) -> bytes::Bytes {
    bytes::Bytes::copy_from_slice(b)
}

pub fn recv_op(sock: SockId, n: i64) -> Op {
    Op::Recv {
        sock,
        bufsize: n,
        flags: 0,
    }
}

pub fn send_op(sock: SockId, data: &[u8]) -> Op {
    Op::Send {
        sock,
        data: bytes(data),
        flags: 0,
    }
}

pub fn sendall_op(sock: SockId, data: &[u8]) -> Op {
    Op::SendAll {
        sock,
        data: bytes(data),
        flags: 0,
    }
}

pub fn as_bytes(r: Ret) -> Vec<u8> {
    match r {
        Ret::Bytes(b) => b.to_vec(),
        Ret::Datagram(b, _) => b.to_vec(),
        other => panic!("expected bytes, got {other:?}"),
    }
}

/// `socklab run ARGS… -` with `script` on its standard input.
pub fn run_script(args: &[&str], script: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_socklab"))
        .arg("run")
        .args(args)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}
