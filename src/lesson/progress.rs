//! The student's progress: which lesson they are on and which steps they
//! have done, saved per user as JSON through a [`ProgressStore`].
//!
//! The store is passed in by whoever runs socklab (the binary resolves it
//! once with [`ProgressStore::from_env`]); nothing below looks at the
//! environment.
//!
//! Saving is read-merge-write under a lock on the state directory, so two
//! socklab instances sharing it both keep their progress: the file on disk
//! is merged into ours (steps done anywhere stay done) before ours replaces
//! it. The write goes to a temporary file in the same directory, synced, and
//! renamed over the old one (`tempfile`'s `persist`), so a crash leaves either
//! the old or the new file, never half of one. A file that cannot be parsed,
//! or was written by a newer socklab (`version` other than 1), is moved aside
//! under a unique name (`progress.json.corrupt-<time>[-N]`) and reported; the
//! student starts from empty progress rather than being locked out, and the
//! bad file is kept.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::settings::Lang;

/// The environment variable that overrides where progress is kept (read by
/// [`ProgressStore::from_env`] only).
pub const STATE_DIR_ENV: &str = "SOCKLAB_STATE_DIR";
const FILE: &str = "progress.json";
/// The only progress file format this socklab reads and writes.
pub const VERSION: u32 = 1;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LessonProgress {
    /// Step numbers (from 0) the student has completed.
    #[serde(default)]
    pub done: BTreeSet<usize>,
    /// Every step was done at some point.
    #[serde(default)]
    pub complete: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    #[serde(default = "version")]
    pub version: u32,
    /// The lesson to continue with (its id).
    #[serde(default)]
    pub current: Option<String>,
    #[serde(default)]
    pub lessons: BTreeMap<String, LessonProgress>,
    /// Lessons cleared here since loading: a merge does not bring their
    /// steps back from the file.
    #[serde(skip)]
    cleared: BTreeSet<String>,
}

fn version() -> u32 {
    VERSION
}

/// Where progress is kept: one file, or nowhere (no home directory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgressStore {
    path: Option<PathBuf>,
}

impl ProgressStore {
    /// Progress in this file.
    pub fn at(path: impl Into<PathBuf>) -> ProgressStore {
        ProgressStore {
            path: Some(path.into()),
        }
    }

    /// Progress in `progress.json` in this directory.
    pub fn in_dir(dir: impl AsRef<Path>) -> ProgressStore {
        ProgressStore::at(dir.as_ref().join(FILE))
    }

    /// Nowhere: loading gives empty progress with a warning, saving fails.
    pub fn nowhere() -> ProgressStore {
        ProgressStore { path: None }
    }

    /// The store for this user: `$SOCKLAB_STATE_DIR`, else the platform's
    /// state directory (data-local directory where there is none).
    pub fn from_env() -> ProgressStore {
        if let Some(d) = std::env::var_os(STATE_DIR_ENV).filter(|d| !d.is_empty()) {
            return ProgressStore::in_dir(PathBuf::from(d));
        }
        match directories::ProjectDirs::from("", "", "socklab") {
            Some(dirs) => {
                ProgressStore::in_dir(dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir()))
            }
            None => ProgressStore::nowhere(),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Load. Never fails: problems come back as a warning for the student
    /// (in English), with empty progress (a bad file is set aside, not lost).
    pub fn load(&self) -> (Progress, Option<String>) {
        self.load_in(Lang::En)
    }

    /// [`ProgressStore::load`] with the warning in `lang`.
    pub fn load_in(&self, lang: Lang) -> (Progress, Option<String>) {
        let Some(path) = &self.path else {
            return (Progress::new(), Some(tr!(lang, "progress.no_home")));
        };
        let _lock = lock_dir(path);
        let why = match read(path) {
            Read::Missing => return (Progress::new(), None),
            Read::Good(p) => return (p, None),
            Read::Unreadable(e) => tr!(lang, "progress.unreadable", error = e),
            Read::Newer(v) => tr!(lang, "progress.newer", version = v, ours = VERSION),
            Read::Damaged(e) => tr!(lang, "progress.damaged", error = e),
        };
        (Progress::new(), Some(set_aside(path, &why, lang)))
    }

    /// Merge what is on disk into `p`, then write `p`: both this instance's
    /// progress and any other's that saved meanwhile survive. `p` becomes
    /// the merged progress.
    pub fn save(&self, p: &mut Progress) -> std::io::Result<()> {
        let path = self.path.as_deref().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "no state directory")
        })?;
        let dir = parent(path);
        std::fs::create_dir_all(dir)?;
        let _lock = lock_dir(path);
        match read(path) {
            Read::Missing => {}
            Read::Good(disk) => p.merge_from(&disk),
            // Never write over something we could not read.
            Read::Unreadable(e) => return Err(e),
            // Kept aside (the student was told when it was loaded).
            Read::Newer(_) | Read::Damaged(_) => {
                set_aside(path, "", Lang::En);
            }
        }
        let mut json = serde_json::to_vec_pretty(p).map_err(std::io::Error::other)?;
        json.push(b'\n');
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(".{FILE}.tmp-"))
            .tempfile_in(dir)?;
        tmp.write_all(&json)?;
        tmp.as_file().sync_all()?;
        // On failure the temporary file is removed when dropped.
        tmp.persist(path).map_err(|e| e.error)?;
        // The rename itself is durable once the directory is synced.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        p.cleared.clear();
        Ok(())
    }
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// An exclusive lock on the file's directory (not the file: the atomic
/// rename replaces the file, and a lock file would be one more file in the
/// student's state directory). Released when dropped. Without a directory
/// to lock (it does not exist yet, or cannot be opened) saving goes on
/// unlocked rather than failing.
fn lock_dir(path: &Path) -> Option<File> {
    let d = File::open(parent(path)).ok()?;
    d.lock().ok()?;
    Some(d)
}

enum Read {
    Missing,
    Good(Progress),
    Unreadable(std::io::Error),
    /// Written by a newer socklab: its format version.
    Newer(u32),
    /// Not JSON of a progress file: what the parser said.
    Damaged(String),
}

fn read(path: &Path) -> Read {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Read::Missing,
        Err(e) => return Read::Unreadable(e),
    };
    match serde_json::from_slice::<Progress>(&text) {
        Ok(p) if p.version == VERSION => Read::Good(p),
        Ok(p) => Read::Newer(p.version),
        Err(e) => Read::Damaged(e.to_string()),
    }
}

impl Progress {
    pub fn new() -> Progress {
        Progress {
            version: VERSION,
            ..Progress::default()
        }
    }

    /// Load from this file (see [`ProgressStore::load`]).
    pub fn load_from(path: &Path) -> (Progress, Option<String>) {
        ProgressStore::at(path).load()
    }

    /// Merge with this file and write (see [`ProgressStore::save`]).
    pub fn save_to(&self, path: &Path) -> std::io::Result<()> {
        ProgressStore::at(path).save(&mut self.clone())
    }

    /// Take in progress saved elsewhere: steps done there stay done here;
    /// our current lesson wins (it is where this student is now).
    pub fn merge_from(&mut self, other: &Progress) {
        for (id, theirs) in &other.lessons {
            if self.cleared.contains(id) {
                continue;
            }
            let mine = self.lessons.entry(id.clone()).or_default();
            mine.done.extend(theirs.done.iter().copied());
            mine.complete |= theirs.complete;
        }
        if self.current.is_none() {
            self.current = other.current.clone();
        }
    }

    pub fn lesson(&self, id: &str) -> Option<&LessonProgress> {
        self.lessons.get(id)
    }

    /// Record a finished step; `steps` is how many the lesson has.
    pub fn mark_step(&mut self, id: &str, step: usize, steps: usize) {
        let lp = self.lessons.entry(id.to_string()).or_default();
        lp.done.insert(step);
        if (0..steps).all(|s| lp.done.contains(&s)) {
            lp.complete = true;
        }
    }

    pub fn set_current(&mut self, id: &str) {
        self.current = Some(id.to_string());
    }

    /// Forget a lesson's steps (the student restarts it from scratch).
    pub fn clear_lesson(&mut self, id: &str) {
        self.lessons.remove(id);
        self.cleared.insert(id.to_string());
    }
}

/// Move a bad file out of the way under a name no other bad file has; say
/// what happened, in words for the student (in `lang`). Called with the
/// directory locked.
fn set_aside(path: &Path, why: &str, lang: Lang) -> String {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut moved = Err(std::io::Error::other("no free name"));
    let mut aside = path.to_path_buf();
    for n in 1..1000 {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!("-{n}")
        };
        aside = path.with_file_name(format!("{name}.corrupt-{stamp}{suffix}"));
        // A hard link never replaces an existing file: a name is taken once.
        match std::fs::hard_link(path, &aside) {
            Ok(()) => {
                moved = std::fs::remove_file(path);
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            // No hard links here (or `path` is not a file): rename, after
            // checking the name is free.
            Err(_) if !aside.exists() => {
                moved = std::fs::rename(path, &aside);
                break;
            }
            Err(e) => {
                moved = Err(e);
                break;
            }
        }
    }
    match moved {
        Ok(()) => tr!(
            lang,
            "progress.moved",
            file = path.display(),
            why = why,
            aside = aside.display()
        ),
        Err(e) => tr!(
            lang,
            "progress.not_moved",
            file = path.display(),
            why = why,
            error = e
        ),
    }
}
