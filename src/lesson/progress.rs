//! The student's progress: which lesson they are on and which steps they
//! have done, saved per user as JSON.
//!
//! Saving writes a temporary file in the same directory, syncs it, and
//! renames it over the old one, so a crash leaves either the old or the new
//! file, never half of one. A file that cannot be read or parsed is moved
//! aside (`progress.json.corrupt-<time>`) and reported; the student starts
//! from empty progress rather than being locked out.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The environment variable that overrides where progress is kept.
pub const STATE_DIR_ENV: &str = "SOCKLAB_STATE_DIR";
const FILE: &str = "progress.json";

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
}

fn version() -> u32 {
    1
}

/// Where progress lives: `$SOCKLAB_STATE_DIR`, else the platform's state
/// directory (data-local directory where there is none).
pub fn state_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os(STATE_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let dirs = directories::ProjectDirs::from("", "", "socklab")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf(),
    )
}

pub fn default_path() -> Option<PathBuf> {
    state_dir().map(|d| d.join(FILE))
}

impl Progress {
    pub fn new() -> Progress {
        Progress {
            version: 1,
            ..Progress::default()
        }
    }

    /// Load from the default place. Never fails: problems come back as a
    /// warning for the student, with empty progress.
    pub fn load() -> (Progress, Option<String>) {
        match default_path() {
            Some(p) => Progress::load_from(&p),
            None => (
                Progress::new(),
                Some("no home directory found; progress will not be saved".to_string()),
            ),
        }
    }

    pub fn load_from(path: &Path) -> (Progress, Option<String>) {
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Progress::new(), None),
            Err(e) => {
                let warn = set_aside(path, &format!("could not be read ({e})"));
                return (Progress::new(), Some(warn));
            }
        };
        match serde_json::from_slice::<Progress>(&text) {
            Ok(p) => (p, None),
            Err(e) => {
                let warn = set_aside(path, &format!("is damaged ({e})"));
                (Progress::new(), Some(warn))
            }
        }
    }

    /// Save to the default place.
    pub fn save(&self) -> std::io::Result<()> {
        let path = default_path().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "no state directory")
        })?;
        self.save_to(&path)
    }

    /// Write atomically: temp file in the same directory, fsync, rename.
    pub fn save_to(&self, path: &Path) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{FILE}.tmp-{}", std::process::id()));
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let result = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&json)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            drop(f);
            std::fs::rename(&tmp, path)?;
            // The rename itself is durable once the directory is synced.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
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
    }
}

/// Move a bad file out of the way; say what happened, in words for the student.
fn set_aside(path: &Path, why: &str) -> String {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".corrupt-{stamp}"));
    let aside = path.with_file_name(name);
    match std::fs::rename(path, &aside) {
        Ok(()) => format!(
            "progress file {} {why}; moved it to {} and started with no progress",
            path.display(),
            aside.display()
        ),
        Err(e) => format!(
            "progress file {} {why}, and could not be moved aside ({e}); starting with no progress",
            path.display()
        ),
    }
}
