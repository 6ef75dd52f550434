//! Starting the program under trace: `PTRACE_TRACEME`, `PR_SET_NO_NEW_PRIVS`
//! and a seccomp filter in the child before `exec`, so that the program stops
//! only at the system calls of the table (strace's `--seccomp-bpf`).

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::table;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

/// The BPF program: the wrong architecture is let through (it cannot be
/// decoded, and a 32-bit call has other numbers), a traced number returns
/// SECCOMP_RET_TRACE, everything else is allowed.
pub fn filter() -> Vec<libc::sock_filter> {
    let nrs = table::numbers();
    let n = nrs.len();
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jeq = |k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    };
    let ld = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    // struct seccomp_data: int nr; __u32 arch; ...
    let mut f = vec![
        stmt(ld, 4),
        jeq(AUDIT_ARCH, 1, 0),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
        stmt(ld, 0),
    ];
    // x32 calls on x86_64 carry bit 30: let them through.
    #[cfg(target_arch = "x86_64")]
    {
        f.push(libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16,
            jt: (n + 1) as u8,
            jf: 0,
            k: 0x4000_0000,
        });
    }
    for (i, nr) in nrs.iter().enumerate() {
        // Jump to the TRACE return, which comes after the ALLOW.
        let to_trace = (n - i) as u8;
        f.push(jeq(*nr, to_trace, 0));
    }
    f.push(stmt(ret, libc::SECCOMP_RET_ALLOW));
    f.push(stmt(ret, libc::SECCOMP_RET_TRACE));
    f
}

/// Where `prog` is (PATH lookup as the shell does), so that a typo is a clear
/// error here and not a silent failure in the child.
pub fn resolve(prog: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let exec = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if prog.components().count() > 1 {
        return exec(prog).then(|| prog.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| exec(p))
}

/// Fork and exec `argv` traced by the calling thread, its output on pipes.
/// The child stops with SIGTRAP right after `exec`.
pub fn spawn(
    argv: &[OsString],
    cwd: Option<&Path>,
    env: &[(OsString, OsString)],
) -> std::io::Result<Child> {
    let prog = resolve(Path::new(&argv[0])).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no program {:?} (not in PATH, or not executable)", argv[0]),
        )
    })?;
    let filter = filter();
    let mut cmd = Command::new(prog);
    cmd.arg0(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    // The kernel takes the filter's length as a u16: refuse rather than cut.
    let filter_len = u16::try_from(filter.len()).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the seccomp filter is too long",
        )
    })?;
    // SAFETY: only async-signal-safe calls (prctl, ptrace) between fork and
    // exec; the filter was built before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let prog = libc::sock_fprog {
                len: filter_len,
                filter: filter.as_ptr() as *mut libc::sock_filter,
            };
            if libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &prog as *const libc::sock_fprog,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn()
}
