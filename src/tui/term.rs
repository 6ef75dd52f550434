//! The terminal's modes and the signals that change them.
//!
//! [`enter`] and [`leave`] switch the full-screen modes on and off (raw
//! mode, alternate screen, mouse reporting, bracketed paste, cursor).
//! A thread of its own ([`watch`]) takes the signals, so they work even
//! while the UI thread is busy:
//! - SIGTERM, SIGINT, SIGHUP, SIGQUIT: ask the loop to stop; if it has not
//!   ended the process within [`GRACE`], put the terminal back from this
//!   thread and exit with 128 + the signal's number (143, 130, 129, 131).
//! - SIGTSTP (`kill -TSTP`; in raw mode Ctrl-Z is a key, see [`suspend`]):
//!   leave the full-screen modes, really stop, and on continuing enter them
//!   again and ask the loop to redraw everything.
//! - SIGCONT (also after a SIGSTOP, which cannot be caught): enter the modes
//!   again and redraw.
//!
//! Writes to the terminal from here hold the lock on stdout, so they never
//! land in the middle of a frame the UI thread is writing, and a frame never
//! follows the restore.

use std::io::{Write, stdout};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use signal_hook::consts::{SIGCONT, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP};

/// How long a stop signal waits for the loop to end the process itself.
pub const GRACE: Duration = Duration::from_millis(500);
/// How long putting the terminal back may take before the process exits anyway
/// (a terminal that reads nothing must not keep it alive).
const RESTORE_DEADLINE: Duration = Duration::from_secs(2);

/// Whether the full-screen modes are on (so that leaving them means something).
static ENTERED: AtomicBool = AtomicBool::new(false);
/// The exit status a stop signal asked for (0: none yet).
static STOP_CODE: AtomicU8 = AtomicU8::new(0);

/// What the signal thread asks of the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// The terminal was given back and taken again: draw everything anew.
    Redraw,
    /// A stop signal: end (the status is in [`stop_code`]).
    Stop,
}

/// The exit status for the stop signal received, if one was.
pub fn stop_code() -> Option<u8> {
    match STOP_CODE.load(Ordering::SeqCst) {
        0 => None,
        c => Some(c),
    }
}

fn modes_on(out: &mut impl Write) -> std::io::Result<()> {
    // Raw mode again even if crossterm believes it is on: after a SIGSTOP
    // the shell may have put the terminal back to cooked.
    let _ = crossterm::terminal::disable_raw_mode();
    crossterm::terminal::enable_raw_mode()?;
    crossterm::execute!(
        out,
        crossterm::terminal::EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste,
        crossterm::cursor::Hide
    )?;
    ENTERED.store(true, Ordering::SeqCst);
    Ok(())
}

fn modes_off(out: &mut impl Write) {
    let _ = crossterm::terminal::disable_raw_mode();
    let _ = crossterm::execute!(
        out,
        DisableMouseCapture,
        DisableBracketedPaste,
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = out.flush();
}

/// Full-screen modes on: raw mode, alternate screen, mouse, bracketed paste.
pub fn enter() -> std::io::Result<()> {
    modes_on(&mut stdout().lock())
}

/// Put the terminal back: raw mode off, main screen, mouse and paste modes
/// off, cursor shown. Does nothing when the modes are not on; safe to call
/// twice and from any thread.
pub fn leave() {
    let mut out = stdout().lock();
    if ENTERED.swap(false, Ordering::SeqCst) {
        modes_off(&mut out);
    }
}

/// Give the terminal back to the shell and stop the process (Ctrl-Z, or
/// SIGTSTP); on continuing, take it again. The caller redraws everything.
pub fn suspend() {
    // Holding stdout keeps any other thread from drawing while stopped.
    let mut out = stdout().lock();
    let was_on = ENTERED.swap(false, Ordering::SeqCst);
    if was_on {
        modes_off(&mut out);
    }
    // The default action of SIGTSTP: the whole process stops here.
    let _ = signal_hook::low_level::emulate_default_handler(SIGTSTP);
    if was_on {
        let _ = modes_on(&mut out);
    }
}

/// Put the terminal back and end the process now, from any thread.
fn restore_and_exit(code: u8) -> ! {
    // No thread (none can be made): the restore below runs without a
    // deadline rather than panicking the signal thread, which would leave
    // the stop signal unanswered.
    let _ = std::thread::Builder::new()
        .name("socklab-exit-deadline".into())
        .spawn(move || {
            std::thread::sleep(RESTORE_DEADLINE);
            // SAFETY: _exit(2) has no preconditions: it ends every thread at
            // once (exit_group) without running destructors, atexit handlers
            // or stdio flushes, so it cannot observe the state another thread
            // left half-done (e.g. the stdout lock the restore holds). It is
            // async-signal-safe, though here it is called from an ordinary
            // thread, not a signal handler.
            unsafe { libc::_exit(i32::from(code)) };
        });
    // Raw mode first: it needs no lock, and matters most.
    if ENTERED.load(Ordering::SeqCst) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
    // Stdout stays locked until the end, so no half frame is flushed after
    // the restore; the process ends without running the UI thread's exit path.
    let mut out = stdout().lock();
    if ENTERED.swap(false, Ordering::SeqCst) {
        modes_off(&mut out);
    }
    // SAFETY: as for the deadline's _exit above: no preconditions, nothing
    // runs after it; skipping destructors and exit handlers is the point
    // (the UI thread may be mid-frame, and stdout stays locked by us).
    unsafe { libc::_exit(i32::from(code)) }
}

/// Start the signal thread. `control` receives what the loop must do.
pub fn watch(control: impl Fn(Control) + Send + 'static) -> std::io::Result<()> {
    let mut signals =
        signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGTSTP, SIGCONT])?;
    std::thread::Builder::new()
        .name("socklab-signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                match sig {
                    SIGTSTP => {
                        suspend();
                        control(Control::Redraw);
                    }
                    SIGCONT => {
                        if ENTERED.load(Ordering::SeqCst) {
                            let _ = enter();
                            control(Control::Redraw);
                        }
                    }
                    _ => {
                        let code = 128 + sig as u8;
                        let _ =
                            STOP_CODE.compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst);
                        control(Control::Stop);
                        // The loop ends the process itself unless it is busy.
                        std::thread::sleep(GRACE);
                        restore_and_exit(stop_code().unwrap_or(code));
                    }
                }
            }
        })?;
    Ok(())
}
