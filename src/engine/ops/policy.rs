//! The lab's rules for a call: loopback only (unless `--allow-remote`),
//! the socket limit, and turning a Python address into a socket address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::super::error::{CallError, Note};
use super::super::shared::Shared;
use super::super::types::*;

/// Sockets kept free for the student's own calls: built-in peers may hold at
/// most `max_sockets - reserve`, so a client flooding a peer can never take
/// the student's last socket (and a peer can wait for room instead of dying).
pub(crate) fn student_reserve(max_sockets: usize) -> usize {
    (max_sockets / 8).clamp(1, 32)
}

/// Room for one more socket for `owner`?
pub(crate) fn check_limit(sh: &Shared, owner: &Owner) -> Result<(), CallError> {
    let max = sh.cfg.max_sockets;
    let limit = match owner {
        Owner::Student => max,
        _ => max.saturating_sub(student_reserve(max)),
    };
    if sh.sock_count() >= limit {
        return Err(CallError::lab_note(match owner {
            Owner::Student => Note::new("lab.socket_limit").with("max", max),
            _ => Note::new("lab.peer_socket_limit")
                .with("limit", limit)
                .with("max", max),
        }));
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Bind,
    Connect,
}

pub(crate) fn resolve(
    sh: &Shared,
    family: Family,
    addr: &AddrArg,
    purpose: Purpose,
    method: &str,
) -> Result<SocketAddr, CallError> {
    if !(0..=65535).contains(&addr.port) {
        return Err(CallError::other(
            "OverflowError",
            format!("{method}(): port must be 0-65535."),
            "",
        ));
    }
    let port = addr.port as u16;
    let host = addr.host.trim();
    let ip: IpAddr = match (host, family) {
        ("", Family::V4) => Ipv4Addr::UNSPECIFIED.into(),
        ("", Family::V6) => Ipv6Addr::UNSPECIFIED.into(),
        ("localhost", Family::V4) => Ipv4Addr::LOCALHOST.into(),
        ("localhost", Family::V6) => Ipv6Addr::LOCALHOST.into(),
        (h, _) => match h.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => {
                return Err(CallError {
                    exc: "socket.gaierror".into(),
                    errno: Some(-2),
                    errno_name: Some("EAI_NONAME".into()),
                    message: "Name or service not known".into(),
                    explain: Note::new("explain.not_an_ip").with("host", h),
                });
            }
        },
    };
    let fits = matches!(
        (ip, family),
        (IpAddr::V4(_), Family::V4) | (IpAddr::V6(_), Family::V6)
    );
    if !fits {
        let key = match family {
            Family::V4 => "explain.wrong_family_v4",
            Family::V6 => "explain.wrong_family_v6",
        };
        return Err(CallError {
            exc: "socket.gaierror".into(),
            errno: Some(-9),
            errno_name: Some("EAI_ADDRFAMILY".into()),
            message: "Address family for hostname not supported".into(),
            explain: Note::new(key).with("host", host),
        });
    }
    if !sh.cfg.allow_remote {
        let loopback = match ip {
            IpAddr::V4(v4) => v4.is_loopback(),
            IpAddr::V6(v6) => {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        };
        if ip.is_unspecified() && purpose == Purpose::Bind {
            return Err(CallError::lab_note(
                Note::new("lab.bind_any")
                    .with("host", if host.is_empty() { "''" } else { host })
                    .with(
                        "instead",
                        if family == Family::V4 {
                            "127.0.0.1"
                        } else {
                            "::1"
                        },
                    ),
            ));
        }
        if !loopback && !ip.is_unspecified() {
            return Err(CallError::lab_note(
                Note::new("lab.not_loopback").with("ip", ip),
            ));
        }
    }
    if purpose == Purpose::Connect {
        // The first segment leaves before the lab learns the local port:
        // let the capture see the destination's.
        super::super::capture::endpoints_changed(sh, Some(port));
    }
    Ok(SocketAddr::new(ip, port))
}

/// Socket options that would take a socket past loopback; refused unless
/// `--allow-remote` (level, option, the refusal's catalogue key: what it does).
const REMOTE_OPTS: &[(i32, i32, &str)] = &[
    (
        libc::SOL_SOCKET,
        libc::SO_BINDTODEVICE,
        "lab.remote_opt.bindtodevice",
    ),
    (
        libc::SOL_SOCKET,
        libc::SO_DONTROUTE,
        "lab.remote_opt.dontroute",
    ),
    (
        libc::SOL_SOCKET,
        libc::SO_BROADCAST,
        "lab.remote_opt.broadcast",
    ),
    (
        libc::IPPROTO_IP,
        libc::IP_TRANSPARENT,
        "lab.remote_opt.transparent",
    ),
    (
        libc::IPPROTO_IP,
        libc::IP_FREEBIND,
        "lab.remote_opt.freebind",
    ),
    (
        libc::IPPROTO_IP,
        libc::IP_MULTICAST_IF,
        "lab.remote_opt.multicast_if",
    ),
    (
        libc::IPPROTO_IP,
        libc::IP_ADD_MEMBERSHIP,
        "lab.remote_opt.membership",
    ),
    (
        libc::IPPROTO_IPV6,
        libc::IPV6_MULTICAST_IF,
        "lab.remote_opt.multicast_if",
    ),
    (
        libc::IPPROTO_IPV6,
        libc::IPV6_ADD_MEMBERSHIP,
        "lab.remote_opt.membership",
    ),
    (
        libc::IPPROTO_IPV6,
        libc::IPV6_FREEBIND,
        "lab.remote_opt.freebind",
    ),
];

/// Refuse an option that reaches past loopback, with the lab's explanation.
pub(crate) fn check_option(sh: &Shared, level: i32, opt: i32) -> Result<(), CallError> {
    if sh.cfg.allow_remote {
        return Ok(());
    }
    match REMOTE_OPTS
        .iter()
        .find(|(l, o, _)| *l == level && *o == opt)
    {
        Some((_, _, key)) => Err(CallError::lab_note(Note::new(key))),
        None => Ok(()),
    }
}
