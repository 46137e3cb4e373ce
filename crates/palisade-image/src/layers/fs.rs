//! Path normalisation of tar entries (the final filesystem they are
//! written to is [`crate::model::FinalFs`]).

/// Why an entry's path was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PathError {
    /// A `..` climbs above the image root.
    Escapes,
    /// A NUL byte (no file system accepts one).
    Nul,
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PathError::Escapes => "a `..` climbs above the image root",
            PathError::Nul => "the path holds a NUL byte",
        })
    }
}

/// Normalises a tar path: relative to the image root, no leading `/` or
/// `./`, no `.` or empty components, `..` resolved; `""` is the root.
/// A `..` that would climb above the root is refused, also in an absolute
/// path (where a shell would stop at `/`): no tool writes such paths, so
/// they are taken as hostile rather than guessed at.
pub(crate) fn normalise(raw: &str) -> Result<String, PathError> {
    if raw.contains('\0') {
        return Err(PathError::Nul);
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(PathError::Escapes);
                }
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised() {
        assert_eq!(normalise("./etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(normalise("/etc//./passwd").unwrap(), "etc/passwd");
        assert_eq!(normalise("usr/lib/../bin/").unwrap(), "usr/bin");
        assert_eq!(normalise("./").unwrap(), "");
        assert_eq!(normalise("../../etc/passwd"), Err(PathError::Escapes));
        assert_eq!(normalise("/../etc/passwd"), Err(PathError::Escapes));
        assert_eq!(normalise("a/../../b"), Err(PathError::Escapes));
        assert_eq!(normalise("a\0b"), Err(PathError::Nul));
    }
}
