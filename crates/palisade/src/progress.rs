//! The spinner `audit` and `etcd` show on a terminal while they read.

use std::time::Duration;

/// A spinner on standard error, cleared when dropped (the reader that
/// reports to it is dropped when it is done).
pub struct Spinner(indicatif::ProgressBar);

impl Spinner {
    /// Starts one.
    pub fn new() -> Self {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Spinner(bar)
    }

    /// Says what is being done.
    pub fn say(&self, message: String) {
        self.0.set_message(message);
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
