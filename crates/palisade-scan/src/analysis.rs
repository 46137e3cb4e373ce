//! The analysis trait: checks that need the whole input (RBAC, Gatekeeper
//! constraints with their inventory) or I/O (registry look-ups), run once
//! after every object has been read. Per-object checks are the engine's
//! rules (`palisade_core::Rule`, one file each in a pack), run during the
//! check pass; both kinds of finding pass the same policy gate once.

use palisade_core::gate::{Gate, Verdict};
use palisade_core::{Engine, Finding, InputError, Object, PodInfo};

/// What an analysis needs the check pass to keep for it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    /// Objects to keep, by `(apiVersion, kind)`; workloads' pod identities
    /// are kept whenever anything is.
    pub objects: Option<fn(&str, &str) -> bool>,
    /// Objects to keep by their content, for kinds too common to keep whole.
    pub select: Option<fn(&palisade_core::Object) -> bool>,
    /// The images of every workload's containers, with their locations.
    pub images: bool,
}

/// What an analysis reads: everything the check pass kept.
pub struct Run<'a> {
    /// Kept objects, in input order.
    pub objects: &'a [Object],
    /// Every workload's pod identity (and images, when asked for).
    pub pods: &'a [PodInfo],
    /// The engine (limits, policy context).
    pub engine: &'a Engine,
}

/// Where an analysis puts its findings, errors and notes. Findings are
/// judged by the policy gate as they are added.
pub struct Out<'a> {
    gate: Gate<'a>,
    pub(crate) findings: Vec<Finding>,
    pub(crate) errors: Vec<InputError>,
    pub(crate) notes: Vec<String>,
    pub(crate) suppressed: usize,
}

impl<'a> Out<'a> {
    pub(crate) fn new(gate: Gate<'a>) -> Self {
        Out {
            gate,
            findings: Vec::new(),
            errors: Vec::new(),
            notes: Vec::new(),
            suppressed: 0,
        }
    }

    /// Adds a finding about an object.
    pub fn finding(&mut self, f: Finding) {
        self.judged(f, None);
    }

    /// Adds a finding about the container running `image` (exemptions that
    /// match images apply to it).
    pub fn image_finding(&mut self, f: Finding, image: Option<&str>) {
        self.judged(f, image);
    }

    fn judged(&mut self, f: Finding, image: Option<&str>) {
        match self.gate.judge_default(f, image) {
            Verdict::Keep(f) => self.findings.push(f),
            Verdict::Suppressed => self.suppressed += 1,
            Verdict::Disabled => {}
        }
    }

    /// Adds an input error (exit status 2).
    pub fn error(&mut self, e: InputError) {
        self.errors.push(e);
    }

    /// Adds a note on what the scan did not check.
    pub fn note(&mut self, note: String) {
        self.notes.push(note);
    }
}

/// A check over the whole input.
pub trait Analysis: Send + Sync {
    /// What the check pass must keep for it.
    fn needs(&self) -> Needs;
    /// Runs once, after every object has been read. An `Err` stops the
    /// scan (the analysis could not run at all, e.g. no async runtime).
    fn run(&self, run: &Run<'_>, out: &mut Out<'_>) -> Result<(), String>;
}
