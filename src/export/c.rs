//! The session as a C program, the way Beej's guide writes one: the
//! headers, each socket call as the C call it is, `getaddrinfo` for
//! addresses, a check with `perror` after every call, Beej's `sendall`
//! loop for `sendall()`. Each Python line stays above its C as a comment.
//!
//! The program replays the session: it sends the bytes the session sent
//! (a `send` of what the same line just received sends that buffer), and
//! writes every byte it receives to standard output.

use std::collections::HashMap;

use crate::engine::{AddrArg, Op, OptVal, Ret, SockId};
use crate::lang::names::CONSTANTS;
use crate::session::CodeLine;

const C_KEYWORDS: &[&str] = &[
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
    "union", "unsigned", "void", "volatile", "while", "main", "buf", "n", "errno", "exit",
    "socket", "bind", "listen", "accept", "connect", "send", "recv", "close", "select", "shutdown",
    "sendall", "lookup", "stdout", "stderr",
];

const HEAD: &str = r#"/* Written by socklab (:export c): your session as a C program.
 * Build: cc -Wall -o prog prog.c    Run: ./prog
 * Every byte it receives is written to standard output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/select.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>
"#;

const LOOKUP: &str = r#"
/* host and port as a socket address, with getaddrinfo (Beej's guide, 5.1) */
static socklen_t lookup(int family, int type, const char *host, int port,
                        struct sockaddr_storage *out)
{
    struct addrinfo hints, *res;
    char service[16];
    int rv;
    socklen_t len;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = type;
    hints.ai_flags = AI_NUMERICSERV | (host[0] == '\0' ? AI_PASSIVE : 0);
    snprintf(service, sizeof service, "%d", port);
    rv = getaddrinfo(host[0] == '\0' ? NULL : host, service, &hints, &res);
    if (rv != 0) {
        fprintf(stderr, "getaddrinfo: %s\n", gai_strerror(rv));
        exit(1);
    }
    memcpy(out, res->ai_addr, res->ai_addrlen);
    len = res->ai_addrlen;
    freeaddrinfo(res);
    return len;
}
"#;

const SENDALL: &str = r#"
/* send all of buf, however many send() calls it takes (Beej's guide, 7.4) */
static int sendall(int s, const char *buf, size_t len, int flags)
{
    size_t total = 0;
    while (total < len) {
        ssize_t n = send(s, buf + total, len - total, flags);
        if (n == -1)
            return -1;
        total += n;
    }
    return 0;
}
"#;

/// A C string literal for bytes: printable ASCII as is, the rest as
/// three-digit octal escapes (which never run into a following digit).
fn c_string(b: &[u8]) -> String {
    let mut s = String::from("\"");
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            // `??x` would be a trigraph in some compilers.
            b'?' => s.push_str("\\?"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\{c:03o}")),
        }
    }
    s.push('"');
    s
}

/// A comment holding a Python line (`*/` cannot end it early).
fn comment(line: &str) -> String {
    let safe: String = line
        .replace("*/", "* /")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("    /* {safe} */")
}

/// The constant's name for a value, among names with one of `prefixes`.
fn const_name(v: i64, prefixes: &[&str]) -> String {
    CONSTANTS
        .iter()
        .find(|(n, c)| *c == v && prefixes.iter().any(|p| n.starts_with(p)))
        .map_or(v.to_string(), |(n, _)| n.to_string())
}

fn family_name(f: i64) -> String {
    const_name(f, &["AF_"])
}

fn flags(f: i64) -> String {
    if f == 0 {
        return "0".into();
    }
    const_name(f, &["MSG_"])
}

struct Gen<'a> {
    out: Vec<String>,
    decls: Vec<String>,
    /// Whether the program needs the `lookup` / `sendall` helpers.
    uses_lookup: bool,
    uses_sendall: bool,
    names: HashMap<SockId, String>,
    /// Family and type (`SOCK_STREAM`) of each socket.
    kinds: HashMap<SockId, (String, String)>,
    label: &'a dyn Fn(SockId) -> Option<String>,
    /// Biggest recv buffer the program needs.
    buf: i64,
}

impl Gen<'_> {
    fn push(&mut self, s: impl Into<String>) {
        self.out.push(s.into());
    }

    fn fail(&mut self, call: &str, test: &str) {
        self.push(format!("    if ({test}) {{"));
        self.push(format!("        perror(\"{call}\");"));
        self.push("        exit(1);");
        self.push("    }");
    }

    /// A C variable for a socket: the student's name, made a C identifier.
    fn name(&mut self, sock: SockId) -> String {
        if let Some(n) = self.names.get(&sock) {
            return n.clone();
        }
        let base: String = (self.label)(sock)
            .unwrap_or_else(|| format!("s{sock}"))
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut base = if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
            format!("s_{base}")
        } else {
            base
        };
        if C_KEYWORDS.contains(&base.as_str()) {
            base.push_str("_fd");
        }
        let mut name = base.clone();
        let mut k = 2;
        while self.names.values().any(|v| *v == name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        self.names.insert(sock, name.clone());
        self.decls.push(format!("    int {name} = -1;"));
        name
    }

    fn kind(&self, sock: SockId) -> (String, String) {
        self.kinds
            .get(&sock)
            .cloned()
            .unwrap_or(("AF_INET".into(), "SOCK_STREAM".into()))
    }

    fn addr(&mut self, sock: SockId, a: &AddrArg) -> String {
        let (fam, ty) = self.kind(sock);
        self.uses_lookup = true;
        self.push(format!(
            "    salen = lookup({fam}, {ty}, {}, {}, &sa);",
            c_string(a.host.as_bytes()),
            a.port
        ));
        "(struct sockaddr *)&sa, salen".to_string()
    }

    fn call(&mut self, op: &Op, ret: &Ret, prev: Option<&(Op, Ret)>) {
        match op {
            Op::Socket { family, ty, proto } => {
                let Ret::Socket(id) = ret else { return };
                let s = self.name(*id);
                let (f, t) = (family_name(*family), const_name(*ty, &["SOCK_"]));
                self.kinds.insert(*id, (f.clone(), t.clone()));
                self.push(format!("    {s} = socket({f}, {t}, {proto});"));
                self.fail("socket", &format!("{s} == -1"));
            }
            Op::Bind { sock, addr } => {
                let s = self.name(*sock);
                let a = self.addr(*sock, addr);
                self.fail("bind", &format!("bind({s}, {a}) == -1"));
            }
            Op::Listen { sock, backlog } => {
                let s = self.name(*sock);
                let b = backlog.map_or("SOMAXCONN".to_string(), |b| b.max(0).to_string());
                self.fail("listen", &format!("listen({s}, {b}) == -1"));
            }
            Op::Accept { sock } => {
                let Ret::Accepted(id, _) = ret else { return };
                let s = self.name(*sock);
                let kind = self.kind(*sock);
                let c = self.name(*id);
                self.kinds.insert(*id, kind);
                self.push("    salen = sizeof sa;");
                self.push(format!(
                    "    {c} = accept({s}, (struct sockaddr *)&sa, &salen);"
                ));
                self.fail("accept", &format!("{c} == -1"));
            }
            Op::Connect { sock, addr } => {
                let s = self.name(*sock);
                let a = self.addr(*sock, addr);
                self.fail("connect", &format!("connect({s}, {a}) == -1"));
            }
            Op::ConnectEx { sock, addr } => {
                let s = self.name(*sock);
                let a = self.addr(*sock, addr);
                self.push("    /* connect_ex: an error is a value, not the end */");
                self.push(format!("    if (connect({s}, {a}) == -1)"));
                self.push("        perror(\"connect\");");
            }
            Op::Send {
                sock,
                data,
                flags: f,
            }
            | Op::SendAll {
                sock,
                data,
                flags: f,
            } => {
                let s = self.name(*sock);
                // What this line just received is sent from the buffer it is in.
                let (p, len) = match prev {
                    Some((Op::Recv { .. }, Ret::Bytes(b))) if b == data => {
                        ("buf".to_string(), "n".to_string())
                    }
                    _ => (c_string(data), data.len().to_string()),
                };
                let f = flags(*f);
                if matches!(op, Op::SendAll { .. }) {
                    self.uses_sendall = true;
                    self.fail("send", &format!("sendall({s}, {p}, {len}, {f}) == -1"));
                } else {
                    self.push(format!("    n = send({s}, {p}, {len}, {f});"));
                    self.fail("send", "n == -1");
                }
            }
            Op::SendTo { sock, data, addr } => {
                let s = self.name(*sock);
                let a = self.addr(*sock, addr);
                let p = c_string(data);
                self.push(format!("    n = sendto({s}, {p}, {}, 0, {a});", data.len()));
                self.fail("sendto", "n == -1");
            }
            Op::Recv {
                sock,
                bufsize,
                flags: f,
            } => {
                let s = self.name(*sock);
                self.buf = self.buf.max(*bufsize);
                self.push(format!("    n = recv({s}, buf, {bufsize}, {});", flags(*f)));
                self.fail("recv", "n == -1");
                self.push("    fwrite(buf, 1, n, stdout);");
            }
            Op::RecvFrom {
                sock,
                bufsize,
                flags: f,
            } => {
                let s = self.name(*sock);
                self.buf = self.buf.max(*bufsize);
                self.push("    salen = sizeof sa;");
                self.push(format!(
                    "    n = recvfrom({s}, buf, {bufsize}, {}, (struct sockaddr *)&sa, &salen);",
                    flags(*f)
                ));
                self.fail("recvfrom", "n == -1");
                self.push("    fwrite(buf, 1, n, stdout);");
            }
            Op::Shutdown { sock, how } => {
                let s = self.name(*sock);
                let h = const_name(*how, &["SHUT_"]);
                self.fail("shutdown", &format!("shutdown({s}, {h}) == -1"));
            }
            Op::Close { sock } => {
                let s = self.name(*sock);
                self.fail("close", &format!("close({s}) == -1"));
            }
            Op::SetSockOpt {
                sock,
                level,
                opt,
                value,
            } => {
                let s = self.name(*sock);
                let lvl = const_name(*level, &["SOL_", "IPPROTO_"]);
                let prefixes: &[&str] = match *level {
                    1 => &["SO_"],
                    6 => &["TCP_"],
                    41 => &["IPV6_"],
                    _ => &["IP_"],
                };
                let o = const_name(*opt, prefixes);
                match value {
                    OptVal::Int(v) => {
                        self.push(format!("    optval = {v};"));
                        self.fail(
                            "setsockopt",
                            &format!("setsockopt({s}, {lvl}, {o}, &optval, sizeof optval) == -1"),
                        );
                    }
                    OptVal::Bytes(b) => self.fail(
                        "setsockopt",
                        &format!(
                            "setsockopt({s}, {lvl}, {o}, {}, {}) == -1",
                            c_string(b),
                            b.len()
                        ),
                    ),
                }
            }
            Op::GetSockOpt {
                sock, level, opt, ..
            } => {
                let s = self.name(*sock);
                let lvl = const_name(*level, &["SOL_", "IPPROTO_"]);
                let o = const_name(*opt, &["SO_", "TCP_", "IPV6_"]);
                self.push("    optlen = sizeof optval;");
                self.fail(
                    "getsockopt",
                    &format!("getsockopt({s}, {lvl}, {o}, &optval, &optlen) == -1"),
                );
            }
            Op::GetSockName { sock } | Op::GetPeerName { sock } => {
                let s = self.name(*sock);
                let f = op.method();
                self.push("    salen = sizeof sa;");
                self.fail(
                    f,
                    &format!("{f}({s}, (struct sockaddr *)&sa, &salen) == -1"),
                );
            }
            Op::SetTimeout { sock, timeout } => {
                let s = self.name(*sock);
                match timeout {
                    Some(t) if *t == 0.0 => self.blocking(&s, false),
                    Some(t) => {
                        self.blocking(&s, true);
                        let secs = t.trunc() as i64;
                        let us = ((t - t.trunc()) * 1e6).round() as i64;
                        self.push(format!("    tv.tv_sec = {secs};"));
                        self.push(format!("    tv.tv_usec = {us};"));
                        for o in ["SO_RCVTIMEO", "SO_SNDTIMEO"] {
                            self.fail(
                                "setsockopt",
                                &format!("setsockopt({s}, SOL_SOCKET, {o}, &tv, sizeof tv) == -1"),
                            );
                        }
                    }
                    None => self.blocking(&s, true),
                }
            }
            Op::SetBlocking { sock, blocking } => {
                let s = self.name(*sock);
                self.blocking(&s, *blocking);
            }
            Op::GetTimeout { .. } | Op::Fileno { .. } => {
                self.push("    /* (nothing to call in C) */");
            }
            Op::Select {
                rlist,
                wlist,
                xlist,
                timeout,
            } => {
                let mut all: Vec<String> = Vec::new();
                for (set, list) in [("rfds", rlist), ("wfds", wlist), ("xfds", xlist)] {
                    self.push(format!("    FD_ZERO(&{set});"));
                    for id in list {
                        let s = self.name(*id);
                        self.push(format!("    FD_SET({s}, &{set});"));
                        all.push(s);
                    }
                }
                let maxfd = if all.is_empty() {
                    "0".to_string()
                } else {
                    self.push("    maxfd = -1;");
                    for s in &all {
                        self.push(format!("    if ({s} > maxfd) maxfd = {s};"));
                    }
                    "maxfd + 1".to_string()
                };
                let tv = match timeout {
                    Some(t) => {
                        self.push(format!("    tv.tv_sec = {};", t.trunc() as i64));
                        self.push(format!(
                            "    tv.tv_usec = {};",
                            ((t - t.trunc()) * 1e6).round() as i64
                        ));
                        "&tv"
                    }
                    None => "NULL",
                };
                self.fail(
                    "select",
                    &format!("select({maxfd}, &rfds, &wfds, &xfds, {tv}) == -1"),
                );
            }
        }
    }

    fn blocking(&mut self, s: &str, on: bool) {
        self.push(format!("    flags = fcntl({s}, F_GETFL);"));
        self.fail("fcntl", "flags == -1");
        let f = if on {
            "flags & ~O_NONBLOCK"
        } else {
            "flags | O_NONBLOCK"
        };
        self.fail("fcntl", &format!("fcntl({s}, F_SETFL, {f}) == -1"));
    }
}

/// The program for these lines; `label` names the sockets.
pub fn program(lines: &[CodeLine], label: &dyn Fn(SockId) -> Option<String>) -> Vec<String> {
    let mut g = Gen {
        out: Vec::new(),
        decls: Vec::new(),
        uses_lookup: false,
        uses_sendall: false,
        names: HashMap::new(),
        kinds: HashMap::new(),
        label,
        buf: 0,
    };
    for line in lines {
        g.push("");
        g.push(comment(&line.text));
        let mut prev: Option<&(Op, Ret)> = None;
        for c in &line.calls {
            g.call(&c.0, &c.1, prev);
            prev = Some(c);
        }
    }
    let mut out: Vec<String> = HEAD.lines().map(str::to_string).collect();
    if g.uses_lookup {
        out.extend(LOOKUP.lines().map(str::to_string));
    }
    if g.uses_sendall {
        out.extend(SENDALL.lines().map(str::to_string));
    }
    if g.buf > 0 {
        out.push(String::new());
        out.push(format!("static char buf[{}];", g.buf));
    }
    out.push(String::new());
    out.push("int main(void)".into());
    out.push("{".into());
    out.extend(g.decls);
    for d in [
        "struct sockaddr_storage sa;",
        "socklen_t salen;",
        "ssize_t n;",
        "int optval;",
        "socklen_t optlen;",
        "int flags;",
        "int maxfd;",
        "struct timeval tv;",
        "fd_set rfds, wfds, xfds;",
    ] {
        out.push(format!("    {d}"));
    }
    // Every variable is used or not; -Wall must not complain either way.
    out.push(
        "    (void)sa; (void)salen; (void)n; (void)optval; (void)optlen; (void)flags; (void)maxfd; (void)tv; (void)rfds; (void)wfds; (void)xfds;"
            .into(),
    );
    out.extend(g.out);
    out.push(String::new());
    out.push("    return 0;".into());
    out.push("}".into());
    out
}
