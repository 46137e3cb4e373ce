//! palisade-scan: the one scan pipeline every front door shares.
//!
//! ```text
//! Source ──► pieces of documents / objects ──► index pass ──► check pass ──► Analyses ──► ReportWriter
//!  files, dirs,          (streamed, bounded)      (Service-     (built-in      (RBAC, Gatekeeper,    (findings as
//!  stdin, in memory                                Accounts)      rule packs)    registry, policy)     they come)
//! ```
//!
//! A [`Source`] yields units of input: files (read in bounded pieces, so a
//! huge file never sits in memory whole), standard input, bytes or objects
//! already in memory (an admission request, a cluster listing). The
//! [`Scan`] runs the index pass and the check pass of the engine's
//! built-in rules over them, hands each piece's findings to the report
//! writer as soon as the piece is done, then runs every [`Analysis`] that
//! needs the whole input. Every finding passes the policy gate
//! ([`palisade_core::Gate`]) exactly once. Adding a front door is one new
//! `Source`; adding a whole-input check is one new `Analysis` registered
//! with [`Scan::with`].

pub mod analyses;
mod analysis;
mod catalog;
pub mod kustomize;
mod pieces;
mod scan;
mod source;

pub use analysis::{Analysis, Needs, Out, Run};
pub use catalog::{catalog, find};
pub use scan::{has_findings_at, Outcome, PodFilter, Scan, ScanError};
pub use source::{paths_mention, Batch, Bytes, Objects, Paths, Source, Stdin, Stream, Unit};
