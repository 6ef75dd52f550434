//! An op as the student would have written it, for the log:
//! `srv.bind(('127.0.0.1', 9000))`.

use bytes::Bytes;

use super::super::shared::Shared;
use super::super::text::py_bytes_repr;
use super::super::types::*;

pub(crate) fn describe(sh: &Shared, op: &Op) -> String {
    let name = |id: &SockId| sh.name_of(*id);
    let addr = |a: &AddrArg| format!("('{}', {})", a.host, a.port);
    let data = |d: &Bytes| {
        if d.len() > 40 {
            format!("{}…({} bytes)", py_bytes_repr(&d[..32]), d.len())
        } else {
            py_bytes_repr(d)
        }
    };
    let list = |l: &[SockId]| format!("[{}]", l.iter().map(name).collect::<Vec<_>>().join(", "));
    let t = |t: &Option<f64>| t.map(|v| v.to_string()).unwrap_or_else(|| "None".into());
    match op {
        Op::Socket { family, ty, .. } => {
            let f = match *family {
                2 => "AF_INET".to_string(),
                10 => "AF_INET6".to_string(),
                n => n.to_string(),
            };
            let k = match *ty {
                1 => "SOCK_STREAM".to_string(),
                2 => "SOCK_DGRAM".to_string(),
                n => n.to_string(),
            };
            format!("socket({f}, {k})")
        }
        Op::Select {
            rlist,
            wlist,
            xlist,
            timeout,
        } => format!(
            "select({}, {}, {}, {})",
            list(rlist),
            list(wlist),
            list(xlist),
            t(timeout)
        ),
        Op::Bind { sock, addr: a } => format!("{}.bind({})", name(sock), addr(a)),
        Op::Listen { sock, backlog } => match backlog {
            Some(b) => format!("{}.listen({b})", name(sock)),
            None => format!("{}.listen()", name(sock)),
        },
        Op::Accept { sock } => format!("{}.accept()", name(sock)),
        Op::Connect { sock, addr: a } => format!("{}.connect({})", name(sock), addr(a)),
        Op::ConnectEx { sock, addr: a } => format!("{}.connect_ex({})", name(sock), addr(a)),
        Op::Send { sock, data: d, .. } => format!("{}.send({})", name(sock), data(d)),
        Op::SendAll { sock, data: d, .. } => format!("{}.sendall({})", name(sock), data(d)),
        Op::SendTo {
            sock,
            data: d,
            addr: a,
        } => format!("{}.sendto({}, {})", name(sock), data(d), addr(a)),
        Op::Recv { sock, bufsize, .. } => format!("{}.recv({bufsize})", name(sock)),
        Op::RecvFrom { sock, bufsize, .. } => format!("{}.recvfrom({bufsize})", name(sock)),
        Op::Shutdown { sock, how } => {
            let h = match how {
                0 => "SHUT_RD".to_string(),
                1 => "SHUT_WR".to_string(),
                2 => "SHUT_RDWR".to_string(),
                n => n.to_string(),
            };
            format!("{}.shutdown({h})", name(sock))
        }
        Op::Close { sock } => format!("{}.close()", name(sock)),
        Op::SetSockOpt {
            sock,
            level,
            opt,
            value,
        } => {
            let v = match value {
                OptVal::Int(i) => i.to_string(),
                OptVal::Bytes(b) => py_bytes_repr(b),
            };
            format!(
                "{}.setsockopt({}, {}, {v})",
                name(sock),
                level_name(*level),
                opt_name(*level, *opt)
            )
        }
        Op::GetSockOpt {
            sock, level, opt, ..
        } => format!(
            "{}.getsockopt({}, {})",
            name(sock),
            level_name(*level),
            opt_name(*level, *opt)
        ),
        Op::GetSockName { sock } => format!("{}.getsockname()", name(sock)),
        Op::GetPeerName { sock } => format!("{}.getpeername()", name(sock)),
        Op::SetTimeout { sock, timeout } => format!("{}.settimeout({})", name(sock), t(timeout)),
        Op::GetTimeout { sock } => format!("{}.gettimeout()", name(sock)),
        Op::SetBlocking { sock, blocking } => format!(
            "{}.setblocking({})",
            name(sock),
            if *blocking { "True" } else { "False" }
        ),
        Op::Fileno { sock } => format!("{}.fileno()", name(sock)),
    }
}

fn level_name(level: i64) -> String {
    match level {
        1 => "SOL_SOCKET".into(),
        6 => "IPPROTO_TCP".into(),
        41 => "IPPROTO_IPV6".into(),
        n => n.to_string(),
    }
}

fn opt_name(level: i64, opt: i64) -> String {
    let known = match (level, opt) {
        (1, 2) => "SO_REUSEADDR",
        (1, 15) => "SO_REUSEPORT",
        (1, 8) => "SO_RCVBUF",
        (1, 7) => "SO_SNDBUF",
        (1, 13) => "SO_LINGER",
        (1, 9) => "SO_KEEPALIVE",
        (1, 4) => "SO_ERROR",
        (1, 3) => "SO_TYPE",
        (6, 1) => "TCP_NODELAY",
        (41, 26) => "IPV6_V6ONLY",
        _ => return opt.to_string(),
    };
    known.to_string()
}
