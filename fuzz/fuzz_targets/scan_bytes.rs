//! Feeds arbitrary bytes through the whole engine: loader, object model and
//! every Pod Security Standards check. Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_core::{Context, Engine, Limits};

fuzz_target!(|data: &[u8]| {
    let engine = Engine::new(palisade_rules::all_rules(), Context::default(), Limits::default())
        .with_parallelism(false);
    let report = engine.scan_bytes("fuzz", data);
    assert_eq!(report.summary.errors, report.errors.len());
});
