//! RBAC: the permissions of every subject, joined to the workloads' pods
//! (`palisade-rbac`).

use std::sync::{Arc, Mutex};

use palisade_rbac::AttackPath;

use crate::analysis::{Analysis, Needs, Out, Run};

/// The RBAC analysis.
#[derive(Debug, Clone, Default)]
pub struct Rbac {
    paths: Option<Arc<Mutex<Vec<AttackPath>>>>,
}

impl Rbac {
    /// The analysis, also leaving every pod's attack paths in `slot` (for
    /// the HTML report).
    pub fn with_paths(slot: Arc<Mutex<Vec<AttackPath>>>) -> Self {
        Rbac { paths: Some(slot) }
    }
}

impl Analysis for Rbac {
    fn needs(&self) -> Needs {
        Needs {
            select: None,
            objects: Some(palisade_rbac::is_rbac_input),
            images: false,
        }
    }

    fn run(&self, run: &Run<'_>, out: &mut Out<'_>) -> Result<(), String> {
        if run.objects.is_empty() {
            return Ok(());
        }
        let input = palisade_rbac::Input {
            objects: run.objects.into(),
            pods: run.pods.into(),
        };
        let mut analysis = palisade_rbac::analyze(&input);
        if let Some(slot) = &self.paths {
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = analysis.pod_paths();
        }
        let findings = analysis.take_findings();
        drop(analysis);
        for f in findings {
            out.finding(f);
        }
        Ok(())
    }
}
