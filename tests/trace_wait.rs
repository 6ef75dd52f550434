//! Trace mode on the calls that wait and switch a socket to non-blocking:
//! `fcntl(F_SETFL, O_NONBLOCK)`, `ioctl(FIONBIO)`, `select`, `poll`,
//! `epoll_wait`, in a C program compiled here that reports what each call
//! returned to it; the traced events must say the same.
#![cfg(target_os = "linux")]

mod trace_log;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use socklab::engine::trace::{TraceHandle, TraceSpec};
use socklab::engine::*;

const WAIT: Duration = Duration::from_secs(30);

/// Each call's result goes to stdout as `NAME RET ERRNO`, the way the
/// program saw it. Everything on 127.0.0.1, port 0.
const C_PROGRAM: &str = r#"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

static void say(const char *what, long r) {
    printf("%s %ld %d\n", what, r, r < 0 ? errno : 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 4);
    socklen_t len = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &len);
    printf("fds %d\n", l);

    int c = socket(AF_INET, SOCK_STREAM, 0);
    int fl = fcntl(c, F_GETFL);
    say("fcntl", fcntl(c, F_SETFL, fl | O_NONBLOCK));
    say("connect", connect(c, (struct sockaddr *)&a, sizeof a));

    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(l, &rs);
    struct timeval tv = {10, 0};
    say("select", select(l + 1, &rs, NULL, NULL, &tv));
    int s = accept(l, NULL, NULL);
    printf("fds %d %d\n", c, s);

    struct pollfd p = {c, POLLOUT, 0};
    say("poll", poll(&p, 1, 10000));

    int one = 1;
    say("ioctl", ioctl(s, FIONBIO, &one));

    int ep = epoll_create1(0);
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.fd = c;
    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
    printf("fds %d\n", ep);
    say("send", send(s, "hello", 5, 0));
    struct epoll_event got;
    say("epoll_wait", epoll_wait(ep, &got, 1, 10000));
    char buf[16];
    say("recv", recv(c, buf, sizeof buf, 0));
    say("recv", recv(c, buf, sizeof buf, 0));
    close(ep);
    close(s);
    close(c);
    close(l);
    return 0;
}
"#;

struct Run {
    log: Vec<Event>,
    pid: u32,
}

impl Run {
    /// The traced calls, in order: (call id, method, text).
    fn calls(&self) -> Vec<(u64, String, String)> {
        trace_log::calls_of(&self.log, self.pid)
    }

    /// What the call returned: the value, or -1 and the errno.
    fn ret(&self, call: u64) -> (i64, i32) {
        self.log
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::CallDone { call: c, ret, .. } if *c == call => Some(match ret {
                    Ret::Int(n) => (*n, 0),
                    Ret::Bytes(b) => (b.len() as i64, 0),
                    other => panic!("call {call} returned {other:?}"),
                }),
                EventKind::CallFailed { call: c, error, .. } if *c == call => {
                    Some((-1, error.errno.expect("an errno")))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("call {call} has no result\n{}", self.dump()))
    }

    fn output(&self) -> String {
        trace_log::output_of(&self.log, self.pid)
    }

    fn dump(&self) -> String {
        trace_log::dump(&self.log)
    }
}

/// Trace `argv` to its end and its last event.
async fn run(argv: &[&str]) -> Run {
    let (engine, mut rx) = Engine::start(EngineConfig::default());
    let h = TraceHandle::start(&engine, TraceSpec::new(argv.iter().copied())).expect("starts");
    let pid = h.pid();
    let mut log = Vec::new();
    let end = Instant::now() + WAIT;
    while !h.finished() {
        match tokio::time::timeout(Duration::from_millis(50), rx.recv()).await {
            Ok(Some(ev)) => log.push(ev),
            Ok(None) => break,
            Err(_) => assert!(Instant::now() < end, "the program did not end"),
        }
    }
    while let Ok(ev) = rx.try_recv() {
        log.push(ev);
    }
    engine.shutdown();
    Run { log, pid }
}

fn compile(src: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let (c, bin) = (dir.join("p.c"), dir.join("p"));
    std::fs::write(&c, src).unwrap();
    let st = std::process::Command::new("cc")
        .arg("-o")
        .arg(&bin)
        .arg(&c)
        .status()
        .expect("cc runs");
    assert!(st.success(), "the C program compiles");
    bin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonblocking_select_poll_epoll_are_traced_as_the_program_saw_them() {
    let dir = tempfile::tempdir().unwrap();
    let bin = compile(C_PROGRAM, dir.path());
    let r = run(&[bin.to_str().unwrap()]).await;
    let out = r.output();
    assert!(r.log.iter().any(|e| matches!(&e.kind,
        EventKind::Program { pid, note: ProgramNote::Exited { code: Some(0), .. } } if *pid == r.pid)),
        "the program exits with 0\n{}", r.dump());

    // The program's own account: its descriptors and each call's result.
    let mut fds: Vec<i32> = Vec::new();
    let mut said: Vec<(String, i64, i32)> = Vec::new();
    for line in out.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w[0] == "fds" {
            fds.extend(w[1..].iter().map(|f| f.parse::<i32>().unwrap()));
        } else {
            said.push((w[0].into(), w[1].parse().unwrap(), w[2].parse().unwrap()));
        }
    }
    let [l, c, s, ep] = fds[..] else {
        panic!("descriptors from the program: {out}")
    };

    let calls = r.calls();
    let by_name = |names: &[&str]| -> Vec<(u64, String, String)> {
        calls
            .iter()
            .filter(|c| names.contains(&c.1.as_str()))
            .cloned()
            .collect()
    };
    // Every call of the program's account is traced, in its order, with
    // the same result (libc may use the newer call: pselect6, ppoll, epoll_pwait).
    let names: HashMap<&str, &[&str]> = [
        ("fcntl", &["fcntl"][..]),
        ("connect", &["connect"][..]),
        ("select", &["select", "pselect6"][..]),
        ("poll", &["poll", "ppoll"][..]),
        ("ioctl", &["ioctl"][..]),
        ("send", &["sendto"][..]),
        ("epoll_wait", &["epoll_wait", "epoll_pwait"][..]),
        ("recv", &["recvfrom"][..]),
    ]
    .into_iter()
    .collect();
    let traced: Vec<&(u64, String, String)> = calls
        .iter()
        .filter(|c| names.values().any(|n| n.contains(&c.1.as_str())))
        .collect();
    assert_eq!(traced.len(), said.len(), "{calls:#?}\nprogram said:\n{out}");
    for (t, (name, ret, errno)) in traced.iter().zip(&said) {
        assert!(
            names[name.as_str()].contains(&t.1.as_str()),
            "{name} traced as {}",
            t.1
        );
        assert_eq!(
            r.ret(t.0),
            (*ret, *errno),
            "{} returned what the program saw",
            t.2
        );
    }

    // The words: descriptors, the non-blocking switch, the sets waited on.
    let fcntl = by_name(&["fcntl"]);
    assert_eq!(fcntl.len(), 1, "F_GETFL is not shown: {fcntl:?}");
    assert_eq!(fcntl[0].2, format!("fcntl(fd {c}, F_SETFL, O_NONBLOCK)"));
    assert_eq!(
        by_name(&["ioctl"])[0].2,
        format!("ioctl(fd {s}, FIONBIO, non-blocking)")
    );
    // A non-blocking connect on loopback either finished at once or is in progress.
    let connect = &by_name(&["connect"])[0];
    assert!(
        matches!(r.ret(connect.0), (0, 0) | (-1, libc::EINPROGRESS)),
        "{connect:?}"
    );
    let select = &by_name(&["select", "pselect6"])[0];
    assert_eq!(select.2, format!("{}([fd {l}], [], [])", select.1));
    assert_eq!(r.ret(select.0), (1, 0));
    let poll = &by_name(&["poll", "ppoll"])[0];
    assert!(
        poll.2.starts_with(&format!("{}([fd {c} POLLOUT]", poll.1)),
        "{poll:?}"
    );
    assert_eq!(r.ret(poll.0), (1, 0));
    let ew = &by_name(&["epoll_wait", "epoll_pwait"])[0];
    assert!(ew.2.starts_with(&format!("{}(fd {ep}, 1", ew.1)), "{ew:?}");
    assert_eq!(r.ret(ew.0), (1, 0));
    // The data the first recv got, and the second one finding nothing.
    let recvs = by_name(&["recvfrom"]);
    assert_eq!(recvs.len(), 2);
    assert_eq!(r.ret(recvs[0].0), (5, 0));
    assert_eq!(r.ret(recvs[1].0), (-1, libc::EAGAIN));
    let got: Vec<u8> = r
        .log
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Data {
                dir: Dir::Received,
                data,
                ..
            } => Some(data.to_vec()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(got, b"hello");
}
