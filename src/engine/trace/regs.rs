//! The only per-architecture register code: refusing a call before it runs
//! (the syscall number becomes -1, so the kernel skips it) and setting the
//! return value the program sees at the exit stop.

#[cfg(target_arch = "x86_64")]
pub fn skip_syscall(tid: u32) {
    let pid = nix::unistd::Pid::from_raw(tid as i32);
    if let Ok(mut regs) = nix::sys::ptrace::getregs(pid) {
        regs.orig_rax = u64::MAX;
        let _ = nix::sys::ptrace::setregs(pid, regs);
    }
}

#[cfg(target_arch = "x86_64")]
pub fn set_return(tid: u32, rval: i64) {
    let pid = nix::unistd::Pid::from_raw(tid as i32);
    if let Ok(mut regs) = nix::sys::ptrace::getregs(pid) {
        regs.rax = rval as u64;
        let _ = nix::sys::ptrace::setregs(pid, regs);
    }
}

#[cfg(target_arch = "aarch64")]
pub fn skip_syscall(tid: u32) {
    const NT_ARM_SYSTEM_CALL: libc::c_int = 0x404;
    let mut nr: libc::c_int = -1;
    let mut iov = libc::iovec {
        iov_base: &mut nr as *mut libc::c_int as *mut libc::c_void,
        iov_len: std::mem::size_of::<libc::c_int>(),
    };
    // SAFETY: SETREGSET reads one int from the iovec.
    unsafe {
        libc::ptrace(
            libc::PTRACE_SETREGSET,
            tid as libc::pid_t,
            NT_ARM_SYSTEM_CALL as libc::c_long,
            &mut iov as *mut libc::iovec,
        )
    };
}

#[cfg(target_arch = "aarch64")]
pub fn set_return(tid: u32, rval: i64) {
    let pid = nix::unistd::Pid::from_raw(tid as i32);
    if let Ok(mut regs) = nix::sys::ptrace::getregs(pid) {
        regs.regs[0] = rval as u64;
        let _ = nix::sys::ptrace::setregs(pid, regs);
    }
}
