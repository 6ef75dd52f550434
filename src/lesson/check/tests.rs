//! Reading check tables: each kind converts, every mistake is reported.

use super::*;
use crate::engine::types::TcpState;
use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
struct Doc {
    check: Spanned<RawCheck>,
}

fn conv(src: &str) -> Result<Cond, Vec<String>> {
    let d: Doc = toml::from_str(src).map_err(|e| vec![e.to_string()])?;
    let mut errs = Vec::new();
    let c = convert(&d.check, &mut errs);
    if errs.is_empty() {
        Ok(c.unwrap())
    } else {
        Err(errs.into_iter().map(|e| e.1).collect())
    }
}

#[test]
fn converts_each_kind() {
    assert_eq!(
        conv(r#"check = { socket = "srv", lab = "listening" }"#).unwrap(),
        Cond::Leaf(Leaf::Lab(LabCheck {
            sel: Sel {
                label: Some("srv".into()),
                owner: OwnerSel::Student,
                family: None,
                port: None,
                ty: None,
            },
            state: "listening".into(),
            when: When::Ever,
            count: 1
        }))
    );
    let c = conv(
            r#"check = { seq = [ { socket = "*", owner = "client", kernel = "syn_sent", when = "now", count = 2 }, { call = "connect", errno = "ECONNREFUSED" } ] }"#,
        )
        .unwrap();
    let Cond::Seq(v) = c else { panic!("{c:?}") };
    assert!(matches!(
        &v[0],
        Cond::Leaf(Leaf::Kernel(KernelCheck { sel, state: TcpState::SynSent, when: When::Now, count: 2 }))
            if sel.owner == OwnerSel::Peer("client".into()) && sel.label.is_none()
    ));
    assert!(
        matches!(&v[1], Cond::Leaf(Leaf::Call(CallCheck { method, req, .. })) if method == "connect" && req.errno.as_deref() == Some("ECONNREFUSED"))
    );
    assert!(conv(r#"check = { orphan = "TIME_WAIT", port = "{port}" }"#).is_ok());
    assert!(conv(r#"check = { data = "sent", socket = "c", bytes = "hi\\n" }"#).is_ok());
    assert!(conv(r#"check = { peer = "device", got = "LED ON" }"#).is_ok());
    assert!(conv(r#"check = { socket = "srv", accept_queue = 2 }"#).is_ok());
    let c = conv(r#"check = { segment = "syn+ack", from = "srv", count = 2 }"#).unwrap();
    let Cond::Leaf(Leaf::Segment(s)) = c else {
        panic!("{c:?}")
    };
    assert_eq!(s.from.as_deref(), Some("srv"));
    assert_eq!(s.count, 2);
    assert!(matches!(s.shape, wire::Shape::Tcp(f) if f.syn && f.ack && !f.rst));
    assert!(matches!(
        conv(r#"check = { segment = "icmp port-unreachable", to = "u" }"#).unwrap(),
        Cond::Leaf(Leaf::Segment(SegmentCheck {
            shape: wire::Shape::Icmp {
                port_unreachable: true
            },
            ..
        }))
    ));
}

#[test]
fn reports_mistakes() {
    let e = |s: &str| conv(s).unwrap_err().join(" | ");
    assert!(e(r#"check = { socket = "s", lab = "listenning" }"#).contains("unknown lab state"));
    assert!(e(r#"check = { socket = "s", kernel = "WAITING" }"#).contains("unknown kernel state"));
    assert!(e(r#"check = { call = "connect", errno = "ENOPE" }"#).contains("unknown errno"));
    assert!(e(r#"check = { call = "conect" }"#).contains("unknown call"));
    assert!(e(r#"check = { lab = "bound" }"#).contains("needs `socket`"));
    assert!(
        e(r#"check = { socket = "s", lab = "bound", bytes = "x" }"#).contains("does not apply")
    );
    assert!(
        e(r#"check = { socket = "s", lab = "bound", call = "bind" }"#).contains("exactly one kind")
    );
    assert!(e(r#"check = { socket = "s", lab = "bound", when = "later" }"#).contains("when"));
    assert!(e(r#"check = { data = "sent", bytes = "\\q" }"#).contains("unknown escape"));
    assert!(e(r#"check = { all = [] }"#).contains("at least one"));
    assert!(e(r#"check = { socket = "s", lab = "bound", colour = 1 }"#).contains("unknown field"));
}

#[test]
fn reads_not_never_cmp_family_and_args() {
    let c = conv(r#"check = { never = [{ call = "send", socket = "cli" }] }"#).unwrap();
    assert!(matches!(c, Cond::Never(ref v) if v.len() == 1), "{c:?}");
    let c = conv(r#"check = { not = [{ socket = "a", lab = "closed" }] }"#).unwrap();
    assert!(matches!(c, Cond::Not(_)), "{c:?}");
    let c = conv(r#"check = { socket = "c", recv_q = 0, cmp = "exactly", when = "now" }"#).unwrap();
    let Cond::Leaf(Leaf::Queue(q)) = c else {
        panic!()
    };
    assert_eq!(q.cmp, super::queue::Cmp::Exactly);
    let e = conv(r#"check = { socket = "c", recv_q = 0, cmp = "around" }"#).unwrap_err();
    assert!(e[0].contains("at_least, exactly, at_most"), "{e:?}");
    let c = conv(r#"check = { socket = "c6", lab = "connected", family = "inet6" }"#).unwrap();
    let Cond::Leaf(Leaf::Lab(l)) = c else {
        panic!()
    };
    assert_eq!(l.sel.family, Some(crate::engine::types::Family::V6));
    let e = conv(r#"check = { socket = "c6", lab = "connected", family = "ipx" }"#).unwrap_err();
    assert!(e[0].contains("AF_INET6"), "{e:?}");
    let c =
        conv(r#"check = { call = "setsockopt", socket = "s", args = "SO_REUSEADDR" }"#).unwrap();
    let Cond::Leaf(Leaf::Call(k)) = c else {
        panic!()
    };
    assert_eq!(k.req.args.as_deref(), Some("SO_REUSEADDR"));
}

#[test]
fn reads_port_type_and_backlog() {
    let c = conv(
        r#"check = { socket = "srv", lab = "listening", port = "{port}", type = "SOCK_STREAM" }"#,
    )
    .unwrap();
    let Cond::Leaf(Leaf::Lab(l)) = c else {
        panic!()
    };
    assert_eq!(l.sel.port.as_deref(), Some("{port}"));
    assert_eq!(l.sel.ty, Some(crate::engine::types::SockType::Stream));
    let c =
        conv(r#"check = { socket = "u", kernel = "CLOSE", port = 9000, type = "udp" }"#).unwrap();
    let Cond::Leaf(Leaf::Kernel(k)) = c else {
        panic!()
    };
    assert_eq!(k.sel.port.as_deref(), Some("9000"));
    assert_eq!(k.sel.ty, Some(crate::engine::types::SockType::Dgram));
    let e = conv(r#"check = { socket = "s", lab = "bound", port = "http" }"#).unwrap_err();
    assert!(e[0].contains("placeholder"), "{e:?}");
    let e = conv(r#"check = { socket = "s", lab = "bound", type = "SOCK_RAW" }"#).unwrap_err();
    assert!(e[0].contains("SOCK_STREAM"), "{e:?}");
    let c = conv(r#"check = { socket = "srv", backlog = 1, cmp = "exactly" }"#).unwrap();
    let Cond::Leaf(Leaf::Queue(q)) = c else {
        panic!()
    };
    assert_eq!(q.queue, super::queue::Queue::Backlog);
    assert_eq!(q.cmp, super::queue::Cmp::Exactly);
}
