//! palisade: a runtime cost budget for one evaluation, counted per
//! evaluated expression node plus the size of lists and strings built by
//! `+`. The interpreter has no cost limit of its own; without one a
//! runaway comprehension stalls the thread that runs it.

use std::cell::Cell;

thread_local! {
    /// Units left, or `None` when no budget is set on this thread.
    static LEFT: Cell<Option<u64>> = const { Cell::new(None) };
    /// Whether the budget ran out during the current evaluation.
    static EXHAUSTED: Cell<bool> = const { Cell::new(false) };
}

/// The error an evaluation gets once its budget is spent.
pub fn exceeded() -> crate::ExecutionError {
    crate::ExecutionError::function_error("cost", "cost budget exceeded")
}

/// Charges `units`; an error once the budget is spent (and for every
/// later charge of the same evaluation, so it unwinds quickly).
#[inline]
pub fn charge(units: u64) -> Result<(), crate::ExecutionError> {
    LEFT.with(|left| match left.get() {
        None => Ok(()),
        Some(n) if n >= units && !EXHAUSTED.with(Cell::get) => {
            left.set(Some(n - units));
            Ok(())
        }
        Some(_) => {
            EXHAUSTED.with(|e| e.set(true));
            left.set(Some(0));
            Err(exceeded())
        }
    })
}

/// Runs `f` with a budget of `limit` units on this thread. Returns its
/// result, the units spent, and whether the budget ran out (in which case
/// the result must not be trusted: `||` and `&&` absorb errors).
pub fn with_budget<R>(limit: u64, f: impl FnOnce() -> R) -> (R, u64, bool) {
    let before = LEFT.with(|l| l.replace(Some(limit)));
    let was = EXHAUSTED.with(|e| e.replace(false));
    let r = f();
    let left = LEFT.with(|l| l.replace(before)).unwrap_or(0);
    let exhausted = EXHAUSTED.with(|e| e.replace(was));
    (r, limit - left.min(limit), exhausted)
}
