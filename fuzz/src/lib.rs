//! What the fuzz targets share: one runtime whose clock is paused, so per-request timeouts
//! elapse instantly when a fuzzed peer stalls and no input can hang a run.

use std::sync::OnceLock;

use tokio::runtime::Runtime;

/// The targets' runtime, built once per process.
pub fn paused_runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime")
    })
}
