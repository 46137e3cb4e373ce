//! The scan: sources in, findings out, in two passes and a finish.
//!
//! 1. **Index pass**: every unit is read (files in pieces, in parallel) and
//!    what cross-object rules need (ServiceAccounts) is indexed; files that
//!    are not text are found here, so none is half-checked.
//! 2. **Check pass**: units are read again in pieces of whole documents; a
//!    window of pieces is checked in parallel, and each piece's findings go
//!    to the report writer in input order as soon as its window is done.
//!    What whole-input analyses need (kept objects, pod identities) is
//!    collected; nothing else outlives its window.
//! 3. **Finish**: every registered [`Analysis`] runs over what was kept;
//!    its findings go to the writer, then the errors, skipped documents and
//!    summary.

use std::fs::File;
use std::io;
use std::sync::{Arc, Mutex};

use palisade_core::engine::index_objects;
use palisade_core::loader::Diagnostic;
use palisade_core::{Engine, InputError, PodInfo, ScanIndex, ScanReport, Severity};
use palisade_report::ReportWriter;
use rayon::prelude::*;

use crate::analysis::{Analysis, Out, Run};
use crate::pieces::{validate, Piece, Pieces, Problem};
use crate::source::{Source, Unit};

/// Text checked together in parallel before its findings are written.
const WINDOW_BYTES: usize = 4 << 20;
/// Pieces checked together at most (many small files).
const WINDOW_PIECES: usize = 128;

/// The engine and the analyses, ready to scan sources.
pub struct Scan {
    engine: Engine,
    analyses: Vec<Box<dyn Analysis>>,
    parallel: bool,
    notes: Vec<String>,
    pod_filter: Option<Mutex<PodFilter>>,
}

/// Which pod identities the whole-input analyses get, decided as they are
/// collected, in input order (see [`Scan::with_pod_filter`]).
pub type PodFilter = Box<dyn FnMut(&PodInfo) -> bool + Send>;

/// What a run produced besides the findings written: errors, skipped
/// documents, the summary, and what was kept for whole-input analysis.
pub type Outcome = ScanReport;

/// Why a scan stopped.
#[derive(Debug)]
pub enum ScanError {
    /// The report could not be written.
    Write(io::Error),
    /// An analysis could not run.
    Analysis(String),
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanError::Write(e) => write!(f, "cannot write the report: {e}"),
            ScanError::Analysis(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for ScanError {}

impl From<io::Error> for ScanError {
    fn from(e: io::Error) -> Self {
        ScanError::Write(e)
    }
}

/// One thing to check in a window.
enum Work {
    Text(Arc<str>, Piece),
    /// Objects given in memory: dropped with the window, so a listing's
    /// index objects do not outlive their check.
    Objects(Arc<[palisade_core::Object]>),
    Owned(Vec<palisade_core::Object>),
    Error(InputError),
}

impl Scan {
    /// A scan running `engine`'s rules and no whole-input analysis.
    pub fn new(engine: Engine) -> Self {
        Scan {
            engine,
            analyses: Vec::new(),
            parallel: true,
            notes: Vec::new(),
            pod_filter: None,
        }
    }

    /// Keeps only the pod identities `filter` accepts, as each window is
    /// merged (in input order): a cluster's source drops the pods whose
    /// controller already stands for them, so whole-input analyses hold one
    /// identity per controller rather than one per running pod.
    pub fn with_pod_filter(mut self, filter: PodFilter) -> Self {
        self.pod_filter = Some(Mutex::new(filter));
        self
    }

    /// Registers an analysis; it runs after every object is read, in
    /// registration order.
    pub fn with(self, analysis: impl Analysis + 'static) -> Self {
        self.with_boxed(Box::new(analysis))
    }

    /// [`Scan::with`] for a boxed analysis.
    pub fn with_boxed(mut self, analysis: Box<dyn Analysis>) -> Self {
        let needs = analysis.needs();
        let mut engine = self.engine;
        if let Some(keep) = needs.objects {
            engine = engine.with_collection(keep);
        }
        if let Some(select) = needs.select {
            engine = engine.with_selection(select);
        }
        if needs.images {
            engine = engine.with_image_uses();
        }
        self.engine = engine;
        self.analyses.push(analysis);
        self
    }

    /// Keeps the objects `keep` selects in the outcome, for a caller's own
    /// analysis (`palisade rbac` queries).
    pub fn keeping(mut self, keep: fn(&str, &str) -> bool) -> Self {
        self.engine = self.engine.with_collection(keep);
        self
    }

    /// Checks on one thread, in order (`--threads 1`), or on all (the default).
    pub fn with_parallelism(mut self, parallel: bool) -> Self {
        self.parallel = parallel;
        self.engine = self.engine.with_parallelism(parallel);
        self
    }

    /// A note for the summary on what this run does not check.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Scans `sources`, writing findings to `writer` as they come, and
    /// returns the rest. The writer is finished only when the run is
    /// complete.
    pub fn run(
        &self,
        sources: Vec<Box<dyn Source>>,
        mut writer: Box<dyn ReportWriter + '_>,
    ) -> Result<Outcome, ScanError> {
        let rest = self.scan(sources, writer.as_mut())?;
        writer.finish(&rest)?;
        Ok(rest)
    }

    /// Scans `sources` and returns everything, findings included.
    pub fn collect(&self, sources: Vec<Box<dyn Source>>) -> Result<ScanReport, ScanError> {
        let mut all = Collect(Vec::new());
        let mut report = self.scan(sources, &mut all)?;
        report.findings = all.0;
        Ok(report)
    }

    fn scan(
        &self,
        sources: Vec<Box<dyn Source>>,
        writer: &mut dyn ReportWriter,
    ) -> Result<Outcome, ScanError> {
        let limits = *self.engine.limits();
        let units: Vec<Unit> = sources.into_iter().flat_map(|s| s.units(&limits)).collect();
        let (idx, problems) = self.index(&units);
        let mut rest = ScanReport::default();
        let mut capped = Capped {
            inner: writer,
            limit: MAX_FINDINGS_PER_RUN,
            listed: 0,
            unlisted: 0,
        };
        self.check(units, &problems, &idx, &mut rest, &mut capped)?;
        self.finish(&mut rest, &mut capped)?;
        if capped.unlisted > 0 {
            rest.summary.notes.push(format!(
                "{} more findings not listed (at most {MAX_FINDINGS_PER_RUN} per run); they are counted in the summary and the exit status",
                capped.unlisted
            ));
        }
        Ok(rest)
    }

    /// The index pass, in parallel over units; also finds units that are
    /// not text (the check pass reports them without reading them again).
    fn index(&self, units: &[Unit]) -> (ScanIndex, Vec<Option<Problem>>) {
        let index_one = |unit: &Unit| {
            let mut idx = ScanIndex::default();
            let problem = match unit {
                Unit::File(path) => match open(path, self.engine.limits().max_file_bytes) {
                    Ok(file) => validate(file, |p| self.engine.index_text(&p.text, &mut idx)),
                    Err(p) => Some(p),
                },
                Unit::Bytes { bytes, .. } => {
                    if let Some(d) =
                        oversized(bytes.len() as u64, self.engine.limits().max_file_bytes)
                    {
                        Some(Problem::Decode(d))
                    } else {
                        validate(&bytes[..], |p| self.engine.index_text(&p.text, &mut idx))
                    }
                }
                Unit::Objects(objects) => {
                    index_objects(objects, &mut idx);
                    None
                }
                Unit::Unreadable { .. } | Unit::Skipped { .. } | Unit::Stream(_) => None,
            };
            (idx, problem)
        };
        let parts: Vec<(ScanIndex, Option<Problem>)> = if self.parallel {
            units.par_iter().map(index_one).collect()
        } else {
            units.iter().map(index_one).collect()
        };
        let mut idx = ScanIndex::default();
        let mut problems = Vec::with_capacity(parts.len());
        for (part, problem) in parts {
            idx.merge(part);
            problems.push(problem);
        }
        (idx, problems)
    }

    /// The check pass: windows of pieces, checked in parallel, written in order.
    fn check(
        &self,
        units: Vec<Unit>,
        problems: &[Option<Problem>],
        idx: &ScanIndex,
        rest: &mut ScanReport,
        writer: &mut dyn ReportWriter,
    ) -> Result<(), ScanError> {
        let mut window: Vec<Work> = Vec::new();
        let mut bytes = 0usize;
        for (unit, problem) in units.into_iter().zip(problems) {
            let (name, reader): (Arc<str>, Box<dyn io::Read>) = match unit {
                Unit::Objects(objects) => {
                    window.push(Work::Objects(objects));
                    continue;
                }
                Unit::Stream(stream) => {
                    while let Some(batch) = stream.next_batch() {
                        match batch {
                            crate::Batch::Objects(objects) => {
                                window.push(Work::Owned(objects));
                                // A batch is a page of objects: a few per
                                // thread keep every core busy and the
                                // window small.
                                if window.len() >= 2 * rayon::current_num_threads() {
                                    self.flush(&mut window, idx, rest, writer)?;
                                    bytes = 0;
                                }
                            }
                            crate::Batch::Error { name, message } => {
                                window.push(Work::Error(error_at(name.into(), 0, 0, message)));
                            }
                            crate::Batch::Note(note) => rest.summary.notes.push(note),
                        }
                    }
                    continue;
                }
                Unit::Skipped { name, reason } => {
                    rest.summary.files += 1;
                    rest.summary.skipped += 1;
                    rest.skipped.push(palisade_core::Skipped {
                        file: name.as_str().into(),
                        line: 1,
                        reason: reason.to_string(),
                    });
                    continue;
                }
                Unit::Unreadable { name, message } => {
                    rest.summary.files += 1;
                    window.push(Work::Error(error_at(name.as_str().into(), 0, 0, message)));
                    continue;
                }
                Unit::File(path) => {
                    let name: Arc<str> = path.to_string_lossy().into();
                    rest.summary.files += 1;
                    if let Some(p) = problem {
                        window.push(Work::Error(problem_error(&name, p)));
                        continue;
                    }
                    match open(&path, u64::MAX) {
                        Ok(f) => (name, Box::new(f)),
                        Err(p) => {
                            window.push(Work::Error(problem_error(&name, &p)));
                            continue;
                        }
                    }
                }
                Unit::Bytes { name, bytes } => {
                    rest.summary.files += 1;
                    if let Some(p) = problem {
                        window.push(Work::Error(problem_error(&name, p)));
                        continue;
                    }
                    (name, Box::new(io::Cursor::new(bytes)))
                }
            };
            let mut pieces = Pieces::new(reader);
            loop {
                match pieces.next() {
                    Ok(Some(piece)) => {
                        bytes += piece.text.len();
                        window.push(Work::Text(name.clone(), piece));
                        if bytes >= WINDOW_BYTES || window.len() >= WINDOW_PIECES {
                            self.flush(&mut window, idx, rest, writer)?;
                            bytes = 0;
                        }
                    }
                    Ok(None) => break,
                    // The file changed since the index pass.
                    Err(p) => {
                        window.push(Work::Error(problem_error(&name, &p)));
                        break;
                    }
                }
            }
        }
        self.flush(&mut window, idx, rest, writer)
    }

    fn flush(
        &self,
        window: &mut Vec<Work>,
        idx: &ScanIndex,
        rest: &mut ScanReport,
        writer: &mut dyn ReportWriter,
    ) -> Result<(), ScanError> {
        let check_one = |work: &Work| {
            let mut r = ScanReport::default();
            match work {
                Work::Text(file, piece) => {
                    self.engine
                        .scan_text(file, &piece.text, piece.line_offset, idx, &mut r)
                }
                Work::Objects(objects) => {
                    for obj in objects.iter() {
                        self.engine.scan_object(obj, idx, &mut r);
                    }
                }
                Work::Owned(objects) => {
                    for obj in objects {
                        self.engine.scan_object(obj, idx, &mut r);
                    }
                }
                Work::Error(e) => {
                    r.summary.errors += 1;
                    r.errors.push(e.clone());
                }
            }
            r
        };
        let parts: Vec<ScanReport> = if self.parallel && window.len() > 1 {
            window.par_iter().map(check_one).collect()
        } else {
            window.iter().map(check_one).collect()
        };
        window.clear();
        for mut part in parts {
            writer.findings(&part.findings)?;
            part.findings = Vec::new();
            if let Some(filter) = &self.pod_filter {
                let mut keep = filter.lock().unwrap_or_else(|e| e.into_inner());
                part.pods.retain(|p| keep(p));
            }
            rest.merge(part);
        }
        Ok(())
    }

    /// Runs the analyses over what was kept, then adds the notes.
    fn finish(
        &self,
        rest: &mut ScanReport,
        writer: &mut dyn ReportWriter,
    ) -> Result<(), ScanError> {
        let objects = std::mem::take(&mut rest.kept);
        let pods = std::mem::take(&mut rest.pods);
        let run = Run {
            objects: &objects,
            pods: &pods,
            engine: &self.engine,
        };
        for analysis in &self.analyses {
            let mut out = Out::new(self.engine.gate());
            analysis.run(&run, &mut out).map_err(ScanError::Analysis)?;
            writer.findings(&out.findings)?;
            for f in &out.findings {
                *rest.summary.findings.entry(f.severity).or_default() += 1;
            }
            rest.summary.errors += out.errors.len();
            rest.errors.extend(out.errors);
            rest.summary.suppressed += out.suppressed;
            rest.summary.notes.extend(out.notes);
        }
        rest.summary.notes.extend(self.notes.iter().cloned());
        rest.kept = objects;
        rest.pods = pods;
        Ok(())
    }
}

/// Whether a run's findings reach `threshold` (from the summary's counts,
/// since the findings themselves went to the writer).
pub fn has_findings_at(report: &ScanReport, threshold: Severity) -> bool {
    report
        .summary
        .findings
        .iter()
        .any(|(sev, n)| *sev >= threshold && *n > 0)
}

/// Findings listed in one run; more are counted, not written, so a
/// hostile input cannot make the report (or a collecting caller's memory)
/// grow without bound.
pub const MAX_FINDINGS_PER_RUN: usize = 2_000_000;

/// Passes at most [`MAX_FINDINGS_PER_RUN`] findings on to a writer.
struct Capped<'w> {
    inner: &'w mut dyn ReportWriter,
    limit: usize,
    listed: usize,
    unlisted: usize,
}

impl ReportWriter for Capped<'_> {
    fn findings(&mut self, findings: &[palisade_core::Finding]) -> io::Result<()> {
        let room = self.limit - self.listed;
        let shown = findings.len().min(room);
        self.listed += shown;
        self.unlisted += findings.len() - shown;
        self.inner.findings(&findings[..shown])
    }

    fn finish(self: Box<Self>, _rest: &ScanReport) -> io::Result<()> {
        Ok(())
    }
}

/// Collects findings in memory.
struct Collect(Vec<palisade_core::Finding>);

impl ReportWriter for Collect {
    fn findings(&mut self, findings: &[palisade_core::Finding]) -> io::Result<()> {
        self.0.extend_from_slice(findings);
        Ok(())
    }

    fn finish(self: Box<Self>, _rest: &ScanReport) -> io::Result<()> {
        Ok(())
    }
}

/// Opens a file within the size limit.
fn open(path: &std::path::Path, max_bytes: u64) -> Result<File, Problem> {
    let meta = std::fs::metadata(path).map_err(|e| Problem::Read(format!("cannot read: {e}")))?;
    if meta.len() > max_bytes {
        return Err(Problem::Read(format!(
            "file is {} bytes, over the limit of {} bytes",
            meta.len(),
            max_bytes
        )));
    }
    File::open(path).map_err(|e| Problem::Read(format!("cannot read: {e}")))
}

fn oversized(len: u64, max: u64) -> Option<Diagnostic> {
    (len > max).then(|| Diagnostic {
        pos: palisade_core::Pos { line: 1, col: 1 },
        message: format!("file is {len} bytes, over the limit of {max} bytes"),
    })
}

fn problem_error(file: &Arc<str>, p: &Problem) -> InputError {
    match p {
        Problem::Read(m) => error_at(file.clone(), 0, 0, m.clone()),
        Problem::Decode(d) => error_at(file.clone(), d.pos.line, d.pos.col, d.message.clone()),
    }
}

fn error_at(file: Arc<str>, line: u32, column: u32, message: String) -> InputError {
    InputError {
        file,
        line,
        column,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_past_the_run_limit_are_counted_not_written() {
        let f = palisade_core::Finding {
            rule: "pss/privileged",
            severity: Severity::High,
            message: String::new(),
            object: Arc::default(),
            container: None,
            path: String::new(),
            file: "f".into(),
            line: 1,
            column: 1,
            remediation: "",
        };
        let mut all = Collect(Vec::new());
        let mut capped = Capped {
            inner: &mut all,
            limit: 5,
            listed: 0,
            unlisted: 0,
        };
        capped.findings(&vec![f.clone(); 3]).unwrap();
        capped.findings(&vec![f; 4]).unwrap();
        assert_eq!((capped.listed, capped.unlisted), (5, 2));
        assert_eq!(all.0.len(), 5);
    }
}
