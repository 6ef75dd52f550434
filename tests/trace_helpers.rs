//! A program reached through helpers — a shell, a pyenv shim exec'ing on to
//! python — is shown as the program: the helpers that make no socket call
//! (a forked `true`, the shell execs before the real program) leave no
//! lines of their own, and the program's exit status is still reported.
//! And the end of a transcript: what a fast program's closed connection
//! leaves in the kernel (TIME_WAIT) is reported before it ends.
#![cfg(target_os = "linux")]

const PROGRAM: &str = "import socket\ns = socket.socket()\ns.close()\nraise SystemExit(3)";

#[test]
fn helpers_without_socket_calls_leave_no_lines() {
    // sh forks /bin/true (no socket call), then execs sh, which execs python3.
    let script = format!("/bin/true; exec sh -c 'exec python3 -c \"{PROGRAM}\"'");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_socklab"))
        .args(["trace", "--headless", "--", "sh", "-c", &script])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("] sh["), "{text}");
    assert!(lines[0].contains("started: sh -c"), "{text}");
    // One exec line: the last one, the program itself.
    let runs: Vec<&&str> = lines.iter().filter(|l| l.contains(" runs ")).collect();
    assert_eq!(runs.len(), 1, "{text}");
    assert!(
        runs[0].contains("python3[") && runs[0].contains("-c import socket"),
        "{text}"
    );
    assert!(
        lines.iter().position(|l| l.contains(" runs ")).unwrap()
            < lines
                .iter()
                .position(|l| l.contains("socket(AF_INET"))
                .unwrap(),
        "{text}"
    );
    // Nothing about the forked `true`: no line names a process other than the program's pid.
    let pid = |l: &str| {
        l.split_once('[')
            .and_then(|(_, r)| r.split_once('[').map(|(_, r)| r.to_string()))
            .and_then(|r| r.split(']').next().map(str::to_string))
    };
    let pids: std::collections::HashSet<String> = lines.iter().filter_map(|l| pid(l)).collect();
    assert_eq!(pids.len(), 1, "one process shown: {pids:?}\n{text}");
    assert!(
        lines.last().unwrap().contains("exited with status 3"),
        "{text}"
    );
}

#[test]
fn a_fast_programs_time_wait_is_in_the_transcript() {
    // Connects and closes within a millisecond: no kernel read in between.
    let prog = "import socket\nl = socket.socket()\nl.bind(('127.0.0.1', 0))\nl.listen()\nc = socket.create_connection(l.getsockname())\ns, _ = l.accept()\nc.close()\ns.close()\nl.close()";
    for _ in 0..3 {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_socklab"))
            .args(["trace", "--headless", "--", "python3", "-c", prog])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{text}");
        // The side that closed first (the client, fd 4) waits in TIME_WAIT:
        // reached straight from nothing when no kernel read came between the
        // close and TIME_WAIT, or through FIN_WAIT2 when one did.
        assert!(
            text.lines().any(|l| l.contains("(no fd) ")
                && l.contains("→ TIME_WAIT")
                && l.contains("[fd 4]")),
            "{text}"
        );
        // And no other socket of it is said to be in TIME_WAIT: the server's
        // side (fd 5) closed second, so it never waits.
        assert!(
            !text
                .lines()
                .any(|l| l.contains("→ TIME_WAIT") && l.contains("[fd 5]")),
            "{text}"
        );
    }
}
