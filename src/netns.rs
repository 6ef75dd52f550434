//! `--netns`: the lab in a private network of its own, with no privileges.
//!
//! First thing in `main`, while the process has one thread (a user
//! namespace cannot be entered by a process with two), socklab enters a new
//! user and network namespace (`unshare(CLONE_NEWUSER | CLONE_NEWNET)`), maps
//! the user to itself, and brings that namespace's `lo` up. In there the
//! process holds every capability of the namespace, so capturing the wire
//! needs no root, and no socket can reach any other network. The pid goes in
//! a file in the runtime directory so that `socklab shell` in another
//! terminal can join the running lab (`setns`) and start the user's shell
//! there; programs socklab starts inherit the namespace anyway.
//!
//! Where the system forbids unprivileged user namespaces (Ubuntu 23.10+
//! with AppArmor, Debian's `kernel.unprivileged_userns_clone=0`), the error
//! says so and what to do.

use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use nix::sched::{CloneFlags, setns, unshare};

/// Where the running lab's pid is written: `$XDG_RUNTIME_DIR/socklab`, else
/// `/tmp/socklab-$UID`.
pub fn runtime_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d).join("socklab"),
        None => PathBuf::from(format!("/tmp/socklab-{}", nix::unistd::getuid())),
    }
}

fn pid_file() -> PathBuf {
    runtime_dir().join("netns.pid")
}

/// While alive, the lab's pid file exists; removed on drop.
pub struct LabNetns {
    file: Option<PathBuf>,
}

impl Drop for LabNetns {
    fn drop(&mut self) {
        if let Some(f) = &self.file
            && fs::read_to_string(f).is_ok_and(|s| s.trim() == std::process::id().to_string())
        {
            let _ = fs::remove_file(f);
        }
    }
}

/// Why user namespaces are refused here, from the sysctls that say so.
fn forbidden_hint() -> String {
    let read = |p: &str| fs::read_to_string(p).ok().map(|s| s.trim().to_string());
    let mut hints = Vec::new();
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        hints.push(
            "AppArmor restricts unprivileged user namespaces here \
             (kernel.apparmor_restrict_unprivileged_userns=1, the default since Ubuntu 23.10); \
             allow them with `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0`, \
             or give socklab CAP_NET_RAW instead: sudo setcap cap_net_raw+ep \"$(command -v socklab)\"",
        );
    }
    if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        hints.push(
            "unprivileged user namespaces are switched off (kernel.unprivileged_userns_clone=0); \
             `sudo sysctl kernel.unprivileged_userns_clone=1` switches them on",
        );
    }
    if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        hints.push("user namespaces are switched off (user.max_user_namespaces=0)");
    }
    if hints.is_empty() {
        "this system does not allow unprivileged user namespaces \
         (see kernel.apparmor_restrict_unprivileged_userns or kernel.unprivileged_userns_clone); \
         without --netns, capture needs: sudo setcap cap_net_raw+ep \"$(command -v socklab)\""
            .to_string()
    } else {
        hints.join("; ")
    }
}

fn write_map(path: &str, text: &str) -> anyhow::Result<()> {
    fs::write(path, text).map_err(|e| {
        if e.raw_os_error() == Some(libc::EPERM) {
            anyhow!("--netns: writing {path} was refused: {}", forbidden_hint())
        } else {
            anyhow!("--netns: writing {path}: {e}")
        }
    })
}

/// Enter a new user + network namespace. Call before any thread exists.
pub fn enter() -> anyhow::Result<LabNetns> {
    let (uid, gid) = (nix::unistd::getuid(), nix::unistd::getgid());
    unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET).map_err(|e| match e {
        nix::errno::Errno::EINVAL => {
            anyhow!(
                "--netns: the process already has threads (socklab bug: unshare must come first)"
            )
        }
        nix::errno::Errno::EPERM | nix::errno::Errno::ENOSPC | nix::errno::Errno::EUSERS => {
            anyhow!(
                "--netns: a new user namespace was refused ({e}): {}",
                forbidden_hint()
            )
        }
        e => anyhow!("--netns: unshare: {e}"),
    })?;
    write_map("/proc/self/setgroups", "deny")?;
    write_map("/proc/self/uid_map", &format!("{uid} {uid} 1"))?;
    write_map("/proc/self/gid_map", &format!("{gid} {gid} 1"))?;
    lo_up().context("--netns: bringing lo up")?;
    let file = match write_pid() {
        Ok(f) => Some(f),
        Err(e) => {
            eprintln!("socklab: --netns: `socklab shell` will not find this lab: {e:#}");
            None
        }
    };
    Ok(LabNetns { file })
}

fn write_pid() -> anyhow::Result<PathBuf> {
    let dir = runtime_dir();
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o700));
    let f = pid_file();
    fs::write(&f, format!("{}\n", std::process::id()))
        .with_context(|| format!("writing {}", f.display()))?;
    Ok(f)
}

/// `ip link set lo up`, by ioctl.
fn lo_up() -> io::Result<()> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    // SAFETY: ifreq is a repr(C) struct of a byte array and a union of
    // integers, byte arrays and one pointer (ifru_data, unused here); all
    // zero bytes is a valid value of it.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    // "lo" and its NUL: 3 of the IFNAMSIZ (16) bytes, the rest stay 0.
    for (d, b) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *d = *b as libc::c_char;
    }
    // SAFETY: both ioctls take a `struct ifreq *`; `req` is a live,
    // initialised libc::ifreq (the kernel's size: name + union), with a
    // NUL-terminated name. SIOCGIFFLAGS copies the whole ifreq in and back
    // out (dev_ifsioc_locked fills ifr_flags); SIOCSIFFLAGS only reads it.
    // The kernel keeps no pointer. Reading `ifru_flags` from the union is
    // reading a c_short that SIOCGIFFLAGS just wrote (or zero bytes, also a
    // valid c_short). `s` outlives both calls, so the descriptor is open.
    unsafe {
        if libc::ioctl(s.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) < 0 {
            return Err(io::Error::last_os_error());
        }
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        if libc::ioctl(s.as_raw_fd(), libc::SIOCSIFFLAGS, &req) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// `socklab shell [CMD...]`: join the running lab's namespaces and run the
/// user's shell (or CMD) there. Call before any thread exists.
pub fn shell(cmd: &[String]) -> anyhow::Result<ExitCode> {
    let f = pid_file();
    let text = fs::read_to_string(&f).map_err(|_| {
        anyhow!(
            "no lab with --netns is running (no {}); start one with `socklab --netns` first",
            f.display()
        )
    })?;
    let pid: u32 = text
        .trim()
        .parse()
        .map_err(|_| anyhow!("{} does not hold a pid: {:?}", f.display(), text.trim()))?;
    let open = |ns: &str| {
        fs::File::open(format!("/proc/{pid}/ns/{ns}")).map_err(|e| {
            anyhow!("the lab (pid {pid}) is not running any more ({e}); start it again with `socklab --netns`")
        })
    };
    let (user, net) = (open("user")?, open("net")?);
    let mine = fs::read_link("/proc/self/ns/user").ok();
    if mine != fs::read_link(format!("/proc/{pid}/ns/user")).ok() {
        setns(&user, CloneFlags::CLONE_NEWUSER)
            .map_err(|e| anyhow!("joining the lab's user namespace: {e}"))?;
    }
    setns(&net, CloneFlags::CLONE_NEWNET).map_err(|e| anyhow!("joining the lab's network: {e}"))?;
    let (prog, args): (String, Vec<String>) = match cmd.split_first() {
        Some((p, rest)) => (p.clone(), rest.to_vec()),
        None => (
            std::env::var("SHELL")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "/bin/sh".into()),
            Vec::new(),
        ),
    };
    if cmd.is_empty() {
        eprintln!("socklab: a shell inside the lab's network (pid {pid}); `exit` leaves it");
    }
    let err = std::process::Command::new(&prog)
        .args(&args)
        .env("SOCKLAB_NETNS", pid.to_string())
        .exec();
    bail!("running {prog}: {err}")
}
