//! The real `socklab sandbox` binary in a pseudo-terminal: type calls, read
//! the parsed screen, then SIGTERM it and check the terminal came back;
//! paste blocks of lines (bracketed, and typed ahead in one write).

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

struct Pty {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    master: Box<dyn portable_pty::MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    raw: Arc<Mutex<Vec<u8>>>,
    parser: Arc<Mutex<vt100::Parser>>,
    _home: tempfile::TempDir,
}

impl Pty {
    fn spawn(cols: u16, rows: u16) -> Pty {
        Pty::spawn_env(cols, rows, &[])
    }

    fn spawn_env(cols: u16, rows: u16, env: &[(&str, &str)]) -> Pty {
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
        cmd.env_remove("NO_COLOR");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let raw = Arc::new(Mutex::new(Vec::new()));
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(rows).expect("rows"),
            std::num::NonZeroU16::new(cols).expect("cols"),
            0,
        )));
        let (raw2, parser2) = (raw.clone(), parser.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
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

    fn wait_for(&self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.screen();
            if s.contains(what) {
                return s;
            }
            assert!(Instant::now() < deadline, "no {what:?} on screen:\n{s}");
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    fn type_line(&mut self, line: &str) {
        self.writer.write_all(line.as_bytes()).expect("write");
        self.writer.write_all(b"\r").expect("write");
        self.writer.flush().expect("flush");
    }

    /// Bytes as the terminal would send them, in one write.
    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
        self.writer.flush().expect("flush");
    }

    fn pid(&self) -> i32 {
        self.child.process_id().expect("pid") as i32
    }

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st;
            }
            assert!(Instant::now() < deadline, "socklab did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
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

/// After the program ended: everything it wrote from `before` on puts the
/// terminal back (main screen, cursor, no mouse reporting, not raw).
/// Returns that output.
fn restored(pty: &Pty, before: usize, after: &str) -> String {
    std::thread::sleep(Duration::from_millis(200));
    let raw = pty.raw.lock().expect("lock");
    let tail = String::from_utf8_lossy(&raw[before..]).to_string();
    assert!(
        tail.contains("\x1b[?1049l"),
        "alternate screen left after {after}: {tail:?}"
    );
    assert!(
        tail.contains("\x1b[?25h"),
        "cursor shown after {after}: {tail:?}"
    );
    assert!(
        tail.contains("\x1b[?1000l"),
        "mouse reporting off after {after}: {tail:?}"
    );
    assert!(cooked(pty.master.as_ref()), "raw mode off after {after}");
    tail
}

#[test]
fn sandbox_in_a_pty_types_calls_and_restores_the_terminal_on_sigterm() {
    let mut pty = Pty::spawn(80, 24);
    let screen = pty.wait_for(">>>");
    assert!(screen.contains("Sandbox"), "{screen}");
    assert!(screen.contains("Sockets"), "{screen}");
    assert!(!cooked(pty.master.as_ref()), "raw mode while running");

    pty.type_line("s = socket()");
    pty.wait_for(">>> s = socket()");
    // The Sockets pane shows the new socket with its kernel state.
    let screen = pty.wait_for("created");
    assert!(
        screen
            .lines()
            .any(|l| l.starts_with("s ") && l.contains("created") && l.contains("CLOSE")),
        "{screen}"
    );
    pty.type_line("s.bind((\"127.0.0.1\", 0))");
    pty.wait_for("bound");
    pty.type_line(":nonsense");
    pty.wait_for(":nonsense is not a lab command");

    let before = pty.raw.lock().expect("lock").len();
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pty.pid(), libc::SIGTERM) }, 0);
    let status = pty.wait_exit();
    assert!(!status.success());
    restored(&pty, before, "SIGTERM");
}

#[test]
fn a_panic_in_a_background_task_restores_the_terminal() {
    let mut pty = Pty::spawn_env(80, 24, &[("SOCKLAB_PANIC_DRILL", "700")]);
    pty.wait_for(">>>");
    assert!(!cooked(pty.master.as_ref()), "raw mode while running");
    let before = pty.raw.lock().expect("lock").len();
    let status = pty.wait_exit();
    assert_eq!(status.exit_code(), 101, "{status:?}");
    let tail = restored(&pty, before, "the panic");
    assert!(
        tail.contains("panic drill"),
        "the panic is reported: {tail:?}"
    );
}

#[test]
fn colon_quit_in_a_pty_exits_cleanly() {
    let mut pty = Pty::spawn(100, 30);
    pty.wait_for(">>>");
    pty.type_line(":quit");
    let status = pty.wait_exit();
    assert!(status.success(), "{status:?}");
    std::thread::sleep(Duration::from_millis(100));
    let raw = pty.raw.lock().expect("lock");
    let s = String::from_utf8_lossy(&raw);
    assert!(s.contains("\x1b[?1049h") && s.contains("\x1b[?1049l"));
}

/// Any SGR colour (foreground or background, 16/256/true colour).
fn has_colour(raw: &[u8]) -> bool {
    let sgr = regex::bytes::Regex::new(r"\x1b\[([0-9;]*)m").expect("re");
    sgr.captures_iter(raw).any(|c| {
        String::from_utf8_lossy(&c[1]).split(';').any(|p| {
            matches!(
                p.parse::<u32>(),
                Ok(30..=38 | 40..=48 | 90..=97 | 100..=107)
            )
        })
    })
}

#[test]
fn no_color_is_honoured() {
    for (env, want) in [(vec![("NO_COLOR", "1")], false), (vec![], true)] {
        let mut pty = Pty::spawn_env(100, 30, &env);
        pty.wait_for(">>>");
        pty.type_line("s = socket()");
        pty.wait_for("created");
        std::thread::sleep(Duration::from_millis(200));
        let coloured = has_colour(&pty.raw.lock().expect("lock"));
        assert_eq!(coloured, want, "NO_COLOR={env:?}");
        pty.type_line(":quit");
        assert!(pty.wait_exit().success());
    }
}

/// A port nothing listens on now (the lab's server binds it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

/// An outside client: connect to the lab's server and read until it closes.
fn read_all_from(port: u16) -> Vec<u8> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut got = Vec::new();
    s.read_to_end(&mut got).expect("read");
    got
}

#[test]
fn a_bracketed_paste_runs_line_by_line_and_waits_in_accept_for_a_client() {
    let mut pty = Pty::spawn(80, 24);
    pty.wait_for(">>>");
    let port = free_port();
    let block = format!(
        "srv = socket()\nsrv.bind((\"127.0.0.1\", {port}))\nsrv.listen(1)\n\
         c, a = srv.accept()\nc.sendall(b\"pasted\")\nc.close()\n"
    );
    let mut bytes = b"\x1b[200~".to_vec();
    bytes.extend_from_slice(block.as_bytes());
    bytes.extend_from_slice(b"\x1b[201~");
    pty.send(&bytes);
    // accept() waits, and so do the lines after it, shown queued.
    let screen = pty.wait_for("queued (2)");
    assert!(
        screen.contains("▶ c, a = srv.accept() is waiting"),
        "{screen}"
    );
    assert!(!screen.contains("Error"), "{screen}");
    assert_eq!(read_all_from(port), b"pasted");
    let screen = pty.wait_for(">>> c.close()");
    assert!(!screen.contains("queued"), "{screen}");
    assert!(!screen.contains("Error"), "{screen}");
    pty.send(b":quit\r");
    assert!(pty.wait_exit().success());
}

#[test]
fn lines_typed_ahead_in_one_write_wait_for_the_line_above() {
    let mut pty = Pty::spawn(80, 24);
    pty.wait_for(">>>");
    let port = free_port();
    pty.type_line("srv = socket()");
    pty.wait_for("created");
    pty.type_line(&format!("srv.bind((\"127.0.0.1\", {port}))"));
    pty.wait_for("bound");
    pty.type_line("srv.listen(1)");
    pty.wait_for("LISTEN");
    // No bracketed paste: the keys come in one read, as from a terminal
    // without it (or typed faster than the screen reads them).
    pty.send(b"c, a = srv.accept()\rc.sendall(b\"typed\")\rc.close()\r");
    let screen = pty.wait_for("queued (2)");
    assert!(!screen.contains("NameError"), "{screen}");
    assert_eq!(read_all_from(port), b"typed");
    let screen = pty.wait_for(">>> c.close()");
    assert!(!screen.contains("Error"), "{screen}");
    pty.send(b":quit\r");
    assert!(pty.wait_exit().success());
}
