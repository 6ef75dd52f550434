//! `socklab verify` through the real binary on real loopback sockets: a good
//! lesson passes; a step met before its solution, and a step never met, fail.

use std::path::Path;
use std::process::Command;

fn verify(dir: &Path, lesson: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_socklab"))
        .args(["--lang", "en", "--lessons"])
        .arg(dir)
        .args(["verify", lesson])
        .env("SOCKLAB_STATE_DIR", dir.join("state"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

const STEP_LISTEN: &str = r#"
[[steps]]
text = { en = "Listen with srv.", ko = "srv로 listen 하세요." }
hint = { en = "h", ko = "h" }
solution = ['srv = socket()', 'srv.bind(("127.0.0.1", {port}))', 'srv.listen(1)']
check = { socket = "srv", lab = "listening" }
"#;

fn lesson(id: &str, order: u32, steps: &str) -> String {
    format!(
        "id = \"{id}\"\norder = {order}\ntitle = {{ en = \"T\", ko = \"T\" }}\ntext = {{ en = \"t\", ko = \"t\" }}\n\n[[setup]]\npeer = \"greeter\"\naddr = \"127.0.0.1:{{port}}\"\nname = \"client\"\noptions = {{ message = 'hello\\n' }}\n{steps}"
    )
}

#[test]
fn verify_passes_a_solvable_lesson_and_fails_broken_steps() {
    let dir = tempfile::tempdir().unwrap();
    let good = lesson(
        "good",
        0,
        &format!(
            "{STEP_LISTEN}\n[[steps]]\ntext = {{ en = \"Accept conn and read.\", ko = \"conn을 accept\" }}\nhint = {{ en = \"h\", ko = \"h\" }}\nsolution = ['conn, addr = srv.accept()', 'conn.recv(1024)']\ncheck = {{ all = [{{ socket = \"conn\", lab = \"connected\" }}, {{ call = \"recv\", socket = \"conn\", returned = 'hello\\n' }}] }}\n"
        ),
    );
    std::fs::write(dir.path().join("good.toml"), &good).unwrap();
    // Step 2 is already met by step 1's solution.
    let early = lesson(
        "early",
        1,
        &format!(
            "{STEP_LISTEN}\n[[steps]]\ntext = {{ en = \"Bound.\", ko = \"b\" }}\nhint = {{ en = \"h\", ko = \"h\" }}\nsolution = ['srv.getsockname()']\ncheck = {{ socket = \"srv\", lab = \"bound\" }}\n"
        ),
    );
    std::fs::write(dir.path().join("early.toml"), early).unwrap();
    // Step 2's solution does not do what its check asks.
    let never = lesson(
        "never",
        2,
        &format!(
            "{STEP_LISTEN}\n[[steps]]\ntext = {{ en = \"Close.\", ko = \"c\" }}\nhint = {{ en = \"h\", ko = \"h\" }}\nsolution = ['srv.getsockname()']\ncheck = {{ socket = \"srv\", lab = \"closed\" }}\n"
        ),
    );
    std::fs::write(dir.path().join("never.toml"), never).unwrap();

    let (code, out) = verify(dir.path(), "good");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("✓  0 good (2 steps,"), "{out}");

    let (code, out) = verify(dir.path(), "early");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("step 2 passes with nothing done"), "{out}");

    let (code, out) = verify(dir.path(), "2");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("step 2 is not met after its solution"),
        "{out}"
    );
    assert!(
        out.contains("srv has not reached closed yet (now: listening)"),
        "{out}"
    );
    assert!(out.contains(">>> srv.getsockname()"), "{out}");
}

const STEP_V6: &str = r#"
[[steps]]
text = { en = "An IPv6 listener s6.", ko = "IPv6 리스너 s6." }
hint = { en = "h", ko = "h" }
solution = ['s6 = socket(AF_INET6, SOCK_STREAM)', 's6.bind(("::1", {port2}))', 's6.listen(1)']
wrong = [['s6 = socket()', 's6.bind(("127.0.0.1", {port2}))', 's6.listen(1)']]
right = [['s6 = socket(AF_INET6, SOCK_STREAM)', 's6.bind(("::1", {port3}))', 's6.listen(5)']]
"#;

#[test]
fn verify_runs_wrong_and_right_routes_each_on_a_fresh_lab() {
    let dir = tempfile::tempdir().unwrap();
    // The check says IPv6: the IPv4 route is refused, another IPv6 port passes.
    let tight = lesson(
        "tight",
        0,
        &format!(
            "{STEP_V6}check = {{ socket = \"s6\", lab = \"listening\", family = \"AF_INET6\" }}\n"
        ),
    );
    std::fs::write(dir.path().join("tight.toml"), &tight).unwrap();
    // The same step without the family: its wrong route passes, verify fails.
    let loose = lesson(
        "loose",
        1,
        &format!("{STEP_V6}check = {{ socket = \"s6\", lab = \"listening\" }}\n"),
    );
    std::fs::write(dir.path().join("loose.toml"), &loose).unwrap();
    // Too strict: the right route on another port is refused.
    let strict = lesson(
        "strict",
        2,
        &format!(
            "{STEP_V6}check = {{ call = \"bind\", socket = \"s6\", ok = true, args = \"{{port2}}\" }}\n"
        ),
    );
    std::fs::write(dir.path().join("strict.toml"), &strict).unwrap();

    let (code, out) = verify(dir.path(), "tight");
    assert_eq!(code, 0, "{out}");
    let (code, out) = verify(dir.path(), "loose");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("step 1 passes by its wrong route"), "{out}");
    let (code, out) = verify(dir.path(), "strict");
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("step 1 is not met by its right route"),
        "{out}"
    );
    // The failing step's own "not yet" line, and no line ending in ": ".
    assert!(out.contains("not yet:"), "{out}");
    assert!(!out.lines().any(|l| l.ends_with(": ")), "{out}");
}
