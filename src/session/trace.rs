//! Real programs as more parties in the lab: `:trace [--step] CMD ARGS…`,
//! `:rerun`, and the step commands `:step`, `:go`, `:until KIND`, `:kill`.
//!
//! They live in the session (not the app) so that head-less runs —
//! `socklab run`, `socklab verify` of a lesson whose solution traces a
//! program — do exactly what the lab screen does. The screen's side (keys,
//! the status line, the program's output under the prompt) is `app/trace.rs`.
//!
//! Also here: the programs shipped for the lessons (`lessons/programs/`),
//! embedded in the binary and found through the `{programs}` placeholder.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::engine::Engine;
use crate::engine::text::sanitize;
use crate::engine::trace::{TraceHandle, TraceSpec, kind_by_name};
use crate::settings::Lang;

/// The programs lessons run under trace: (file name, contents).
pub const PROGRAMS: &[(&str, &str)] = &[
    (
        "echo_server.py",
        include_str!("../../lessons/programs/echo_server.py"),
    ),
    (
        "echo_client.py",
        include_str!("../../lessons/programs/echo_client.py"),
    ),
];

/// The directory `{programs}` names: the source tree's `lessons/programs`
/// when it is there (a checkout, the tests, CI), else a copy of the
/// embedded programs in socklab's cache directory, so a lesson's
/// `:trace python3 {programs}/echo_server.py {port}` works from any cwd.
pub fn programs_dir() -> &'static str {
    static DIR: OnceLock<String> = OnceLock::new();
    DIR.get_or_init(|| {
        let src = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/lessons/programs"));
        let same = PROGRAMS
            .iter()
            .all(|(n, body)| std::fs::read_to_string(src.join(n)).is_ok_and(|have| have == *body));
        if same {
            return src.display().to_string();
        }
        let dir = directories::ProjectDirs::from("", "", "socklab")
            .map(|d| d.cache_dir().join("programs"))
            .unwrap_or_else(|| std::env::temp_dir().join("socklab-programs"));
        let _ = std::fs::create_dir_all(&dir);
        for (n, body) in PROGRAMS {
            let p = dir.join(n);
            if std::fs::read_to_string(&p).ok().as_deref() != Some(*body) {
                let _ = std::fs::write(&p, body);
            }
        }
        dir.display().to_string()
    })
}

/// One program started by `:trace` (or `socklab trace`).
pub struct Run {
    pub handle: TraceHandle,
    pub argv: Vec<String>,
}

/// Every program traced in this session, and the last command (for `:rerun`).
#[derive(Default)]
pub struct Traces {
    runs: Vec<Run>,
    last: Option<(Vec<String>, bool)>,
}

impl Traces {
    /// Start a program; a finished run's sockets stop being shown from now on.
    /// What it says (or why not) is in `lang`.
    pub fn start(
        &mut self,
        engine: &Engine,
        argv: Vec<String>,
        step: bool,
        lang: Lang,
    ) -> Result<String, String> {
        if argv.is_empty() {
            return Err(tr!(lang, "trace.usage"));
        }
        let mut spec = TraceSpec::new(argv.iter().cloned());
        spec.step = step;
        let handle = TraceHandle::start(engine, spec)
            .map_err(|e| sanitize(&crate::i18n::note(lang, &e.explain)))?;
        self.runs.retain(|r| !r.handle.finished());
        let name = std::path::Path::new(&argv[0])
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| argv[0].clone());
        let who = format!("{}[{}]", sanitize(&name), handle.pid());
        let key = if step {
            "trace.started_step"
        } else {
            "trace.started"
        };
        let msg = tr!(lang, key, who = who, cmd = sanitize(&argv.join(" ")));
        self.last = Some((argv.clone(), step));
        self.runs.push(Run { handle, argv });
        Ok(msg)
    }

    /// The last traced command again; the earlier run (if still going) is killed.
    pub fn rerun(&mut self, engine: &Engine, lang: Lang) -> Result<String, String> {
        let Some((argv, step)) = self.last.clone() else {
            return Err(tr!(lang, "trace.nothing_to_rerun"));
        };
        for r in self.runs.iter().filter(|r| r.argv == argv) {
            r.handle.kill();
        }
        self.runs.retain(|r| r.argv != argv);
        self.start(engine, argv, step, lang)
    }

    /// The run a step command acts on: one stopped before a call, else the newest still running.
    fn target(&self) -> Option<&Run> {
        self.runs
            .iter()
            .find(|r| r.handle.is_held())
            .or_else(|| self.runs.iter().rev().find(|r| !r.handle.finished()))
    }

    /// Process ids of the programs started (running or not) whose sockets are shown.
    pub fn roots(&self) -> Vec<u32> {
        self.runs.iter().map(|r| r.handle.pid()).collect()
    }

    /// Is some traced program stopped before a call?
    pub fn held(&self) -> bool {
        self.runs.iter().any(|r| r.handle.is_held())
    }

    /// Is some traced program still running?
    pub fn running(&self) -> bool {
        self.runs.iter().any(|r| !r.handle.finished())
    }

    pub fn kill_all(&mut self) {
        for r in &self.runs {
            r.handle.kill();
        }
    }

    /// `:trace`, `:rerun`, `:step`, `:go`, `:until`, `:kill`; None for other names.
    pub fn command(
        &mut self,
        engine: &Engine,
        name: &str,
        args: &str,
        lang: Lang,
    ) -> Option<Result<String, String>> {
        let none = || Err(tr!(lang, "trace.none_running"));
        Some(match name {
            "trace" => {
                let mut argv = match shell_words::split(args) {
                    Ok(a) => a,
                    Err(_) => return Some(Err(tr!(lang, "trace.unclosed_quote"))),
                };
                let step = argv.first().is_some_and(|a| a == "--step");
                if step {
                    argv.remove(0);
                }
                if argv.first().is_some_and(|a| a == "--") {
                    argv.remove(0);
                }
                self.start(engine, argv, step, lang)
            }
            "rerun" => self.rerun(engine, lang),
            "step" | "go" | "until" | "kill" => {
                let Some(run) = self.target() else {
                    return Some(none());
                };
                let h = &run.handle;
                let who = who(run);
                match name {
                    "step" => {
                        let held = h.is_held();
                        h.step();
                        let key = if held {
                            "trace.step_held"
                        } else {
                            "trace.step_running"
                        };
                        Ok(tr!(lang, key, who = who))
                    }
                    "go" => {
                        h.go();
                        Ok(tr!(lang, "trace.go", who = who))
                    }
                    "until" => match kind_by_name(args.trim()) {
                        Some(k) => {
                            h.until(k);
                            Ok(tr!(
                                lang,
                                "trace.until",
                                who = who,
                                kind = sanitize(args.trim())
                            ))
                        }
                        None if args.trim().is_empty() => Err(tr!(lang, "trace.until_none")),
                        None => Err(tr!(lang, "trace.until_bad", kind = sanitize(args.trim()))),
                    },
                    _ => {
                        h.kill();
                        Ok(tr!(lang, "trace.killed", who = who))
                    }
                }
            }
            _ => return None,
        })
    }
}

fn who(r: &Run) -> String {
    let name = std::path::Path::new(&r.argv[0])
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{}[{}]", sanitize(&name), r.handle.pid())
}
