//! In a real pseudo-terminal: a 5 MiB bracketed paste is refused and the
//! screen answers again; 32 KB typed unbracketed goes through; SIGTERM,
//! SIGINT, SIGHUP, SIGQUIT restore the terminal and exit 128+n even while
//! the UI thread is busy; Ctrl-Z and SIGTSTP give the terminal back and
//! SIGCONT takes it again; a dumb terminal gets a message and exit 2.
//!
//! Waits are on conditions with generous deadlines (the machine is shared);
//! nothing asserts how fast something is.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// How long anything may take before the test calls it stuck.
const DEADLINE: Duration = Duration::from_secs(20);

struct Pty {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    master: Box<dyn portable_pty::MasterPty + Send>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    raw: Arc<Mutex<Vec<u8>>>,
    parser: Arc<Mutex<vt100::Parser>>,
    _home: tempfile::TempDir,
}

impl Pty {
    fn spawn(env: &[(&str, &str)]) -> Pty {
        Pty::spawn_full(env, &[])
    }

    /// With `env` set and the variables in `unset` removed.
    fn spawn_full(env: &[(&str, &str)], unset: &[&str]) -> Pty {
        let (cols, rows) = (100, 30);
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let home = tempfile::tempdir().expect("tempdir");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_socklab"));
        cmd.arg("sandbox");
        cmd.env("TERM", "xterm-256color");
        cmd.env("HOME", home.path());
        cmd.env("XDG_STATE_HOME", home.path());
        cmd.env("XDG_DATA_HOME", home.path());
        cmd.env("LANG", "C.UTF-8");
        for (k, v) in env {
            cmd.env(k, v);
        }
        for k in unset {
            cmd.env_remove(k);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = Arc::new(Mutex::new(pair.master.take_writer().expect("writer")));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(rows).expect("rows"),
            std::num::NonZeroU16::new(cols).expect("cols"),
            0,
        )));
        let (raw2, parser2) = (raw.clone(), parser.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 16384];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                raw2.lock().expect("lock").extend_from_slice(&buf[..n]);
                parser2.lock().expect("lock").process(&buf[..n]);
            }
        });
        Pty {
            child,
            master: pair.master,
            writer,
            raw,
            parser,
            _home: home,
        }
    }

    fn screen(&self) -> String {
        self.parser.lock().expect("lock").screen().contents()
    }

    fn alternate(&self) -> bool {
        self.parser
            .lock()
            .expect("lock")
            .screen()
            .alternate_screen()
    }

    fn raw_len(&self) -> usize {
        self.raw.lock().expect("lock").len()
    }

    fn raw_since(&self, at: usize) -> String {
        String::from_utf8_lossy(&self.raw.lock().expect("lock")[at..]).to_string()
    }

    /// Wait until `cond` holds on the screen; fail with the screen after `DEADLINE`.
    fn wait_until(&self, what: &str, cond: impl Fn(&Pty) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        while !cond(self) {
            assert!(
                Instant::now() < deadline,
                "no {what} within {DEADLINE:?}; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    fn wait_for(&self, text: &str) {
        self.wait_until(text, |p| p.screen().contains(text));
    }

    /// Write from a thread of its own: a big write blocks until the program reads.
    fn write_all(&self, bytes: Vec<u8>) -> std::thread::JoinHandle<()> {
        let w = self.writer.clone();
        std::thread::spawn(move || {
            let mut w = w.lock().expect("lock");
            w.write_all(&bytes).expect("write");
            w.flush().expect("flush");
        })
    }

    fn write(&self, bytes: &[u8]) {
        let mut w = self.writer.lock().expect("lock");
        w.write_all(bytes).expect("write");
        w.flush().expect("flush");
    }

    fn type_line(&self, line: &str) {
        self.write(format!("{line}\r").as_bytes());
    }

    fn pid(&self) -> i32 {
        self.child.process_id().expect("pid") as i32
    }

    fn kill(&self, sig: i32) {
        // SAFETY: sending a signal to our own child process.
        assert_eq!(unsafe { libc::kill(self.pid(), sig) }, 0);
    }

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "socklab did not exit; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The child's state letter from /proc (R, S, T for stopped, …).
    fn proc_state(&self) -> char {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).expect("stat");
        let after = &stat[stat.rfind(')').expect("comm") + 2..];
        after.chars().next().expect("state")
    }
}

/// Whether the terminal is in canonical mode with echo (not raw).
fn cooked(master: &dyn portable_pty::MasterPty) -> bool {
    let fd = master.as_raw_fd().expect("fd");
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: fd is the open pty master; t is a valid termios to fill.
    assert_eq!(unsafe { libc::tcgetattr(fd, &mut t) }, 0);
    t.c_lflag & libc::ICANON != 0 && t.c_lflag & libc::ECHO != 0
}

/// The output from `before` on put the terminal back: main screen, cursor
/// shown, mouse reporting and bracketed paste off, not raw.
fn assert_restored(pty: &Pty, before: usize, after: &str) {
    let tail = pty.raw_since(before);
    for (seq, what) in [
        ("\x1b[?1049l", "alternate screen left"),
        ("\x1b[?25h", "cursor shown"),
        ("\x1b[?1000l", "mouse reporting off"),
        ("\x1b[?2004l", "bracketed paste off"),
    ] {
        assert!(tail.contains(seq), "{what} after {after}: {tail:?}");
    }
    assert!(!pty.alternate(), "main screen after {after}");
    assert!(cooked(pty.master.as_ref()), "raw mode off after {after}");
}

#[test]
fn a_5_mib_bracketed_paste_is_refused_and_the_screen_answers() {
    let mut pty = Pty::spawn(&[]);
    pty.wait_for(">>>");
    let mut paste = b"\x1b[200~".to_vec();
    paste.extend(std::iter::repeat_n(b'x', 5 << 20));
    paste.extend_from_slice(b"\x1b[201~");
    let writing = pty.write_all(paste);
    pty.wait_for("paste refused");
    writing.join().expect("writer");
    // The prompt is empty and takes a call again.
    pty.type_line("s = socket()");
    pty.wait_for("created");
    pty.type_line(":quit");
    assert!(pty.wait_exit().success());
}

#[test]
fn typing_32_kb_unbracketed_goes_through() {
    let mut pty = Pty::spawn(&[]);
    pty.wait_for(">>>");
    // A comment line of 32 KB, typed key by key, ending in a marker.
    let mut line = b"# ".to_vec();
    line.extend(std::iter::repeat_n(b'y', 32 * 1024));
    line.extend_from_slice(b"END\r");
    let writing = pty.write_all(line);
    writing.join().expect("writer");
    // Echoed under the prompt (cut to the width) once it was all read and run.
    pty.wait_until("the 32 KB line run", |p| {
        p.screen().lines().any(|l| l.contains(">>> # yyyy"))
    });
    pty.type_line("s = socket()");
    pty.wait_for("created");
    pty.type_line(":quit");
    assert!(pty.wait_exit().success());
}

#[test]
fn typing_past_the_line_limit_stops_with_a_message() {
    let mut pty = Pty::spawn(&[]);
    pty.wait_for(">>>");
    let writing = pty.write_all(vec![b'z'; 64 * 1024 + 100]);
    pty.wait_for("the line is full");
    writing.join().expect("writer");
    // Ctrl-U empties the line; the prompt works again.
    pty.type_line("\x15s = socket()");
    pty.wait_for("created");
    pty.type_line(":quit");
    assert!(pty.wait_exit().success());
}

/// The UI thread blocks (SOCKLAB_BUSY_DRILL) right after the first frame.
fn stop_while_busy(sig: i32, code: u32) {
    let mut pty = Pty::spawn(&[("SOCKLAB_BUSY_DRILL", "60000")]);
    pty.wait_for(">>>");
    assert!(!cooked(pty.master.as_ref()), "raw mode while running");
    let before = pty.raw_len();
    pty.kill(sig);
    let status = pty.wait_exit();
    assert_eq!(status.exit_code(), code, "signal {sig}: {status:?}");
    std::thread::sleep(Duration::from_millis(200));
    assert_restored(&pty, before, &format!("signal {sig}"));
}

#[test]
fn sigterm_while_busy_restores_the_terminal_and_exits_143() {
    stop_while_busy(libc::SIGTERM, 143);
}

#[test]
fn sighup_sigint_and_sigquit_while_busy_restore_and_exit_128_plus_n() {
    stop_while_busy(libc::SIGHUP, 129);
    stop_while_busy(libc::SIGINT, 130);
    stop_while_busy(libc::SIGQUIT, 131);
}

#[test]
fn sigterm_during_a_big_paste_restores_the_terminal() {
    let mut pty = Pty::spawn(&[]);
    pty.wait_for(">>>");
    let mut paste = b"\x1b[200~".to_vec();
    paste.extend(std::iter::repeat_n(b'x', 5 << 20));
    paste.extend_from_slice(b"\x1b[201~");
    let _writing = pty.write_all(paste);
    std::thread::sleep(Duration::from_millis(300));
    let before = pty.raw_len();
    pty.kill(libc::SIGTERM);
    assert_eq!(pty.wait_exit().exit_code(), 143);
    std::thread::sleep(Duration::from_millis(200));
    assert_restored(&pty, before, "SIGTERM during a paste");
}

#[test]
fn sigterm_at_an_idle_prompt_exits_143() {
    let mut pty = Pty::spawn(&[]);
    pty.wait_for(">>>");
    let before = pty.raw_len();
    pty.kill(libc::SIGTERM);
    assert_eq!(pty.wait_exit().exit_code(), 143);
    std::thread::sleep(Duration::from_millis(200));
    assert_restored(&pty, before, "SIGTERM");
}

/// Stopped: the terminal was given back. Continued: taken again and redrawn.
fn stop_and_continue(pty: &mut Pty, stop: impl FnOnce(&mut Pty), how: &str) {
    pty.type_line("s = socket()");
    pty.wait_for("created");
    let before = pty.raw_len();
    stop(pty);
    pty.wait_until("the process stopped", |p| p.proc_state() == 'T');
    std::thread::sleep(Duration::from_millis(100));
    assert_restored(pty, before, how);
    let before = pty.raw_len();
    pty.kill(libc::SIGCONT);
    pty.wait_until("the screen back", |p| {
        p.alternate() && p.screen().contains(">>>") && p.screen().contains("created")
    });
    let back = pty.raw_since(before);
    assert!(
        back.contains("\x1b[?1049h"),
        "alternate screen again: {back:?}"
    );
    assert!(
        back.contains("\x1b[?1000h"),
        "mouse reporting again: {back:?}"
    );
    assert!(!cooked(pty.master.as_ref()), "raw mode again after {how}");
    // And it still works.
    pty.type_line("u = socket(AF_INET, SOCK_DGRAM)");
    pty.wait_for("UDP");
}

#[test]
fn ctrl_z_and_sigtstp_give_the_terminal_back_and_sigcont_takes_it_again() {
    let mut pty = Pty::spawn(&[]);
    pty.wait_for(">>>");
    // In raw mode Ctrl-Z is a key, not a signal.
    stop_and_continue(&mut pty, |p| p.write(b"\x1a"), "Ctrl-Z");
    stop_and_continue(&mut pty, |p| p.kill(libc::SIGTSTP), "SIGTSTP");
    pty.type_line(":quit");
    assert!(pty.wait_exit().success());
}

#[test]
fn a_dumb_terminal_gets_a_message_and_exit_2() {
    for (set, unset) in [(vec![("TERM", "dumb")], vec![]), (vec![], vec!["TERM"])] {
        let mut pty = Pty::spawn_full(&set, &unset);
        let case = format!("{set:?} unset {unset:?}");
        let status = pty.wait_exit();
        assert_eq!(status.exit_code(), 2, "{case}");
        pty.wait_for("needs a capable terminal");
        std::thread::sleep(Duration::from_millis(100));
        let out = pty.raw_since(0);
        assert!(out.contains("socklab run"), "{case}: {out:?}");
        assert!(
            !out.contains('\x1b'),
            "{case}: the terminal untouched: {out:?}"
        );
        assert!(cooked(pty.master.as_ref()), "{case}: terminal left cooked");
    }
}

/// The terminal goes away under socklab (a window closed, ssh dropped): it
/// exits as after SIGHUP (129), without a panic on the dead terminal (a
/// panic was exit 101) and without spinning on its input.
#[test]
fn a_terminal_that_goes_away_ends_socklab_with_129() {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: 30,
        ws_col: 100,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors into the two ints and reads
    // the window size; the name and termios pointers may be null.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(r, 0, "openpty");
    // SAFETY: openpty returned these descriptors and nothing else owns
    // them; the master must not leak into the child (it would keep the
    // terminal open), so it is close-on-exec.
    let (master, slave) = unsafe {
        libc::fcntl(master, libc::F_SETFD, libc::FD_CLOEXEC);
        (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave))
    };
    let home = tempfile::tempdir().expect("tempdir");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_socklab"));
    cmd.arg("sandbox")
        .env("TERM", "xterm-256color")
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path())
        .stdin(slave.try_clone().expect("dup"))
        .stdout(slave.try_clone().expect("dup"))
        .stderr(slave.try_clone().expect("dup"));
    // SAFETY: setsid and ioctl(TIOCSCTTY) are async-signal-safe; they make
    // the pty the child's controlling terminal, as a terminal window does.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn socklab");
    // Only the child may hold the terminal's side now.
    drop(cmd);
    drop(slave);
    // Read until the first frame is drawn (the alternate screen and a few
    // kilobytes of panes), then close the terminal.
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let fl = libc::fcntl(master.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(master.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
    let mut file = std::fs::File::from(master);
    let mut seen = 0usize;
    let deadline = Instant::now() + DEADLINE;
    while seen < 2000 {
        assert!(Instant::now() < deadline, "no first frame ({seen} bytes)");
        let mut buf = [0u8; 8192];
        match file.read(&mut buf) {
            Ok(n) => seen += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("reading the pty: {e}"),
        }
    }
    drop(file);
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "socklab did not exit after its terminal went away"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(129), "{status:?}");
}
