//! Tearing labs down when the process is interrupted (SIGINT, SIGTERM, SIGHUP).
//!
//! Owns `DownOnInterrupt`: while one is alive, an interrupt removes its lab (`lab::down`)
//! before the process exits with status 130. For throwaway labs a command builds and must
//! never leave behind (`quorate check --confirm`); the normal path still removes the lab
//! itself (the guard only covers the interrupt). One watcher thread per process, started on
//! first use, waits for the signals with tokio; once installed it stays, and an interrupt
//! with no lab registered exits with 130 at once, as the default disposition would. It must
//! not remove anything but the labs registered with it.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The labs to remove on an interrupt, in registration order.
static REGISTERED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Whether the watcher thread could be started (set once).
static WATCHER: OnceLock<std::result::Result<(), Arc<std::io::Error>>> = OnceLock::new();

/// Exit status after an interrupt (128 + SIGINT, as shells report it).
const INTERRUPTED: i32 = 130;

/// While alive, an interrupt of the process removes the lab in `dir`, then exits with 130.
#[derive(Debug)]
#[must_use = "the lab is protected only while the guard is alive"]
pub struct DownOnInterrupt {
    dir: PathBuf,
}

impl DownOnInterrupt {
    /// Registers the lab in `dir` (it may not exist yet: `down` is idempotent).
    pub fn new(dir: &Path) -> Result<DownOnInterrupt> {
        let started = WATCHER.get_or_init(start_watcher);
        if let Err(error) = started {
            return Err(Error::Lab {
                dir: dir.to_path_buf(),
                message: format!("cannot watch for interrupts: {error}"),
            });
        }
        registered().push(dir.to_path_buf());
        Ok(DownOnInterrupt {
            dir: dir.to_path_buf(),
        })
    }
}

impl Drop for DownOnInterrupt {
    fn drop(&mut self) {
        let mut labs = registered();
        if let Some(index) = labs.iter().position(|dir| *dir == self.dir) {
            labs.remove(index);
        }
    }
}

fn registered() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    REGISTERED.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts the thread that waits for SIGINT, SIGTERM and SIGHUP.
fn start_watcher() -> std::result::Result<(), Arc<std::io::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Arc::new)?;
    // Register the handlers here, so that they are in place before `new` returns.
    let streams = runtime.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
        ))
    });
    let (mut interrupt, mut terminate, mut hangup) = streams.map_err(Arc::new)?;
    std::thread::Builder::new()
        .name("lab-interrupt".into())
        .spawn(move || {
            runtime.block_on(async {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                    _ = hangup.recv() => {}
                }
            });
            let labs: Vec<PathBuf> = registered().clone();
            for dir in labs {
                eprintln!("interrupted: removing the lab in {}", dir.display());
                if let Err(error) = super::down(&dir, &mut |_| {}) {
                    eprintln!("error: {error}");
                }
            }
            std::process::exit(INTERRUPTED);
        })
        .map_err(Arc::new)?;
    Ok(())
}
