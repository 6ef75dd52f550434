//! `socklab run` head-less: values that would be huge, out-of-range numbers,
//! hostile scripts. Every child runs under an address-space limit, and its
//! peak resident memory (VmHWM) is read from /proc while it runs.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// Address space each child may map: far below what the bugs reached.
const AS_LIMIT: u64 = 2 << 30;
/// Peak resident memory a bounded run stays under.
const RSS_LIMIT_MIB: u64 = 600;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    peak_mib: u64,
}

fn kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn socklab(args: &[&str], stdin: &[u8]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_socklab"));
    cmd.args(args)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: AS_LIMIT,
                rlim_max: AS_LIMIT,
            };
            libc::setrlimit(libc::RLIMIT_AS, &lim);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut s).unwrap();
        s
    });
    let ereader = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut s).unwrap();
        s
    });
    let mut peak = 0;
    let status = loop {
        if let Ok(st) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            && let Some(hwm) = kib(&st, "VmHWM:")
        {
            peak = peak.max(hwm);
        }
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    writer.join().unwrap();
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&reader.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&ereader.join().unwrap()).into_owned(),
        peak_mib: peak / 1024,
    }
}

/// `socklab run -` with a script; it ends with a short sleep so the peak is
/// read after the interesting lines ran.
fn run(args: &[&str], script: &str) -> Run {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.push("-");
    socklab(&all, script.as_bytes())
}

fn sane(r: &Run) {
    let both = format!("{}{}", r.stdout, r.stderr);
    assert!(!both.contains("panicked"), "a panic:\n{both}");
    assert!(!both.contains("RUST_BACKTRACE"), "a panic:\n{both}");
    assert!(!both.contains("memory allocation"), "an abort:\n{both}");
    assert!(r.code.is_some(), "killed by a signal:\n{both}");
    assert!(
        r.peak_mib < RSS_LIMIT_MIB,
        "peak resident {} MiB:\n{both}",
        r.peak_mib
    );
}

const BIG: &str = "a = b\"\\x00\" * 60000000\n";

#[test]
fn repr_of_a_list_of_big_bytes_is_refused_before_it_is_built() {
    for line in [
        "len(str([a]*1000))",
        "len(str([a]*8))",
        "len(repr([a, a]))",
        "len(str((a,)))",
    ] {
        let r = run(&[], &format!("{BIG}{line}\n:sleep 0.2\n"));
        sane(&r);
        assert_eq!(r.code, Some(1), "{line}: {}", r.stdout);
        assert!(r.stdout.contains("MemoryError"), "{line}: {}", r.stdout);
    }
}

#[test]
fn repeats_and_literals_of_big_values_are_bounded() {
    for line in [
        // A list of a list of a list: a million values deep-copied.
        "x = [a] * 1000\ny = [x] * 1000\nz = [y] * 1000",
        // Fresh big strings in one tuple.
        "s = 'x' * 60000000\nt = (s + '', s + '', s + '', s + '', s + '', s + '', s + '', s + '', s + '', s + '', s + '', s + '', s + '', s + '', s + '', s + '')",
        "(a + b'', a + b'', a + b'', a + b'', a + b'', a + b'', a + b'', a + b'', a + b'', a + b'', a + b'', a + b'', a + b'', a + b'', a + b'', a + b'')",
        "s = 'é' * 30000000\nlen(repr([s, s, s]))",
        "h = a.hex()",
    ] {
        let r = run(&["--keep-going"], &format!("{BIG}{line}\n:sleep 0.2\n"));
        sane(&r);
        assert!(r.stdout.contains("MemoryError"), "{line}: {}", r.stdout);
    }
}

#[test]
fn deeply_nested_values_are_refused() {
    let mut script = String::from("x = []\n");
    for _ in 0..300 {
        script.push_str("x = [x]\n");
    }
    script.push_str("len(repr(x))\n");
    let r = run(&[], &script);
    sane(&r);
    assert_eq!(r.code, Some(1));
    assert!(r.stdout.contains("nest"), "{}", r.stdout);
}

#[test]
fn many_long_names_are_bounded() {
    let mut script = String::new();
    for i in 0..400 {
        script.push_str(&format!("n{i}{} = 1\n", "x".repeat(60_000)));
    }
    let r = run(&[], &script);
    sane(&r);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stdout.contains("MemoryError") && r.stdout.contains("names"),
        "{}",
        &r.stdout[r.stdout.len().saturating_sub(600)..]
    );
}

#[test]
fn timeout_out_of_range_is_a_clear_error() {
    for t in ["1e19", "1e20", "1e30", "inf", "nan", "-1", "0", "1e300"] {
        let r = socklab(&["run", &format!("--timeout={t}"), "-"], b"x = 1\n");
        sane(&r);
        assert_eq!(r.code, Some(2), "--timeout {t}: {}", r.stderr);
        assert!(
            r.stderr.contains("--timeout"),
            "--timeout {t}: {}",
            r.stderr
        );
    }
    let r = socklab(&["run", "--timeout", "1e6", "-"], b"x = 1\n");
    assert_eq!(r.code, Some(0), "a large but valid timeout: {}", r.stderr);
}

#[test]
fn sleep_out_of_range_is_a_clear_error() {
    for s in ["1e30", "inf", "nan", "-1", "x"] {
        let r = run(&[], &format!(":sleep {s}\n"));
        sane(&r);
        assert_eq!(r.code, Some(1), ":sleep {s}: {}", r.stdout);
        assert!(r.stdout.contains("usage: :sleep"), "{}", r.stdout);
    }
}

#[test]
fn sockopt_numbers_beyond_c_int_are_overflow_errors() {
    for (line, want) in [
        (
            "s.setsockopt(4294967297, 2, 1)",
            "OverflowError: signed integer is greater than maximum",
        ),
        (
            "s.setsockopt(1, 4294967298, 1)",
            "OverflowError: signed integer is greater than maximum",
        ),
        (
            "s.setsockopt(1, 2, 4294967297)",
            "OverflowError: signed integer is greater than maximum",
        ),
        (
            "s.setsockopt(-4294967295, 2, 1)",
            "OverflowError: signed integer is less than minimum",
        ),
        (
            "s.getsockopt(4294967297, 2)",
            "OverflowError: signed integer is greater than maximum",
        ),
        (
            "s.getsockopt(1, 2, 4294967297)",
            "OverflowError: signed integer is greater than maximum",
        ),
    ] {
        let r = run(&[], &format!("s = socket()\n{line}\ns.getsockopt(1, 2)\n"));
        sane(&r);
        assert_eq!(r.code, Some(1), "{line}: {}", r.stdout);
        assert!(r.stdout.contains(want), "{line}: {}", r.stdout);
    }
}

#[test]
fn errors_name_the_real_line_of_the_script() {
    let r = run(&[], "x = 1\n# two\n\ny = (\n");
    sane(&r);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stdout.contains("File \"<stdin>\", line 4"),
        "{}",
        r.stdout
    );
}

#[test]
fn keep_going_still_exits_1_when_a_line_failed() {
    for script in ["y = (\nx = 1\n", "x = undefined\nx = 1\n"] {
        let r = run(&["--keep-going"], script);
        sane(&r);
        assert_eq!(r.code, Some(1), "{script}: {}", r.stdout);
        assert!(r.stdout.contains(">>> x = 1"), "kept going: {}", r.stdout);
    }
    let r = run(
        &["--keep-going", "--timeout", "0.2"],
        "s = socket()\ns.bind(('127.0.0.1', 0))\ns.listen(1)\nc, a = s.accept()\nx = 1\n",
    );
    sane(&r);
    assert_eq!(r.code, Some(1), "a timeout is a failure: {}", r.stdout);
    assert!(r.stdout.contains(">>> x = 1"), "{}", r.stdout);
}

#[test]
fn invalid_utf8_names_the_line() {
    let r = socklab(&["run", "-"], b"x = 1\ny = 2\nz = b'\xff'\n");
    sane(&r);
    assert_ne!(r.code, Some(0));
    let both = format!("{}{}", r.stdout, r.stderr);
    assert!(both.contains("line 3"), "{both}");
    assert!(both.contains("UTF-8"), "{both}");
    assert!(both.contains(">>> y = 2"), "the lines before ran: {both}");
}

#[test]
fn unknown_lab_command_says_it_is_unknown() {
    let r = run(&[], ":bogus\n");
    sane(&r);
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert!(r.stdout.contains("unknown"), "{}", r.stdout);
    assert!(!r.stdout.contains("does nothing"), "{}", r.stdout);
    let r = run(&[], ":peeer echo 127.0.0.1:{port}\n");
    assert!(r.stdout.contains(":peer"), "did you mean: {}", r.stdout);
    // A real lab-screen command is still only a note in a script.
    let r = run(&[], ":hint\n");
    assert_eq!(r.code, Some(0), "{}", r.stdout);
}

#[test]
fn a_script_with_no_end_of_line_is_capped() {
    // /dev/zero: one endless line of NUL bytes.
    let r = socklab(&["run", "/dev/zero"], b"");
    sane(&r);
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("/dev/zero"), "{}", r.stderr);
}

#[test]
fn an_over_long_line_is_an_error_naming_it() {
    let script = format!("x = 1\ny = b'{}'\nz = 3\n", "a".repeat(200_000));
    let r = run(&["--keep-going"], &script);
    sane(&r);
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert!(r.stdout.contains("line 2"), "{}", r.stdout);
    assert!(r.stdout.contains(">>> z = 3"), "{}", r.stdout);
}

#[test]
fn stdin_streams_line_by_line() {
    // The first line's result comes out before the script has ended.
    let mut child = Command::new(env!("CARGO_BIN_EXE_socklab"))
        .args(["run", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(b"1 + 41\n").unwrap();
    input.flush().unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut got = String::new();
    while !got.contains("42") {
        let mut l = String::new();
        if std::io::BufRead::read_line(&mut out, &mut l).unwrap() == 0 {
            break;
        }
        got.push_str(&l);
    }
    assert!(got.contains("42"), "{got}");
    drop(input);
    assert!(child.wait().unwrap().success());
}

#[test]
fn json_call_done_is_capped_with_the_exact_length() {
    let script = ":peer echo 127.0.0.1:{port}\nc = socket()\nc.connect(('127.0.0.1', {port}))\nc.sendall(b'\\x00' * 1000000)\n:sleep 0.3\nd = c.recv(1000000)\n";
    let r = run(&["--json"], script);
    sane(&r);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let mut seen = None;
    for line in r.stdout.lines() {
        assert!(line.len() < 400_000, "a {} byte JSON line", line.len());
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["event"] == "call_done" && v["ret"]["type"] == "bytes" {
            let len = v["ret"]["len"].as_u64().unwrap();
            assert!(len > 65536, "{}", &line[..200]);
            seen = Some(len);
        }
        if let Some(len) = seen
            && v["event"] == "echo"
        {
            let text = v["text"].as_str().unwrap();
            assert!(text.contains(&format!("({len} bytes)")), "{text}");
        }
    }
    assert!(seen.is_some(), "no call_done with bytes");
}
