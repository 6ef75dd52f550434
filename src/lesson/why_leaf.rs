//! The "why not yet" message of one unmet condition, in English and Korean.

use crate::engine::model::LabModel;
use crate::engine::text::{py_bytes_repr, sanitize};
use crate::engine::types::Dir;

use super::cond::{CallReq, Cond, OwnerSel, Queue, Sel, When};
use super::ctx::Ctx;
use super::eval::FactsView;
use super::format::unescape;
use super::leaf::{kernel_now, queue_value};
use super::why::{Why, josa};

fn bytes_repr(s: &str) -> String {
    py_bytes_repr(&unescape(s).unwrap_or_else(|_| s.as_bytes().to_vec()))
}

/// "srv" / "a socket of client" — the subject of a sentence, both languages.
fn subject(sel: &Sel) -> (String, String) {
    match (&sel.label, &sel.owner) {
        (Some(l), _) => (l.clone(), l.clone()),
        (None, OwnerSel::Peer(p)) => (format!("no socket of {p}"), format!("{p}의 소켓")),
        (None, _) => ("no socket".to_string(), "소켓".to_string()),
    }
}

fn no_such(label: &str) -> Why {
    Why::new(
        format!("there is no socket named {label} yet"),
        format!("아직 {} 소켓이 없어요", josa(label, "이라는", "라는")),
    )
}

pub(super) fn leaf_why(c: &Cond, f: FactsView, ctx: &Ctx, model: &LabModel) -> Why {
    let missing_label = |sel: &Sel| -> Option<Why> {
        let l = sel.label.as_ref()?;
        ctx.newest_sock(sel).is_none().then(|| no_such(l))
    };
    match c {
        Cond::Lab {
            sel,
            state,
            when,
            count,
        } => {
            if let Some(w) = missing_label(sel) {
                return w;
            }
            let cur = ctx
                .newest_sock(sel)
                .and_then(|id| model.sock(id))
                .map(|r| r.lab.name().to_string());
            let have = match when {
                When::Ever => f
                    .first
                    .keys()
                    .filter(|k| k.is_some_and(|s| ctx.selects_sock(s, sel)))
                    .count(),
                When::Now => model
                    .socks
                    .values()
                    .filter(|r| ctx.selects_sock(r.id, sel) && r.lab.matches_name(state))
                    .count(),
            };
            state_why(sel, state, *when, *count, have, cur)
        }
        Cond::Kernel {
            sel,
            state,
            when,
            count,
        } => {
            if let Some(w) = missing_label(sel) {
                return w;
            }
            let cur = ctx.newest_sock(sel).map(|id| {
                let row = model.sock(id);
                let orphan = model
                    .orphans
                    .values()
                    .find(|o| o.origin == Some(id))
                    .map(|o| o.state.name());
                match (row.and_then(|r| r.kernel), orphan) {
                    (Some(k), _) if !row.is_some_and(|r| r.closed) => k.name().to_string(),
                    (_, Some(o)) => o.to_string(),
                    _ if row.is_some_and(|r| r.closed) => "closed".to_string(),
                    _ => "-".to_string(),
                }
            });
            let have = match when {
                When::Ever => f
                    .first
                    .keys()
                    .filter(|k| k.is_some_and(|s| ctx.selects_sock(s, sel)))
                    .count(),
                When::Now => kernel_now(ctx, model, sel, *state),
            };
            state_why(sel, state.name(), *when, *count, have, cur)
        }
        Cond::Queue {
            sel,
            queue,
            min,
            when,
        } => {
            if let Some(w) = missing_label(sel) {
                return w;
            }
            let (qen, qko) = match queue {
                Queue::Accept => ("accept queue", "accept 큐"),
                Queue::Recv => ("Recv-Q", "Recv-Q"),
                Queue::Send => ("Send-Q", "Send-Q"),
            };
            let (s_en, s_ko) = match &sel.label {
                Some(l) => (format!("{l}'s"), format!("{l}의")),
                None => ("no socket's".to_string(), "어느 소켓의".to_string()),
            };
            let now = ctx
                .newest_sock(sel)
                .and_then(|id| model.sock(id))
                .map(|r| queue_value(r, *queue))
                .unwrap_or(0);
            let peak = f
                .peak
                .iter()
                .filter(|(k, _)| ctx.selects_sock(**k, sel))
                .map(|(_, v)| *v)
                .max()
                .unwrap_or(0);
            match when {
                When::Ever => Why::new(
                    format!(
                        "{s_en} {qen} has not reached {min} yet (now: {now}, highest so far: {peak})"
                    ),
                    format!(
                        "{s_ko} {qko}가 아직 {min}에 이르지 않았어요 (지금: {now}, 최고: {peak})"
                    ),
                ),
                When::Now => Why::new(
                    format!("{s_en} {qen} is not at {min} or more now (now: {now})"),
                    format!("{s_ko} {qko}가 지금 {min} 이상이 아니에요 (지금: {now})"),
                ),
            }
        }
        Cond::Call { sel, method, req } => call_why(sel, method, req),
        Cond::Data {
            sel,
            dir,
            bytes,
            contains,
            total_at_least,
        } => {
            if let Some(w) = missing_label(sel) {
                return w;
            }
            let (v_en, v_ko) = match dir {
                Dir::Sent => ("sent", "보낸"),
                Dir::Received => ("received", "받은"),
            };
            let label = sel.label.as_deref();
            if let Some(b) = bytes {
                let r = bytes_repr(b);
                let at_most_once = f
                    .first
                    .keys()
                    .any(|k| k.is_some_and(|s| ctx.selects_sock(s, sel)));
                if !at_most_once {
                    return match label {
                        Some(l) => Why::new(
                            format!("{l} has not {v_en} exactly {r} in one chunk yet"),
                            format!(
                                "{} 아직 {}를 한 번에 {v_ko} 적이 없어요",
                                josa(l, "이", "가"),
                                r
                            ),
                        ),
                        None => Why::new(
                            format!("no socket has {v_en} exactly {r} in one chunk yet"),
                            format!("아직 {r}를 한 번에 {v_ko} 소켓이 없어요"),
                        ),
                    };
                }
            }
            if let Some(x) = contains {
                let r = bytes_repr(x);
                return match label {
                    Some(l) => Why::new(
                        format!("what {l} has {v_en} does not contain {r} yet"),
                        format!("{} {v_ko} 데이터에 아직 {r}가 없어요", josa(l, "이", "가")),
                    ),
                    None => Why::new(
                        format!("nothing {v_en} so far contains {r}"),
                        format!("지금까지 {v_ko} 데이터에 아직 {r}가 없어요"),
                    ),
                };
            }
            let n = total_at_least.unwrap_or(0);
            let have: u64 = f
                .total
                .iter()
                .filter(|(k, _)| ctx.selects_sock(**k, sel))
                .map(|(_, t)| t.0)
                .sum();
            let who = label.unwrap_or("your sockets");
            let who_ko = label.map(|l| josa(l, "이", "가")).unwrap_or_default();
            Why::new(
                format!(
                    "{who} {} {v_en} {have} of {n} bytes so far",
                    if label.is_some() { "has" } else { "have" }
                ),
                format!("{who_ko} 지금까지 {v_ko} 바이트: {have} / {n}")
                    .trim()
                    .to_string(),
            )
        }
        Cond::Peer {
            peer,
            got,
            said,
            measure,
        } => {
            let p = sanitize(peer);
            let mut w = if let (Some(g), None) = (got, f.got) {
                let g = sanitize(g);
                Why::new(
                    format!("{p} has not received \"{g}\" yet"),
                    format!(
                        "{} 아직 \"{g}\"{} 받지 못했어요",
                        josa(&p, "이", "가"),
                        if ends_consonant_q(&g) { "을" } else { "를" }
                    ),
                )
            } else if let (Some(s), None) = (said, f.said) {
                let s = sanitize(s);
                Why::new(
                    format!("{p} has not said \"{s}\" yet"),
                    format!(
                        "{} 아직 \"{s}\"{} 답하지 않았어요",
                        josa(&p, "이", "가"),
                        if ends_consonant_q(&s) {
                            "이라고"
                        } else {
                            "라고"
                        }
                    ),
                )
            } else {
                let m = sanitize(measure.as_deref().unwrap_or(""));
                Why::new(
                    format!("{p} has not reported {m} yet"),
                    format!(
                        "{} 아직 {m} 측정값을 보고하지 않았어요",
                        josa(&p, "이", "가")
                    ),
                )
            };
            if !ctx.has_peer(peer) {
                w.en.push_str(&format!(" (no peer named {p} has started)"));
                w.ko.push_str(&format!(
                    " ({} 피어가 시작되지 않았어요)",
                    josa(&p, "이라는", "라는")
                ));
            }
            w
        }
        Cond::Orphan {
            state, port, when, ..
        } => {
            let (p_en, p_ko) = match port {
                Some(p) => (format!(" on port {p}"), format!("포트 {p}의 ")),
                None => (String::new(), String::new()),
            };
            let s = state.name();
            match when {
                When::Ever => Why::new(
                    format!("no connection{p_en} has been left in {s} without a descriptor yet"),
                    format!("아직 {p_ko}연결 중 디스크립터 없이 {s} 상태로 남은 것이 없어요"),
                ),
                When::Now => Why::new(
                    format!("no connection{p_en} is in {s} without a descriptor now"),
                    format!("지금 디스크립터 없이 {s} 상태인 {p_ko}연결이 없어요"),
                ),
            }
        }
        Cond::All(_) | Cond::Any(_) | Cond::Seq(_) => Why::new("", ""),
    }
}

/// Whether quoted text (read as English) ends in a consonant sound, for the particle after it.
fn ends_consonant_q(s: &str) -> bool {
    josa(s, "1", "0").ends_with('1')
}

fn state_why(
    sel: &Sel,
    state: &str,
    when: When,
    count: u32,
    have: usize,
    cur: Option<String>,
) -> Why {
    let cur_en = cur
        .as_ref()
        .map(|c| format!(" (now: {c})"))
        .unwrap_or_default();
    let cur_ko = cur
        .as_ref()
        .map(|c| format!(" (지금: {c})"))
        .unwrap_or_default();
    if let (Some(l), 1) = (&sel.label, count) {
        return match when {
            When::Ever => Why::new(
                format!("{l} has not reached {state} yet{cur_en}"),
                format!(
                    "{} 아직 {state} 상태가 아니에요{cur_ko}",
                    josa(l, "이", "가")
                ),
            ),
            When::Now => Why::new(
                format!("{l} is not in {state} now{cur_en}"),
                format!(
                    "{} 지금 {state} 상태가 아니에요{cur_ko}",
                    josa(l, "이", "가")
                ),
            ),
        };
    }
    let (subj_en, subj_ko) = subject(sel);
    if count == 1 {
        return match when {
            When::Ever => Why::new(
                format!("{subj_en} has reached {state} yet"),
                format!("아직 {state} 상태에 이른 {subj_ko}이 없어요"),
            ),
            When::Now => Why::new(
                format!("{subj_en} is in {state} now"),
                format!("지금 {state} 상태인 {subj_ko}이 없어요"),
            ),
        };
    }
    let whose = match (&sel.label, &sel.owner) {
        (Some(l), _) => format!(" named {l}"),
        (None, OwnerSel::Peer(p)) => format!(" of {p}"),
        _ => String::new(),
    };
    let whose_ko = match (&sel.label, &sel.owner) {
        (Some(l), _) => format!("{} ", josa(l, "이라는", "라는")),
        (None, OwnerSel::Peer(p)) => format!("{p}의 "),
        _ => String::new(),
    };
    match when {
        When::Ever => Why::new(
            format!("only {have} of {count} sockets{whose} have reached {state} so far"),
            format!("{state} 상태에 이른 {whose_ko}소켓이 아직 {count}개 중 {have}개예요"),
        ),
        When::Now => Why::new(
            format!("only {have} of {count} sockets{whose} are in {state} now"),
            format!("지금 {state} 상태인 {whose_ko}소켓이 {count}개 중 {have}개예요"),
        ),
    }
}

fn call_why(sel: &Sel, method: &str, req: &CallReq) -> Why {
    let target = match &sel.label {
        Some(l) => format!("{l}.{method}()"),
        None => format!("{method}()"),
    };
    let by = match &sel.owner {
        OwnerSel::Peer(p) => (format!(" by {p}"), format!("{p}의 ")),
        _ => (String::new(), String::new()),
    };
    let mut en: Vec<String> = Vec::new();
    let mut ko: Vec<String> = Vec::new();
    match req.ok {
        Some(true) => {
            en.push("succeeded".into());
            ko.push("성공한".into());
        }
        Some(false) if req.errno.is_none() && req.error.is_none() => {
            en.push("failed".into());
            ko.push("실패한".into());
        }
        _ => {}
    }
    if let Some(e) = &req.errno {
        en.push(format!("failed with {e}"));
        ko.push(format!("{e}로 실패한"));
    }
    if let Some(e) = &req.error {
        en.push(format!("raised {e}"));
        ko.push(format!("{} 발생한", josa(e, "이", "가")));
    }
    if let Some(r) = &req.returned {
        let r = bytes_repr(r);
        en.push(format!("returned {r}"));
        ko.push(format!("{r}를 돌려준"));
    }
    match req.partial {
        Some(true) => {
            en.push("sent only part of its data".into());
            ko.push("데이터를 일부만 보낸".into());
        }
        Some(false) => {
            en.push("sent everything it was given".into());
            ko.push("받은 데이터를 모두 보낸".into());
        }
        None => {}
    }
    match req.pending {
        Some(true) => {
            en.push("had to wait".into());
            ko.push("기다려야 했던".into());
        }
        Some(false) => {
            en.push("finished without waiting".into());
            ko.push("기다리지 않고 끝난".into());
        }
        None => {}
    }
    if en.is_empty() {
        return Why::new(
            format!("no {target} call{} yet", by.0),
            format!("아직 {}{target} 호출이 없어요", by.1),
        );
    }
    Why::new(
        format!("no {target} call{} has {} yet", by.0, en.join(" and ")),
        format!("아직 {} {}{target} 호출이 없어요", ko.join(", "), by.1),
    )
}
