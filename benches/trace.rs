//! Trace overhead: a syscall-heavy program (20 000 send/recv round trips
//! over loopback, in Python) run plain, under `socklab trace --headless`,
//! and under `strace -f`, in one run. Prints the times and the ratios.
//! `cargo bench --bench trace` (builds the release binary first).
//!
//! And a floor: this bench re-run as `TRACE_FLOOR=1` is the least a ptrace
//! tracer that shows each call's bytes and result can do — a seccomp stop
//! before `sendto`/`recvfrom`, a stop after it, one read of the program's
//! memory, nothing formatted, nothing kept — on the program's CPU, as
//! socklab runs. What socklab adds above that floor is its own work; the
//! floor itself is the price of two ptrace stops a call.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PROGRAM: &str = r#"
import socket
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen()
a = socket.create_connection(l.getsockname())
b, _ = l.accept()
for _ in range(20000):
    a.send(b"x")
    b.recv(1)
"#;

fn time(mut cmd: Command) -> Duration {
    let t = Instant::now();
    let st = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("runs");
    assert!(st.success(), "{cmd:?} failed");
    t.elapsed()
}

const ROUNDS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    if std::env::var_os("TRACE_FLOOR").is_some() {
        let argv: Vec<String> = std::env::args().skip_while(|a| a != "--").skip(1).collect();
        std::process::exit(floor::run(&argv));
    }
    let exe = env!("CARGO_BIN_EXE_socklab");
    // The system's python3 when there is one (a pyenv shim on PATH adds a
    // shell script's start to every run), else the one on PATH.
    let py = if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let me = std::env::current_exe().expect("the bench's own path");
    let bare = || {
        let mut c = Command::new(&me);
        c.env("TRACE_FLOOR", "1").args(["--", py, "-c", PROGRAM]);
        c
    };
    let plain = || {
        let mut c = Command::new(py);
        c.args(["-c", PROGRAM]);
        c
    };
    let traced = || {
        let mut c = Command::new(exe);
        c.args(["trace", "--headless", "--", py, "-c", PROGRAM]);
        c
    };
    let strace = || {
        let mut c = Command::new("strace");
        c.args(["-f", "-o", "/dev/null", py, "-c", PROGRAM]);
        c
    };
    // strace given socklab's placement: it and the program on one CPU.
    let strace_one_cpu = || {
        use std::os::unix::process::CommandExt;
        let mut c = strace();
        // SAFETY: sched_setaffinity on a cpu_set_t of ours is
        // async-signal-safe; it runs in the child before exec.
        unsafe {
            c.pre_exec(|| {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(libc::sched_getcpu().max(0) as usize, &mut set);
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
                Ok(())
            });
        }
        c
    };
    let have_strace = Command::new("strace").arg("-V").output().is_ok();
    // Interleaved rounds, so a busy moment of a shared machine hits all three.
    let (mut p, mut t, mut s, mut f, mut s1) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        p.push(time(plain()).as_secs_f64());
        f.push(time(bare()).as_secs_f64());
        t.push(time(traced()).as_secs_f64());
        if have_strace {
            s.push(time(strace()).as_secs_f64());
            s1.push(time(strace_one_cpu()).as_secs_f64());
        }
    }
    let (p, t, f) = (median(p), median(t), median(f));
    println!("20 000 round trips in {py}, medians of {ROUNDS} interleaved rounds:");
    println!("plain                    {p:8.3} s");
    println!(
        "floor (two bare stops)   {f:8.3} s  ({:.1}×)  socklab's own work above it: {:.0} %",
        f / p,
        100.0 * (t - f) / (t - p)
    );
    println!("socklab trace --headless {t:8.3} s  ({:.1}×)", t / p);
    if have_strace {
        let s = median(s);
        println!("strace -f                {s:8.3} s  ({:.1}×)", s / p);
        println!(
            "overhead socklab / strace: {:.2} (target < 1: socklab adds less time than strace -f); floor / strace: {:.2}",
            (t - p) / (s - p),
            (f - p) / (s - p)
        );
        let s1 = median(s1);
        println!(
            "strace -f on one CPU     {s1:8.3} s  ({:.1}×)  overhead socklab / this: {:.2} (both near the floor: two stops a call)",
            s1 / p,
            (t - p) / (s1 - p)
        );
    } else {
        println!("strace -f                (strace is not installed)");
    }
    // A pyenv shim (a shell script exec'ing on to python) is traced too:
    // strace -f follows every helper it forks, socklab stops only at the
    // helpers' socket-related calls. Said, so the figures read right.
    if py == "python3"
        && let Some(p) = script_on_path("python3")
    {
        println!(
            "(python3 is a script here, {}: both tracers run it too; strace -f stops at every call of its helpers)",
            p.display()
        );
    }
}

/// The first `name` on PATH, if it is a `#!` script.
fn script_on_path(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    let p = std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())?;
    let head = std::fs::read(&p).ok()?;
    head.starts_with(b"#!").then_some(p)
}

/// The floor: the smallest tracer that stops before and after each
/// `sendto`/`recvfrom` and reads the bytes, run on the program's CPU.
mod floor {
    use std::ffi::CString;

    pub fn run(argv: &[String]) -> i32 {
        assert!(!argv.is_empty(), "TRACE_FLOOR=1 BENCH -- CMD ARGS…");
        let args: Vec<CString> = argv
            .iter()
            .map(|a| CString::new(a.as_str()).unwrap())
            .collect();
        let mut ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        let ld = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
        let jeq = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
        let ret = (libc::BPF_RET | libc::BPF_K) as u16;
        let f = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
        let filter = [
            f(ld, 0, 0, 0),
            f(jeq, 2, 0, libc::SYS_sendto as u32),
            f(jeq, 1, 0, libc::SYS_recvfrom as u32),
            f(ret, 0, 0, libc::SECCOMP_RET_ALLOW),
            f(ret, 0, 0, libc::SECCOMP_RET_TRACE),
        ];
        let prog = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: a plain fork/exec tracer: the child makes only
        // async-signal-safe calls before exec; every ptrace call names our
        // own stopped tracee; buffers are ours and sized.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(libc::sched_getcpu() as usize, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
            let pid = libc::fork();
            if pid == 0 {
                libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
                libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &prog);
                libc::raise(libc::SIGSTOP);
                libc::execvp(ptrs[0], ptrs.as_ptr());
                libc::_exit(127);
            }
            let mut st = 0;
            libc::waitpid(pid, &mut st, 0);
            let opts =
                libc::PTRACE_O_TRACESECCOMP | libc::PTRACE_O_EXITKILL | libc::PTRACE_O_TRACESYSGOOD;
            libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0, opts as libc::c_long);
            libc::ptrace(libc::PTRACE_CONT, pid, 0, 0);
            let mut info: libc::ptrace_syscall_info = std::mem::zeroed();
            let size = std::mem::size_of::<libc::ptrace_syscall_info>();
            let mut buf = [0u8; 64];
            let mut code = 1;
            let mut last = (0i64, 0u64);
            loop {
                let t = libc::waitpid(-1, &mut st, libc::__WALL);
                if t < 0 {
                    break;
                }
                if libc::WIFEXITED(st) || libc::WIFSIGNALED(st) {
                    if t == pid {
                        code = if libc::WIFEXITED(st) {
                            libc::WEXITSTATUS(st)
                        } else {
                            1
                        };
                        break;
                    }
                    continue;
                }
                let sig = libc::WSTOPSIG(st);
                let seccomp = sig == libc::SIGTRAP && (st >> 16) == libc::PTRACE_EVENT_SECCOMP;
                if seccomp || sig == libc::SIGTRAP | 0x80 {
                    libc::ptrace(libc::PTRACE_GET_SYSCALL_INFO, t, size, &mut info);
                    // The bytes: a send's before the call, a recv's after it
                    // (the program here has one thread: one call at a time).
                    let read = if seccomp {
                        last = (info.u.seccomp.nr as i64, info.u.seccomp.args[1]);
                        last.0 == libc::SYS_sendto
                    } else {
                        last.0 == libc::SYS_recvfrom && info.u.exit.sval > 0
                    };
                    if read {
                        let local = libc::iovec {
                            iov_base: buf.as_mut_ptr().cast(),
                            iov_len: 1,
                        };
                        let remote = libc::iovec {
                            iov_base: last.1 as *mut libc::c_void,
                            iov_len: 1,
                        };
                        libc::process_vm_readv(t, &local, 1, &remote, 1, 0);
                    }
                    let req = if seccomp {
                        libc::PTRACE_SYSCALL
                    } else {
                        libc::PTRACE_CONT
                    };
                    libc::ptrace(req, t, 0, 0);
                } else if sig == libc::SIGTRAP || sig == libc::SIGSTOP {
                    libc::ptrace(libc::PTRACE_CONT, t, 0, 0);
                } else {
                    libc::ptrace(libc::PTRACE_CONT, t, 0, sig);
                }
            }
            code
        }
    }
}
