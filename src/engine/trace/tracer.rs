//! The tracer thread: it owns every tracee (ptrace requests must come from
//! the thread that traces), waits for their stops with `__WALL`, and turns
//! each seccomp stop into lab events. A call is let through at once when it
//! does not concern a lab socket (a `read` of a file); otherwise the tracer
//! waits for its syscall-exit stop to report the result.
//!
//! Longer than most files (~900 lines): the stop loop, the per-process
//! descriptor cache and the step-mode hold are one state machine over the
//! same task table; results are worded in `result`, arguments in `decode`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use nix::unistd::Pid;

use super::decode::{self, SockAddr};
use super::socks::SharedSocks;
use super::table::{Arg, Kind, Row, lookup};
use super::{Ctl, Mode, Release, lock};
use crate::engine::error::{Call, CallError, Facts, Note, explain};
use crate::engine::event::{EventKind, ProgramNote};
use crate::engine::shared::Shared;
use crate::engine::types::*;

/// Most traced processes at once; a program forking past it gets its new
/// children killed, like a flooding peer is bounded.
pub const MAX_PROCS: usize = 64;

/// One call between its seccomp stop and its exit stop.
struct InCall {
    row: &'static Row,
    args: [u64; 6],
    id: CallId,
    sock: Option<SockId>,
    text: String,
    /// Address the call is about (bind, connect, sendto).
    addr: Option<SockAddr>,
    /// Refused before it ran (a remote address): the message.
    deny: Option<Deny>,
    /// Silent bookkeeping (dup): no events.
    silent: bool,
    /// The bytes a send-like call passes, read once before it runs (capped).
    pre: Option<Vec<u8>>,
}

struct Task {
    tgid: u32,
    call: Option<InCall>,
    /// Restarted after a signal: the same call goes on at the next stop.
    restart: Option<InCall>,
    /// Held before its call in step mode.
    held: Option<InCall>,
}

struct Proc {
    name: String,
    /// Descriptor → the inode of a lab socket it names, or None (a file, a pipe,
    /// a non-internet socket). Filled on first use, dropped at close/dup/exec.
    fds: HashMap<i32, Option<u64>>,
}

pub(super) struct Tracer {
    pub sh: Arc<Shared>,
    pub ctl: Arc<Ctl>,
    pub socks: SharedSocks,
    pub root: u32,
    tasks: HashMap<u32, Task>,
    procs: HashMap<u32, Proc>,
    /// Tasks held in step mode, oldest first.
    held: Vec<u32>,
}

const OPTIONS: libc::c_int = libc::PTRACE_O_TRACESECCOMP
    | libc::PTRACE_O_EXITKILL
    | libc::PTRACE_O_TRACECLONE
    | libc::PTRACE_O_TRACEFORK
    | libc::PTRACE_O_TRACEVFORK
    | libc::PTRACE_O_TRACEEXEC
    | libc::PTRACE_O_TRACESYSGOOD;

fn resume(tid: u32, req: libc::c_uint, sig: i32) {
    // SAFETY: plain ptrace request on our own tracee.
    unsafe { libc::ptrace(req, tid as libc::pid_t, 0, sig as libc::c_long) };
}

fn cont(tid: u32, sig: i32) {
    resume(tid, libc::PTRACE_CONT, sig);
}

fn to_exit(tid: u32) {
    resume(tid, libc::PTRACE_SYSCALL, 0);
}

pub(super) fn tgid_of(tid: u32) -> u32 {
    status_field(tid, "Tgid:").unwrap_or(tid)
}

/// A number from `/proc/TID/status` (`Tgid:`, `PPid:`).
fn status_field(tid: u32, field: &str) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{tid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().parse().ok())
        })
}

fn comm_of(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "program".into())
}

fn argv_of(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `socket:[INODE]` behind a descriptor.
pub(super) fn inode_of(pid: u32, fd: i32) -> Option<u64> {
    let l = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()?;
    let s = l.to_str()?;
    s.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
}

/// The family and type of another process's socket: borrow the descriptor
/// (`pidfd_getfd`), ask, and give it back at once.
fn probe(pid: u32, fd: i32) -> Option<(Family, SockType)> {
    // SAFETY: raw syscalls; every descriptor we get is closed below.
    unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) as i32;
        if pidfd < 0 {
            return None;
        }
        let dup = libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) as i32;
        libc::close(pidfd);
        if dup < 0 {
            return None;
        }
        let get = |opt: i32| {
            let mut v: libc::c_int = 0;
            let mut len = 4 as libc::socklen_t;
            let r = libc::getsockopt(
                dup,
                libc::SOL_SOCKET,
                opt,
                &mut v as *mut _ as *mut libc::c_void,
                &mut len,
            );
            (r == 0).then_some(v)
        };
        let (dom, ty) = (get(libc::SO_DOMAIN), get(libc::SO_TYPE));
        libc::close(dup);
        kinds(dom? as i64, ty? as i64)
    }
}

/// The local and peer addresses of another process's socket, through a
/// borrowed descriptor (`pidfd_getfd`), given back at once.
fn names(pid: u32, fd: i32) -> Option<(Option<SocketAddr>, Option<SocketAddr>)> {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: raw syscalls; the descriptors we get are owned (closed on drop).
    let dup = unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) as i32;
        if pidfd < 0 {
            return None;
        }
        let pidfd = OwnedFd::from_raw_fd(pidfd);
        use std::os::fd::AsRawFd;
        let dup = libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) as i32;
        if dup < 0 {
            return None;
        }
        OwnedFd::from_raw_fd(dup)
    };
    let s = socket2::SockRef::from(&dup);
    let local = s.local_addr().ok().and_then(|a| a.as_socket());
    let peer = s.peer_addr().ok().and_then(|a| a.as_socket());
    Some((local, peer))
}

pub(super) fn kinds(family: i64, ty: i64) -> Option<(Family, SockType)> {
    let f = match family as i32 {
        libc::AF_INET => Family::V4,
        libc::AF_INET6 => Family::V6,
        _ => return None,
    };
    let t = match ty as i32 & 0xf {
        libc::SOCK_STREAM => SockType::Stream,
        libc::SOCK_DGRAM => SockType::Dgram,
        _ => return None,
    };
    Some((f, t))
}

impl Tracer {
    pub fn new(
        sh: Arc<Shared>,
        ctl: Arc<Ctl>,
        socks: SharedSocks,
        root: u32,
        name: &str,
    ) -> Tracer {
        let mut t = Tracer {
            sh,
            ctl,
            socks,
            root,
            tasks: HashMap::new(),
            procs: HashMap::new(),
            held: Vec::new(),
        };
        t.add_task(root, root);
        t.procs.insert(
            root,
            Proc {
                name: name.to_string(),
                fds: HashMap::new(),
            },
        );
        t
    }

    fn add_task(&mut self, tid: u32, tgid: u32) {
        self.tasks.insert(
            tid,
            Task {
                tgid,
                call: None,
                restart: None,
                held: None,
            },
        );
        lock(&self.ctl.state).pids.insert(tgid);
    }

    fn owner(&self, tgid: u32) -> Owner {
        Owner::Program {
            name: self
                .procs
                .get(&tgid)
                .map(|p| p.name.clone())
                .unwrap_or_else(|| comm_of(tgid)),
            pid: tgid,
        }
    }

    /// A note about a process goes to the log at once (with what is queued).
    fn note(&self, pid: u32, note: ProgramNote) {
        self.ctl.out.emit_now(EventKind::Program { pid, note });
    }

    /// After each stop: the watcher sends what is queued (off the CPU the
    /// tracer shares with the program); make sure it comes. The tracer
    /// sends only when the queue is long overdue (the watcher is starved).
    fn after_stop(&self) {
        match self.ctl.out.due() {
            Some(d) if Instant::now() >= d + 4 * super::sink::FLUSH_AFTER => self.ctl.out.flush(),
            Some(_) => self.ctl.wake_watcher(),
            None => {}
        }
    }

    /// Wait for stops until every tracee is gone.
    pub fn run(mut self) {
        // The first stop: SIGTRAP after exec.
        let mut status = 0;
        // SAFETY: waiting for our own child.
        let r = unsafe {
            libc::waitpid(
                self.root as i32,
                &mut status,
                libc::__WALL | libc::__WNOTHREAD,
            )
        };
        if r == self.root as i32 && libc::WIFSTOPPED(status) {
            // SAFETY: our tracee, stopped.
            unsafe {
                libc::ptrace(
                    libc::PTRACE_SETOPTIONS,
                    self.root as i32,
                    0,
                    OPTIONS as libc::c_long,
                )
            };
            cont(self.root, 0);
        } else if r == self.root as i32 {
            self.on_gone(self.root, status);
        }
        while !self.tasks.is_empty() {
            let flags = libc::__WALL | libc::__WNOTHREAD;
            let (tid, status) = if self.held.is_empty() {
                let mut st = 0;
                // SAFETY: waiting for our tracees.
                let r = unsafe { libc::waitpid(-1, &mut st, flags) };
                if r < 0 {
                    if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                        continue;
                    }
                    break;
                }
                (r as u32, st)
            } else {
                // Something is held: look at commands between waits.
                self.releases();
                let mut st = 0;
                // SAFETY: as above, without blocking.
                let r = unsafe { libc::waitpid(-1, &mut st, flags | libc::WNOHANG) };
                if r <= 0 {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    continue;
                }
                (r as u32, st)
            };
            self.on_status(tid, status);
            self.after_stop();
        }
        self.socks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .close_all(&self.ctl.out);
        self.ctl.out.flush();
    }

    fn on_status(&mut self, tid: u32, status: i32) {
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            self.on_gone(tid, status);
            return;
        }
        if !libc::WIFSTOPPED(status) {
            return;
        }
        if !self.tasks.contains_key(&tid) {
            // A new child can report before its parent's fork event: its
            // parent is then found in /proc (a fork of ours is ours).
            let tgid = tgid_of(tid);
            let parent = status_field(tid, "PPid:").filter(|p| self.procs.contains_key(p));
            self.new_task(tid, tgid, parent);
        }
        let sig = libc::WSTOPSIG(status);
        let event = (status >> 16) & 0xff;
        if sig == libc::SIGTRAP | 0x80 {
            self.on_exit(tid);
        } else if sig == libc::SIGTRAP && event == libc::PTRACE_EVENT_SECCOMP {
            self.on_seccomp(tid);
        } else if sig == libc::SIGTRAP && event != 0 {
            self.on_event(tid, event);
        } else if sig == libc::SIGSTOP && self.fresh(tid) {
            cont(tid, 0);
        } else {
            // A signal for the program: deliver it. A group-stop has no siginfo.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: reading the stop's siginfo into a local.
            let r = unsafe { libc::ptrace(libc::PTRACE_GETSIGINFO, tid as i32, 0, &mut info) };
            cont(tid, if r < 0 { 0 } else { sig });
        }
    }

    fn fresh(&mut self, tid: u32) -> bool {
        // Children auto-attached by TRACEFORK/CLONE start with a SIGSTOP.
        let p = &self.ctl.fresh;
        lock(p).remove(&tid)
    }

    fn new_task(&mut self, tid: u32, tgid: u32, parent: Option<u32>) {
        if self.tasks.contains_key(&tid) {
            return;
        }
        lock(&self.ctl.fresh).insert(tid);
        self.add_task(tid, tgid);
        if self.procs.contains_key(&tgid) {
            return;
        }
        let parent_tgid = parent.map(|p| self.tasks.get(&p).map(|t| t.tgid).unwrap_or(p));
        let (name, fds) = match parent_tgid.and_then(|p| self.procs.get(&p)) {
            Some(pp) => (pp.name.clone(), pp.fds.clone()),
            None => (comm_of(tgid), HashMap::new()),
        };
        let too_many = self.procs.len() >= MAX_PROCS;
        let st = lock(&self.ctl.state);
        if too_many || st.killing {
            st.pids.kill(tgid);
        }
        drop(st);
        if too_many {
            self.ctl.out.emit_now(EventKind::Notice {
                note: Note::new("notice.too_many_procs")
                    .with("program", &name)
                    .with("max", MAX_PROCS),
            });
        }
        if let Some(p) = parent_tgid {
            lock(&self.socks).fork(p, tgid);
        }
        self.procs.insert(
            tgid,
            Proc {
                name: name.clone(),
                fds,
            },
        );
        self.note(
            tgid,
            ProgramNote::Started {
                name,
                argv: argv_of(tgid),
                parent: parent_tgid,
                exec: false,
            },
        );
    }

    fn on_event(&mut self, tid: u32, event: i32) {
        match event {
            libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE => {
                let new = nix::sys::ptrace::getevent(Pid::from_raw(tid as i32)).unwrap_or(0) as u32;
                if new != 0 {
                    let tgid = tgid_of(new);
                    self.new_task(new, tgid, Some(tid));
                }
            }
            libc::PTRACE_EVENT_EXEC => {
                let tgid = self.tasks.get(&tid).map(|t| t.tgid).unwrap_or(tid);
                let name = comm_of(tgid);
                if let Some(p) = self.procs.get_mut(&tgid) {
                    p.name = name.clone();
                    p.fds.clear();
                }
                // Descriptors closed on exec (CLOEXEC) are gone now.
                let mut socks = lock(&self.socks);
                let held: Vec<(u32, i32)> = socks
                    .by_inode
                    .iter()
                    .flat_map(|(i, s)| s.holders.iter().map(move |h| (*i, *h)))
                    .filter(|(_, h)| h.0 == tgid)
                    .filter(|(i, h)| inode_of(h.0, h.1) != Some(*i))
                    .map(|(_, h)| h)
                    .collect();
                for h in held {
                    socks.drop_holder(&self.ctl.out, h);
                }
                drop(socks);
                self.note(
                    tgid,
                    ProgramNote::Started {
                        name,
                        argv: argv_of(tgid),
                        parent: None,
                        exec: true,
                    },
                );
            }
            _ => {}
        }
        cont(tid, 0);
    }

    fn on_gone(&mut self, tid: u32, status: i32) {
        let Some(task) = self.tasks.remove(&tid) else {
            return;
        };
        self.held.retain(|t| *t != tid);
        for c in [task.call, task.held, task.restart].into_iter().flatten() {
            self.finish_pending(c.id);
            if !c.silent && !c.text.is_empty() {
                self.ctl.out.emit(EventKind::CallFailed {
                    call: c.id,
                    sock: c.sock,
                    error: CallError::other("ProcessExit", "", Note::new("explain.process_exit")),
                });
            }
        }
        if self.tasks.values().any(|t| t.tgid == task.tgid) {
            return;
        }
        let pid = task.tgid;
        self.procs.remove(&pid);
        lock(&self.ctl.state).pids.remove(pid);
        lock(&self.socks).drop_process(&self.ctl.out, pid);
        let (code, signal, how) = if libc::WIFEXITED(status) {
            let c = libc::WEXITSTATUS(status);
            (Some(c), None, Note::new("prog.exit_status").with("code", c))
        } else {
            let s = libc::WTERMSIG(status);
            let name = nix::sys::signal::Signal::try_from(s)
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|_| s.to_string());
            (
                None,
                Some(s),
                Note::new("prog.killed_by").with("signal", name),
            )
        };
        self.note(pid, ProgramNote::Exited { code, signal, how });
    }

    /// The lab socket behind a descriptor, if it is one.
    fn lab_inode(&mut self, tgid: u32, fd: i32) -> Option<u64> {
        if fd < 0 {
            return None;
        }
        if let Some(v) = self.procs.get(&tgid).and_then(|p| p.fds.get(&fd)) {
            return *v;
        }
        let v = inode_of(tgid, fd).filter(|inode| {
            let mut socks = lock(&self.socks);
            if let Some(s) = socks.by_inode.get_mut(inode) {
                s.holders.insert((tgid, fd));
                return true;
            }
            // A socket made before the trace saw it (inherited): adopt it.
            match probe(tgid, fd) {
                Some((f, t)) => {
                    socks.create(
                        &self.ctl.out,
                        *inode,
                        (tgid, fd),
                        Owner::Program {
                            name: self
                                .procs
                                .get(&tgid)
                                .map(|p| p.name.clone())
                                .unwrap_or_default(),
                            pid: tgid,
                        },
                        f,
                        t,
                        LabState::Created,
                    );
                    true
                }
                None => false,
            }
        });
        if let Some(p) = self.procs.get_mut(&tgid) {
            p.fds.insert(fd, v);
        }
        v
    }

    /// Before a connection's descriptor closes: its addresses, if the
    /// kernel's table has not been read since it connected (a fast program),
    /// so that what it leaves behind (TIME_WAIT) is still known as its own.
    fn learn_names(&self, tgid: u32, fd: i32, inode: u64) {
        let mut socks = lock(&self.socks);
        let Some(s) = socks.by_inode.get_mut(&inode) else {
            return;
        };
        if s.ty != SockType::Stream || (s.local.is_some() && s.peer.is_some()) {
            return;
        }
        let Some((local, peer)) = names(tgid, fd) else {
            return;
        };
        if peer.is_none() || (local, peer) == (s.local, s.peer) {
            return;
        }
        s.local = local;
        s.peer = peer;
        self.ctl.out.emit(EventKind::Endpoints {
            sock: s.id,
            local,
            peer,
        });
    }

    fn sock_id(&self, inode: u64) -> Option<SockId> {
        lock(&self.socks).by_inode.get(&inode).map(|s| s.id)
    }

    fn has_lab_socks(&self, tgid: u32) -> bool {
        self.procs
            .get(&tgid)
            .is_some_and(|p| p.fds.values().any(|v| v.is_some()))
    }

    fn on_seccomp(&mut self, tid: u32) {
        let Ok(info) = nix::sys::ptrace::syscall_info(Pid::from_raw(tid as i32)) else {
            cont(tid, 0);
            return;
        };
        if info.op != libc::PTRACE_SYSCALL_INFO_SECCOMP {
            cont(tid, 0);
            return;
        }
        // SAFETY: op says which member of the union is filled.
        let (nr, args) = unsafe { (info.u.seccomp.nr as i64, info.u.seccomp.args) };
        let Some(row) = lookup(nr) else {
            cont(tid, 0);
            return;
        };
        let tgid = self.tasks.get(&tid).map(|t| t.tgid).unwrap_or(tid);
        if let Some(task) = self.tasks.get_mut(&tid)
            && let Some(c) = task.restart.take()
            && c.row.nr == nr
        {
            self.register_pending(&c);
            if let Some(t) = self.tasks.get_mut(&tid) {
                t.call = Some(c);
            }
            to_exit(tid);
            return;
        }
        let fd = args[0] as i32;
        let pid = Pid::from_raw(tgid as i32);
        let mut sock = None;
        let relevant = match row.kind {
            Kind::Dup => true,
            Kind::SocketPair => false,
            Kind::Socket => kinds(args[0] as i64, args[1] as i64).is_some(),
            Kind::Close => {
                let lab = self.lab_inode(tgid, fd);
                if let Some(p) = self.procs.get_mut(&tgid) {
                    p.fds.remove(&fd);
                }
                if let Some(i) = lab {
                    self.learn_names(tgid, fd, i);
                }
                sock = lab.and_then(|i| self.sock_id(i));
                lab.is_some()
            }
            Kind::Wait => self.wait_relevant(tgid, row, &args),
            Kind::Control => {
                let shown = match row.name {
                    "fcntl" => args[1] as i32 == libc::F_SETFL,
                    _ => args[1] as libc::c_ulong == libc::FIONBIO as libc::c_ulong,
                };
                shown && self.lab_inode(tgid, fd).is_some()
            }
            _ => match self.lab_inode(tgid, fd) {
                Some(i) => {
                    sock = self.sock_id(i);
                    true
                }
                None => false,
            },
        };
        if !relevant {
            cont(tid, 0);
            return;
        }
        if row.kind == Kind::Close
            && let Some(p) = self.procs.get_mut(&tgid)
        {
            p.fds.remove(&fd);
        }
        let silent = row.kind == Kind::Dup;
        // A send's bytes are read once, here: shown in the call, kept for Traffic.
        let pre = row.args.iter().find_map(|a| match a {
            Arg::DataIn(p, l) if row.kind == Kind::Send => Some(decode::read_mem(
                pid,
                args[*p],
                (args[*l] as usize).min(decode::KEEP),
            )),
            _ => None,
        });
        let text = if silent {
            String::new()
        } else {
            let shown: Vec<String> = row
                .args
                .iter()
                .filter_map(|a| match (a, &pre) {
                    (Arg::DataIn(_, l), Some(d)) => {
                        Some(decode::show_data(&d[..d.len().min(decode::SHOW)], args[*l]))
                    }
                    _ => decode::show_arg(pid, *a, &args),
                })
                .collect();
            format!("{}({})", row.name, shown.join(", "))
        };
        let addr = row.args.iter().find_map(|a| match a {
            Arg::AddrIn(p, l) => decode::read_sockaddr(pid, args[*p], args[*l]),
            Arg::MsgIn(p) => decode::read_msghdr(pid, args[*p])
                .and_then(|(n, l, _, _)| decode::read_sockaddr(pid, n, l)),
            _ => None,
        });
        let deny = self.check_remote(row.kind, addr.as_ref().and_then(|a| a.inet()));
        let call = InCall {
            row,
            args,
            id: self.sh.new_call_id(),
            sock,
            text,
            addr,
            deny,
            silent,
            pre,
        };
        if !silent && self.should_hold(row.kind) {
            // Counted before it is announced: whoever reads the note sees it held.
            lock(&self.ctl.state).held += 1;
            let note = ProgramNote::AboutToCall {
                owner: self.owner(tgid),
                method: row.name.to_string(),
                text: call.text.clone(),
            };
            if let Some(t) = self.tasks.get_mut(&tid) {
                t.held = Some(call);
            }
            self.held.push(tid);
            self.note(tgid, note);
            return;
        }
        self.start(tid, call);
    }

    fn wait_relevant(&mut self, tgid: u32, row: &Row, args: &[u64; 6]) -> bool {
        let pid = Pid::from_raw(tgid as i32);
        let fds: Vec<i32> = match row.args.first() {
            Some(Arg::PollFds(p, n)) => decode::read_pollfds(pid, args[*p], args[*n])
                .into_iter()
                .map(|f| f.0)
                .collect(),
            Some(Arg::FdSets) => (1..4)
                .flat_map(|k| decode::read_fdset(pid, args[k], args[0] as i32))
                .collect(),
            _ => return self.has_lab_socks(tgid),
        };
        let mut any = false;
        for fd in fds {
            any |= self.lab_inode(tgid, fd).is_some();
        }
        any
    }

    fn check_remote(&self, kind: Kind, addr: Option<SocketAddr>) -> Option<Deny> {
        let a = addr?;
        if self.sh.cfg.allow_remote || !matches!(kind, Kind::Bind | Kind::Connect | Kind::Send) {
            return None;
        }
        let ip = a.ip();
        let lo = match ip {
            std::net::IpAddr::V4(v) => v.is_loopback(),
            std::net::IpAddr::V6(v) => {
                v.is_loopback() || v.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        };
        if lo || (ip.is_unspecified() && kind != Kind::Bind) {
            return None;
        }
        Some(if ip.is_unspecified() {
            Deny::BindAny {
                ip,
                instead: if a.is_ipv4() { "127.0.0.1" } else { "::1" },
            }
        } else {
            Deny::NotLoopback { ip }
        })
    }

    fn should_hold(&self, kind: Kind) -> bool {
        let mut st = lock(&self.ctl.state);
        match st.mode {
            Mode::Free => false,
            Mode::Step => true,
            Mode::Until(k) if k == kind => {
                st.mode = Mode::Step;
                true
            }
            Mode::Until(_) => false,
        }
    }

    /// Apply the handle's commands to held tasks.
    fn releases(&mut self) {
        let cmds: Vec<Release> = {
            let mut st = lock(&self.ctl.state);
            st.release.drain(..).collect()
        };
        for c in cmds {
            let n = match c {
                Release::One => 1.min(self.held.len()),
                Release::All => self.held.len(),
            };
            for tid in self.held.drain(..n).collect::<Vec<_>>() {
                lock(&self.ctl.state).held -= 1;
                let Some(call) = self.tasks.get_mut(&tid).and_then(|t| t.held.take()) else {
                    continue;
                };
                let tgid = self.tasks.get(&tid).map(|t| t.tgid).unwrap_or(tid);
                self.note(tgid, ProgramNote::Resumed);
                self.start(tid, call);
            }
        }
    }

    fn start(&mut self, tid: u32, call: InCall) {
        let tgid = self.tasks.get(&tid).map(|t| t.tgid).unwrap_or(tid);
        if !call.silent {
            self.ctl.out.emit(EventKind::CallStarted {
                call: call.id,
                sock: call.sock,
                owner: self.owner(tgid),
                method: call.row.name.to_string(),
                text: call.text.clone(),
            });
        }
        if call.deny.is_some() {
            super::regs::skip_syscall(tid);
        } else if !call.silent {
            self.register_pending(&call);
        }
        if let Some(t) = self.tasks.get_mut(&tid) {
            t.call = Some(call);
        }
        to_exit(tid);
    }

    fn register_pending(&self, call: &InCall) {
        if call.silent {
            return;
        }
        lock(&self.ctl.pending).insert(call.id, (Instant::now(), call.sock, false));
        self.ctl.wake_watcher();
    }

    fn finish_pending(&self, id: CallId) {
        lock(&self.ctl.pending).remove(&id);
    }

    fn on_exit(&mut self, tid: u32) {
        let Some(call) = self.tasks.get_mut(&tid).and_then(|t| t.call.take()) else {
            cont(tid, 0);
            return;
        };
        let tgid = self.tasks.get(&tid).map(|t| t.tgid).unwrap_or(tid);
        let info = nix::sys::ptrace::syscall_info(Pid::from_raw(tid as i32));
        // SAFETY: at a syscall-exit stop the exit member is filled.
        let mut rval = match info {
            Ok(i) if i.op == libc::PTRACE_SYSCALL_INFO_EXIT => unsafe { i.u.exit.sval },
            _ => -(libc::ENOSYS as i64),
        };
        if call.deny.is_some() {
            rval = -(libc::EACCES as i64);
            super::regs::set_return(tid, rval);
        }
        if (-516..=-512).contains(&rval) {
            // Interrupted by a signal; the kernel restarts it.
            if let Some(t) = self.tasks.get_mut(&tid) {
                t.restart = Some(call);
            }
            cont(tid, 0);
            return;
        }
        self.finish_pending(call.id);
        super::result::report(self, tgid, &call_view(&call), rval);
        cont(tid, 0);
        // Only a call that can change a socket's state (or failed, or read
        // an end of stream) asks for the kernel's table soon; bytes moving
        // change only the queues, read on a slower cadence.
        let changed = rval < 0
            || (call.row.kind == Kind::Recv && rval == 0)
            || matches!(
                call.row.kind,
                Kind::Socket
                    | Kind::SocketPair
                    | Kind::Bind
                    | Kind::Listen
                    | Kind::Accept
                    | Kind::Connect
                    | Kind::Shutdown
                    | Kind::Close
            );
        self.ctl.observe_soon(changed);
    }

    // ---- for `result` ----

    pub(super) fn lab_fd(&mut self, tgid: u32, fd: i32) -> Option<u64> {
        self.lab_inode(tgid, fd)
    }

    pub(super) fn set_fd(&mut self, tgid: u32, fd: i32, inode: Option<u64>) {
        if let Some(p) = self.procs.get_mut(&tgid) {
            p.fds.insert(fd, inode);
        }
    }

    pub(super) fn forget_fd(&mut self, tgid: u32, fd: i32) {
        if let Some(p) = self.procs.get_mut(&tgid) {
            p.fds.remove(&fd);
        }
    }

    pub(super) fn owner_of(&self, tgid: u32) -> Owner {
        self.owner(tgid)
    }

    pub(super) fn explain(
        &self,
        kind: Kind,
        sock: Option<SockId>,
        errno: i32,
        addr: Option<SocketAddr>,
    ) -> Note {
        let mut socks = lock(&self.socks);
        let s = sock.and_then(|id| socks.get(id));
        let udp = s.as_ref().is_some_and(|s| s.ty == SockType::Dgram);
        let facts = Facts {
            addr,
            local: s.as_ref().and_then(|s| s.local),
            shut_wr: s.as_ref().is_some_and(|s| s.shut_wr),
            shut_early: false,
        };
        let call = match kind {
            Kind::Bind => Call::Bind,
            Kind::Listen => Call::Listen,
            Kind::Accept => Call::Accept,
            Kind::Connect if udp => Call::ConnectUdp,
            Kind::Connect => Call::Connect,
            Kind::Send => Call::Send,
            Kind::Recv => Call::Recv,
            Kind::Shutdown => Call::Shutdown,
            Kind::SockOpt => Call::SockOpt,
            _ => return Note::default(),
        };
        explain(call, errno, &facts)
    }
}

/// Why socklab refused a traced call (it stays on loopback unless
/// `--allow-remote`).
#[derive(Clone, Copy, Debug)]
pub(super) enum Deny {
    /// Binding the unspecified address, which would take outside connections.
    BindAny {
        ip: std::net::IpAddr,
        instead: &'static str,
    },
    NotLoopback {
        ip: std::net::IpAddr,
    },
}

impl Deny {
    /// What the refusal means, after the errno the program saw.
    pub fn explain(&self) -> Note {
        match self {
            Deny::BindAny { ip, instead } => Note::new("explain.traced_bind_any")
                .with("ip", ip)
                .with("instead", instead),
            Deny::NotLoopback { ip } => Note::new("explain.traced_not_loopback").with("ip", ip),
        }
    }

    /// The lab's notice of it: who made which call, and why it was refused.
    pub fn notice(&self, who: &str, call: &str) -> Note {
        let n = match self {
            Deny::BindAny { ip, instead } => Note::new("notice.traced_bind_any")
                .with("ip", ip)
                .with("instead", instead),
            Deny::NotLoopback { ip } => Note::new("notice.traced_not_loopback").with("ip", ip),
        };
        n.with("who", who).with("call", call)
    }
}

/// What `result` needs of a finished call.
pub(super) struct CallView<'a> {
    pub row: &'static Row,
    pub args: [u64; 6],
    pub id: CallId,
    pub sock: Option<SockId>,
    pub addr: Option<&'a SockAddr>,
    pub deny: Option<&'a Deny>,
    pub silent: bool,
    pub text: &'a str,
    pub pre: Option<&'a [u8]>,
}

impl CallView<'_> {
    pub fn text(&self) -> &str {
        self.text
    }
}

fn call_view(c: &InCall) -> CallView<'_> {
    CallView {
        row: c.row,
        args: c.args,
        id: c.id,
        sock: c.sock,
        addr: c.addr.as_ref(),
        deny: c.deny.as_ref(),
        silent: c.silent,
        text: &c.text,
        pre: c.pre.as_deref(),
    }
}
