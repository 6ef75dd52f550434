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
                ident: Box::default(),
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

#[test]
fn reads_socket_identity_and_reports_its_mistakes() {
    let c = conv(
        r#"check = { seq = [{ call = "socket", socket = "cli", ok = true, as = "fresh" }, { call = "connect", socket = "cli", ok = true, same = "fresh" }] }"#,
    )
    .unwrap();
    let Cond::Seq(v) = c else { panic!("{c:?}") };
    let Cond::Leaf(Leaf::Call(first)) = &v[0] else {
        panic!()
    };
    assert_eq!(first.sel.ident.name.as_deref(), Some("fresh"));
    let Cond::Leaf(Leaf::Call(second)) = &v[1] else {
        panic!()
    };
    assert_eq!(
        second.sel.ident.same.as_ref().map(|c| c.name.as_str()),
        Some("fresh")
    );
    // A name may stand on the alternatives of an `any`, and be used inside a later one.
    assert!(conv(
        r#"check = { seq = [{ any = [{ call = "connect", errno = "ECONNREFUSED", as = "r" }, { call = "connect_ex", errno = "ECONNREFUSED", as = "r" }] }, { all = [{ socket = "c", lab = "connected", other = "r" }] }] }"#
    )
    .is_ok());
    let c = conv(r#"check = { socket = "conn", lab = "connected", peer_of = "cli" }"#).unwrap();
    let Cond::Leaf(Leaf::Lab(l)) = c else {
        panic!()
    };
    assert_eq!(l.sel.ident.peer_of.as_deref(), Some("cli"));
    let mut labels = Vec::new();
    Cond::Leaf(Leaf::Lab(l)).student_labels(&mut labels);
    assert_eq!(
        labels,
        ["conn", "cli"],
        "peer_of names a student variable too"
    );
    let c = conv(r#"check = { call = "select", readable = "a" }"#).unwrap();
    let mut labels = Vec::new();
    c.student_labels(&mut labels);
    assert_eq!(labels, ["a"]);

    let e = |s: &str| conv(s).unwrap_err().join(" | ");
    let two = |a: &str, b: &str| format!(r#"check = {{ seq = [{a}, {b}] }}"#);
    let made = r#"{ call = "socket", socket = "cli", ok = true, as = "fresh" }"#;
    assert!(
        e(&two(made, r#"{ call = "connect", socket = "cli", same = "frsh" }"#))
            .contains(r#"no earlier part of a `seq` around it names sockets as = "frsh" (did you mean "fresh"?)"#)
    );
    assert!(
        e(r#"check = { call = "socket", socket = "cli", as = "fresh" }"#)
            .contains("not in a `seq` part")
    );
    assert!(
        e(&two(
            r#"{ never = [{ call = "socket", socket = "x", as = "x" }] }"#,
            r#"{ call = "connect", same = "x" }"#
        ))
        .contains("under `not` / `never`")
    );
    assert!(e(&two(made, r#"{ call = "connect", socket = "cli" }"#)).contains("no later part"));
    assert!(e(&two(made, made)).contains("given twice"));
    assert!(
        e(&two(
            made,
            r#"{ call = "connect", same = "fresh", other = "fresh" }"#
        ))
        .contains("contradict")
    );
    assert!(e(&two(made, r#"{ call = "connect", same = "a b" }"#)).contains("a word of letters"));
    assert!(
        e(&two(
            made,
            r#"{ data = "sent", bytes = "x", same = "fresh" }"#
        ))
        .contains("does not apply to a `data` check")
    );
    assert!(
        e(r#"check = { call = "recv", readable = "a" }"#)
            .contains("`readable` is what a select() returned")
    );
    assert!(
        e(r#"check = { call = "select", socket = "a", readable = "a" }"#)
            .contains("no socket of its own")
    );
    assert!(
        e(r#"check = { socket = "cli", lab = "connected", peer_of = "cli" }"#)
            .contains("its own connection")
    );
    assert!(
        e(r#"check = { socket = "c", kernel = "ESTABLISHED", peer_of = "" }"#)
            .contains("peer_of names one")
    );
    assert!(
        e(r#"check = { socket = "c", lab = "connected", peer_off = "s" }"#)
            .contains(r#"did you mean "peer_of""#)
    );
}

/// Hand-built event logs, evaluated as a lesson would (the model folds each
/// event first).
mod logs {
    use std::net::SocketAddr;

    use crate::engine::error::CallError;
    use crate::engine::event::{Event, EventKind};
    use crate::engine::types::{Family, LabState, Owner, Ret, SockType};
    use crate::settings::Lang;

    use super::super::super::eval::evaluate;
    use super::conv;

    #[derive(Default)]
    struct Log {
        evs: Vec<Event>,
        call: u64,
    }

    fn addr(p: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], p))
    }

    impl Log {
        fn push(&mut self, kind: EventKind) -> &mut Self {
            let seq = self.evs.len() as u64 + 1;
            self.evs.push(Event {
                seq,
                t_us: seq * 10,
                kind,
            });
            self
        }
        /// `name = socket()`: the call, the socket, its name.
        fn socket(&mut self, id: u32, name: &str) -> &mut Self {
            self.call += 1;
            let call = self.call;
            self.push(EventKind::CallStarted {
                call,
                sock: None,
                owner: Owner::Student,
                method: "socket".into(),
                text: "socket(AF_INET, SOCK_STREAM)".into(),
            });
            self.made(id);
            self.push(EventKind::CallDone {
                call,
                sock: None,
                ret: Ret::Socket(id),
            });
            self.label(id, name)
        }
        /// A socket made by no call of the student's (an accepted one).
        fn made(&mut self, id: u32) -> &mut Self {
            self.push(EventKind::SocketCreated {
                sock: id,
                no: id,
                fd: 10 + id as i32,
                family: Family::V4,
                ty: SockType::Stream,
                owner: Owner::Student,
            })
        }
        fn label(&mut self, id: u32, name: &str) -> &mut Self {
            self.push(EventKind::SocketLabel {
                sock: id,
                label: name.into(),
            })
        }
        /// A call on socket `id` that ends with `end`.
        fn call(
            &mut self,
            id: Option<u32>,
            method: &str,
            end: Result<Ret, CallError>,
        ) -> &mut Self {
            self.call += 1;
            let call = self.call;
            self.push(EventKind::CallStarted {
                call,
                sock: id,
                owner: Owner::Student,
                method: method.into(),
                text: format!("{method}()"),
            });
            match end {
                Ok(ret) => self.push(EventKind::CallDone {
                    call,
                    sock: id,
                    ret,
                }),
                Err(error) => self.push(EventKind::CallFailed {
                    call,
                    sock: id,
                    error,
                }),
            }
        }
        fn connected(&mut self, id: u32, local: u16, peer: u16) -> &mut Self {
            self.push(EventKind::Endpoints {
                sock: id,
                local: Some(addr(local)),
                peer: Some(addr(peer)),
            });
            self.push(EventKind::LabState {
                sock: id,
                from: LabState::Created,
                to: LabState::Connected,
            })
        }
        fn met(&self, check: &str) -> bool {
            evaluate(&conv(&format!("check = {check}")).unwrap(), &self.evs).0
        }
        fn why(&self, check: &str) -> Vec<String> {
            self.why_in(check, Lang::En)
        }
        fn why_in(&self, check: &str, lang: Lang) -> Vec<String> {
            let (_, why, _) = evaluate(&conv(&format!("check = {check}")).unwrap(), &self.evs);
            why.iter().map(|w| w.get(lang)).collect()
        }
    }

    fn refused() -> Result<Ret, CallError> {
        Err(CallError::os(libc::ECONNREFUSED, ""))
    }

    /// Lesson 5's "connect again — with a fresh socket".
    const FRESH: &str = r#"{ seq = [{ call = "connect", errno = "ECONNREFUSED", as = "refused" }, { call = "socket", socket = "cli", ok = true, as = "fresh" }, { call = "connect", socket = "cli", ok = true, same = "fresh", other = "refused" }] }"#;
    /// The same without identity: names alone.
    const BY_NAME: &str = r#"{ seq = [{ call = "connect", errno = "ECONNREFUSED" }, { call = "socket", socket = "cli", ok = true }, { call = "connect", socket = "cli", ok = true }] }"#;

    #[test]
    fn same_refuses_the_old_socket_pointed_at_by_the_old_name() {
        let mut l = Log::default();
        l.socket(1, "cli").call(Some(1), "connect", refused());
        // tmp = cli; cli = socket(); cli = tmp: the new socket is named cli,
        // the old one keeps the name it had; cli.connect() runs on the old one.
        l.label(1, "tmp").socket(2, "cli").label(1, "cli");
        l.call(Some(1), "connect", Ok(Ret::None));
        assert!(l.met(BY_NAME), "names alone are fooled");
        assert!(!l.met(FRESH));
        assert_eq!(
            l.why(FRESH),
            [
                "no cli.connect() call has succeeded yet, on the socket cli = socket() made and not on the socket whose connect() failed with ECONNREFUSED (one did, but on another socket) (after the part before it)"
            ]
        );
        assert_eq!(
            l.why_in(FRESH, Lang::Ko),
            [
                "아직 성공한 cli.connect() 호출이 없어요 — cli = socket() 호출로 만든 소켓, ECONNREFUSED로 실패한 connect() 호출의 소켓이 아닌 소켓이어야 해요 (그런 일은 있었지만 다른 소켓에서였어요) (앞의 조건이 이루어진 뒤에)"
            ]
        );
        // The fresh socket connects: met.
        l.call(Some(2), "connect", Ok(Ret::None));
        assert!(l.met(FRESH));
    }

    #[test]
    fn a_name_covers_every_socket_that_met_its_part() {
        // Two fresh sockets in a row, the second one connects.
        let mut l = Log::default();
        l.socket(1, "cli").call(Some(1), "connect", refused());
        l.socket(2, "cli").socket(3, "cli");
        l.call(Some(3), "connect", Ok(Ret::None));
        assert!(l.met(FRESH));
    }

    #[test]
    fn other_refuses_the_socket_an_earlier_part_named() {
        // The refused socket itself is made again "after" in name only:
        // a later socket() names another socket, the refused one connects.
        let check = r#"{ seq = [{ call = "connect", socket = "cli", errno = "ECONNREFUSED", as = "refused" }, { call = "connect", socket = "cli", ok = true, other = "refused" }] }"#;
        let mut l = Log::default();
        l.socket(1, "cli").call(Some(1), "connect", refused());
        l.call(Some(1), "connect", Ok(Ret::None));
        assert!(!l.met(check));
        l.socket(2, "cli").call(Some(2), "connect", Ok(Ret::None));
        assert!(l.met(check));
    }

    #[test]
    fn peer_of_is_the_other_end_of_that_connection() {
        let check = r#"{ all = [{ socket = "cli", lab = "connected" }, { socket = "conn", lab = "connected", peer_of = "cli" }] }"#;
        let loose = r#"{ all = [{ socket = "cli", lab = "connected" }, { socket = "conn", lab = "connected" }] }"#;
        let mut l = Log::default();
        // other connects first, then cli; the first accept gives other's peer.
        l.socket(1, "other").connected(1, 50001, 9000);
        l.socket(2, "cli").connected(2, 50002, 9000);
        l.made(3).connected(3, 9000, 50001).label(3, "conn");
        assert!(l.met(loose));
        assert!(!l.met(check));
        assert_eq!(
            l.why(check),
            [
                "conn is not the other end of cli's connection (compare their endpoints in the Sockets pane)"
            ]
        );
        assert_eq!(
            l.why_in(check, Lang::Ko),
            ["conn은 cli의 연결 반대쪽 끝이 아니에요 (소켓 창에서 두 소켓의 끝점을 비교해 보세요)"]
        );
        // conn = the second accept: cli's peer.
        l.made(4).connected(4, 9000, 50002).label(4, "conn");
        assert!(l.met(check));
    }

    #[test]
    fn select_must_have_returned_the_socket_recv_is_called_on() {
        let check = r#"{ seq = [{ call = "select", ok = true, readable = "*", as = "ready" }, { any = [{ call = "recv", socket = "a", ok = true, same = "ready" }, { call = "recv", socket = "b", ok = true, same = "ready" }] }] }"#;
        let got = || Ok(Ret::Bytes(bytes::Bytes::from_static(b"hi\n")));
        let mut l = Log::default();
        l.socket(1, "a").socket(2, "b");
        // A select that timed out, then a recv that waited anyway.
        l.call(None, "select", Ok(Ret::Select(vec![], vec![], vec![])));
        l.call(Some(1), "recv", got());
        assert!(!l.met(check));
        assert_eq!(
            l.why(check),
            ["no select() call has succeeded and returned a socket as readable yet"]
        );
        // select names a; recv on b does not count.
        l.call(None, "select", Ok(Ret::Select(vec![1], vec![], vec![])));
        l.call(Some(2), "recv", got());
        assert!(!l.met(check));
        assert!(
            l.why(check)[0].contains("no b.recv() call has succeeded yet, on a socket select() returned as readable (one did, but on another socket)"),
            "{:?}",
            l.why(check)
        );
        l.call(Some(1), "recv", got());
        assert!(l.met(check));
        // readable = "b": only a select that returned b.
        let b = r#"{ call = "select", readable = "b" }"#;
        assert!(!l.met(b));
        l.call(None, "select", Ok(Ret::Select(vec![1, 2], vec![], vec![])));
        assert!(l.met(b));
    }
}
