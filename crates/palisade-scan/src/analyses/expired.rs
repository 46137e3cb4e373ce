//! Findings about the policy itself: exemptions whose `expires` date has
//! passed, reported once per run.

use crate::analysis::{Analysis, Needs, Out, Run};

/// Expired exemptions of the policy file.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExpiredExemptions;

impl Analysis for ExpiredExemptions {
    fn needs(&self) -> Needs {
        Needs::default()
    }

    fn run(&self, run: &Run<'_>, out: &mut Out<'_>) -> Result<(), String> {
        for f in run.engine.policy_findings() {
            out.finding(f);
        }
        Ok(())
    }
}
