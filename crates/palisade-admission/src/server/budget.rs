//! The memory budget of requests in flight: a request reserves its body's
//! size before the body is read and holds it until its answer is built, so
//! the bodies (and their decoded objects and findings, which grow with them)
//! held at once stay under one total however many requests are let in.

use tokio::sync::{Semaphore, SemaphorePermit};

/// Permits count KiB: a semaphore takes at most `u32::MAX` permits at once.
const UNIT: usize = 1024;

/// Body bytes that requests may hold at once.
pub(super) struct Budget {
    permits: Semaphore,
    total: u32,
}

impl Budget {
    /// A budget of `bytes` (rounded up to whole KiB).
    pub(super) fn new(bytes: usize) -> Budget {
        let total = u32::try_from(bytes.div_ceil(UNIT).max(1)).unwrap_or(u32::MAX);
        Budget {
            permits: Semaphore::new(total as usize),
            total,
        }
    }

    /// Waits until `bytes` fit in the budget and reserves them until the
    /// permit is dropped. A request larger than the whole budget takes all
    /// of it, so it waits for the others but is never refused.
    pub(super) async fn reserve(&self, bytes: usize) -> Option<SemaphorePermit<'_>> {
        let units = u32::try_from(bytes.div_ceil(UNIT).max(1)).unwrap_or(u32::MAX);
        self.permits.acquire_many(units.min(self.total)).await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_reservation_waits_until_enough_is_released() {
        let budget = Budget::new(10 * UNIT);
        let first = budget.reserve(8 * UNIT).await;
        assert!(first.is_some());
        let waiting = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            budget.reserve(3 * UNIT),
        );
        assert!(waiting.await.is_err(), "3 KiB fit beside 8 of 10");
        drop(first);
        assert!(budget.reserve(3 * UNIT).await.is_some());
        // Larger than the whole budget: takes all of it rather than hanging.
        assert!(budget.reserve(100 * UNIT).await.is_some());
    }
}
