//! Registry look-ups (`palisade-supply`): every distinct image of the
//! run's workloads is asked about once — signatures, tag resolution,
//! stored image-content results — and the findings are placed at each
//! container that uses it.

use palisade_supply::Supply;

use crate::analysis::{Analysis, Needs, Out, Run};

/// The registry checks of the policy.
pub struct Registry {
    supply: Supply,
}

impl Registry {
    /// Asks the registry as `supply` is configured.
    pub fn new(supply: Supply) -> Self {
        Registry { supply }
    }
}

impl Analysis for Registry {
    fn needs(&self) -> Needs {
        Needs {
            select: None,
            objects: None,
            images: true,
        }
    }

    fn run(&self, run: &Run<'_>, out: &mut Out<'_>) -> Result<(), String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        let images = run.pods.iter().flat_map(|p| {
            p.images
                .iter()
                .map(|u| palisade_supply::checked_reference(u).to_string())
        });
        let checked = runtime.block_on(self.supply.check_all(images));
        for pod in run.pods {
            for (f, image) in self
                .supply
                .findings_of(&checked, &pod.images, &pod.object, &pod.file)
            {
                out.image_finding(f, image.as_deref());
            }
        }
        Ok(())
    }
}
