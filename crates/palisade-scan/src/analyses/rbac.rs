//! RBAC: the permissions of every subject, joined to the workloads' pods
//! (`palisade-rbac`).

use crate::analysis::{Analysis, Needs, Out, Run};

/// The RBAC analysis.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rbac;

impl Analysis for Rbac {
    fn needs(&self) -> Needs {
        Needs {
            objects: Some(palisade_rbac::is_rbac_input),
            images: false,
        }
    }

    fn run(&self, run: &Run<'_>, out: &mut Out<'_>) -> Result<(), String> {
        if run.objects.is_empty() {
            return Ok(());
        }
        let input = palisade_rbac::Input {
            objects: run.objects.to_vec(),
            pods: run.pods.to_vec(),
        };
        for f in palisade_rbac::analyze(&input).findings() {
            out.finding(f);
        }
        Ok(())
    }
}
