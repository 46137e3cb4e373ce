//! The output formats of every command, one typed enum each. The command
//! line takes its `--format` values, and its help lists them, from these
//! enums (clap's `ValueEnum`), so a format is named in one place.

use clap::ValueEnum;

use crate::Format;

/// `palisade image --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImageFormat {
    /// Human-readable text grouped by file and object.
    Table,
    /// Versioned JSON (`palisade.json/v1`).
    Json,
    /// SARIF 2.1.0, as code-scanning UIs read it.
    Sarif,
    /// JUnit XML, as CI test reporters read it.
    Junit,
    /// A CycloneDX 1.5 SBOM with the image's packages and vulnerabilities.
    Cyclonedx,
}

impl ImageFormat {
    /// The scan report format, or `None` for the SBOM.
    pub fn report(self) -> Option<Format> {
        match self {
            ImageFormat::Table => Some(Format::Table),
            ImageFormat::Json => Some(Format::Json),
            ImageFormat::Sarif => Some(Format::Sarif),
            ImageFormat::Junit => Some(Format::Junit),
            ImageFormat::Cyclonedx => None,
        }
    }
}

/// `palisade rules --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    /// One line per rule, or a rule in full.
    Table,
    /// The catalog entries as JSON.
    Json,
}

/// `palisade rbac who-can|can --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RbacFormat {
    /// One grant or rule per line.
    Text,
    /// JSON.
    Json,
}

/// `palisade rbac paths --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RbacPathsFormat {
    /// One path per line.
    Text,
    /// JSON.
    Json,
    /// Graphviz: the subjects, bindings, roles and pods of every RBAC finding.
    Dot,
}

/// `palisade verify --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    /// One line per test and case, as gator prints them.
    Text,
    /// JSON.
    Json,
    /// JUnit XML.
    Junit,
}

/// `palisade resolve --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResolveFormat {
    /// One pinned reference per line.
    Text,
    /// JSON.
    Json,
}
