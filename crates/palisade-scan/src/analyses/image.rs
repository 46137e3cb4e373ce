//! The findings of an image already scanned (`palisade image`). Walking
//! the layers is I/O and happens before the scan; this analysis hands the
//! findings to the policy gate (rule settings, and exemptions that match
//! the image) like every other finding.

use std::sync::Mutex;

use palisade_core::Finding;

use crate::analysis::{Analysis, Needs, Out, Run};

/// One image's findings and notes, given once to the run.
#[derive(Debug, Default)]
pub struct ImageContent {
    /// The image reference, for exemptions that match images.
    image: String,
    found: Mutex<Option<(Vec<Finding>, Vec<String>)>>,
}

impl ImageContent {
    /// The findings of `image` and the notes on what was not checked.
    pub fn new(image: impl Into<String>, findings: Vec<Finding>, notes: Vec<String>) -> Self {
        ImageContent {
            image: image.into(),
            found: Mutex::new(Some((findings, notes))),
        }
    }
}

impl Analysis for ImageContent {
    fn needs(&self) -> Needs {
        Needs::default()
    }

    fn run(&self, _run: &Run<'_>, out: &mut Out<'_>) -> Result<(), String> {
        let taken = self
            .found
            .lock()
            .map_err(|_| "image findings are poisoned".to_string())?
            .take();
        let Some((findings, notes)) = taken else {
            return Ok(());
        };
        for f in findings {
            out.image_finding(f, Some(&self.image));
        }
        for n in notes {
            out.note(n);
        }
        Ok(())
    }
}
