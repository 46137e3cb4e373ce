//! Where a report goes: a file (`--output`) or standard output. Every
//! command writes through [`Output`], so they all buffer, create files and
//! treat a closed pipe the same way.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::DEFAULT_WIDTH;

/// A report destination.
pub enum Output {
    /// A file, created (or truncated) when opened.
    File(PathBuf),
    /// Standard output.
    Stdout,
}

impl Output {
    /// `--output FILE`, or standard output when `None`.
    pub fn new(path: Option<&Path>) -> Self {
        match path {
            Some(p) => Output::File(p.to_path_buf()),
            None => Output::Stdout,
        }
    }

    /// Whether the report is written to a terminal (colours, progress).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Output::Stdout) && io::stdout().is_terminal()
    }

    /// The width the table is laid out for: `COLUMNS` when it holds a
    /// positive number (as shells and `less` read it), else the terminal's
    /// width when the report goes to a terminal, else [`DEFAULT_WIDTH`].
    pub fn table_width(&self) -> u16 {
        let columns = std::env::var("COLUMNS").ok();
        columns_width(columns.as_deref())
            .or_else(|| {
                let terminal = matches!(self, Output::Stdout) && io::stdout().is_terminal();
                terminal
                    .then(|| terminal_size::terminal_size_of(io::stdout()))
                    .flatten()
                    .map(|(terminal_size::Width(w), _)| w)
            })
            .filter(|w| *w > 0)
            .unwrap_or(DEFAULT_WIDTH)
    }

    /// The file written to, if any.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Output::File(p) => Some(p),
            Output::Stdout => None,
        }
    }

    /// A buffered writer to the destination; the error names the file.
    pub fn open(&self) -> Result<Box<dyn Write>, OutputError> {
        Ok(match self {
            Output::File(p) => Box::new(io::BufWriter::new(File::create(p).map_err(|e| {
                OutputError(format!("--output: cannot create {}: {e}", p.display()))
            })?)),
            Output::Stdout => Box::new(io::BufWriter::new(io::stdout())),
        })
    }
}

/// A width from `COLUMNS`: a positive number, surrounding blanks allowed.
fn columns_width(value: Option<&str>) -> Option<u16> {
    value?.trim().parse().ok().filter(|w| *w > 0)
}

/// A report file that cannot be created.
#[derive(Debug)]
pub struct OutputError(pub String);

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OutputError {}

/// A closed pipe (`palisade scan ... | head`) is not an error: the reader
/// has what it wanted.
pub fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_must_be_a_positive_number() {
        assert_eq!(columns_width(Some("132")), Some(132));
        assert_eq!(columns_width(Some(" 80\n")), Some(80));
        for bad in ["", "0", "-5", "wide", "70000"] {
            assert_eq!(columns_width(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(columns_width(None), None);
    }
}
