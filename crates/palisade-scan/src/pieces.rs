//! Reading input in pieces of whole documents, so that no file is held in
//! memory whole: a piece ends just before a document-start line (`---` at
//! column 0, which YAML forbids inside any scalar, so the cut is exact)
//! once it holds about [`PIECE_BYTES`]; a single document larger than that
//! is one piece. Cuts fall at line starts, so UTF-8 sequences are never
//! split, and each piece carries the number of the line it starts on.

use std::io::{self, Read};

use palisade_core::loader::{wide_encoding, Diagnostic};
use palisade_core::Pos;

/// The size a piece grows to before it is cut at the next document start.
pub(crate) const PIECE_BYTES: usize = 256 * 1024;

/// Whole documents of text.
#[derive(Debug)]
pub(crate) struct Piece {
    /// The text.
    pub text: String,
    /// 0-based number of the line the text starts on.
    pub line_offset: u32,
}

/// Why input cannot be read as text.
#[derive(Debug)]
pub(crate) enum Problem {
    /// Reading failed (reported at 0:0, as a file that cannot be opened).
    Read(String),
    /// The content is not text (reported at its position).
    Decode(Diagnostic),
}

/// A reader of pieces.
pub(crate) struct Pieces<R> {
    input: R,
    buf: Vec<u8>,
    eof: bool,
    first: bool,
    line: u32,
}

impl<R: Read> Pieces<R> {
    pub(crate) fn new(input: R) -> Self {
        Pieces {
            input,
            buf: Vec::new(),
            eof: false,
            first: true,
            line: 0,
        }
    }

    /// The next piece as raw bytes and its first line, or `None` at the end.
    pub(crate) fn next_bytes(&mut self) -> io::Result<Option<(Vec<u8>, u32)>> {
        let mut want = PIECE_BYTES;
        let cut = loop {
            while self.buf.len() < want && !self.eof {
                self.fill()?;
            }
            if self.eof {
                break self.buf.len();
            }
            match last_document_start(&self.buf) {
                Some(at) => break at,
                // One document so far: read on until it ends.
                None => want = self.buf.len() + PIECE_BYTES,
            }
        };
        if cut == 0 {
            return Ok(None);
        }
        let rest = self.buf.split_off(cut);
        let piece = std::mem::replace(&mut self.buf, rest);
        let line = self.line;
        self.line += memchr::memchr_iter(b'\n', &piece).count() as u32;
        Ok(Some((piece, line)))
    }

    /// The next piece as text.
    pub(crate) fn next(&mut self) -> Result<Option<Piece>, Problem> {
        let Some((bytes, line)) = self
            .next_bytes()
            .map_err(|e| Problem::Read(format!("cannot read: {e}")))?
        else {
            return Ok(None);
        };
        let first = std::mem::replace(&mut self.first, false);
        decode(bytes, line, first)
            .map(Some)
            .map_err(Problem::Decode)
    }

    fn fill(&mut self) -> io::Result<()> {
        let start = self.buf.len();
        self.buf.resize(start + 64 * 1024, 0);
        let n = loop {
            match self.input.read(&mut self.buf[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(start);
                    return Err(e);
                }
            }
        };
        self.buf.truncate(start + n);
        self.eof = n == 0;
        Ok(())
    }
}

/// Where the last document-start line of `buf` begins, if it is not the
/// first line: the place to cut. A `---` at the very end is not taken,
/// since the byte after it decides whether it is a marker.
fn last_document_start(buf: &[u8]) -> Option<usize> {
    let mut end = buf.len();
    while let Some(i) = memchr::memmem::rfind(&buf[..end], b"\n---") {
        let after = buf.get(i + 4);
        if matches!(after, Some(b' ' | b'\t' | b'\r' | b'\n')) {
            return Some(i + 1);
        }
        end = i;
    }
    None
}

/// Checks that a piece is text, as [`palisade_core::loader::decode`] does
/// for a whole file: no UTF-16 or UTF-32, no NUL bytes, valid UTF-8, a leading BOM
/// dropped. A NUL anywhere is reported before invalid UTF-8, as for a
/// whole file (see [`validate`]).
fn decode(bytes: Vec<u8>, line: u32, first: bool) -> Result<Piece, Diagnostic> {
    let at = |line| Pos { line, col: 1 };
    if let Some(encoding) = wide_encoding(&bytes).filter(|_| first) {
        return Err(Diagnostic {
            pos: at(1),
            message: format!("file is {encoding}; convert it to UTF-8"),
        });
    }
    if memchr::memchr(0, &bytes).is_some() {
        return Err(nul());
    }
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if first && text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            Ok(Piece {
                text,
                line_offset: line,
            })
        }
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let local = memchr::memchr_iter(b'\n', valid).count() as u32;
            Err(Diagnostic {
                pos: at(line + local + 1),
                message: "file is not valid UTF-8 (binary data?)".into(),
            })
        }
    }
}

fn nul() -> Diagnostic {
    Diagnostic {
        pos: Pos { line: 1, col: 1 },
        message: "binary file (contains NUL bytes), not YAML or JSON".into(),
    }
}

/// Reads all of `input`, passing every piece of text to `each`, and
/// returns the first problem in whole-file order of precedence: a read
/// error, UTF-16 or UTF-32, NUL bytes anywhere, then the first invalid UTF-8.
pub(crate) fn validate<R: Read>(input: R, mut each: impl FnMut(&Piece)) -> Option<Problem> {
    let mut pieces = Pieces::new(input);
    let mut utf8 = None;
    loop {
        match pieces.next() {
            Ok(Some(p)) => each(&p),
            Ok(None) => return utf8,
            Err(Problem::Decode(d)) if d.message.contains("not valid UTF-8") => {
                // Keep looking: a NUL byte later makes it a binary file.
                utf8.get_or_insert(Problem::Decode(d));
            }
            Err(p) => return Some(p),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces_of(text: &[u8]) -> Vec<(String, u32)> {
        let mut p = Pieces::new(text);
        let mut out = Vec::new();
        while let Ok(Some(piece)) = p.next() {
            out.push((piece.text, piece.line_offset));
        }
        out
    }

    #[test]
    fn small_input_is_one_piece_and_big_input_is_cut_at_document_starts() {
        assert_eq!(
            pieces_of(b"a: 1\n---\nb: 2\n"),
            [("a: 1\n---\nb: 2\n".to_string(), 0)]
        );
        let doc = format!("---\nkind: Pod\ndata: {}\n", "x".repeat(1000));
        let text = doc.repeat(1000);
        let pieces = pieces_of(text.as_bytes());
        assert!(pieces.len() > 2, "{} pieces", pieces.len());
        assert_eq!(
            pieces.iter().map(|p| p.0.as_str()).collect::<String>(),
            text
        );
        let mut line = 0;
        for (t, offset) in &pieces {
            assert!(t.starts_with("---\n"));
            assert_eq!(*offset, line);
            line += t.matches('\n').count() as u32;
        }
    }

    #[test]
    fn a_marker_needs_a_blank_after_it_and_a_huge_document_stays_whole() {
        let big = format!(
            "a: |\n  {}\n---x: not a marker\n",
            "y".repeat(3 * PIECE_BYTES)
        );
        assert_eq!(pieces_of(big.as_bytes()).len(), 1);
    }

    #[test]
    fn decoding_problems_are_reported_as_for_a_whole_file() {
        let bom = b"\xEF\xBB\xBFa: 1\n";
        assert_eq!(pieces_of(bom), [("a: 1\n".to_string(), 0)]);
        let utf16 = b"\xFF\xFEa\0:\0";
        assert!(
            matches!(validate(&utf16[..], |_| {}), Some(Problem::Decode(d)) if d.message.contains("UTF-16"))
        );
        // UTF-32 is named as such, in both byte orders (its little-endian
        // mark begins with UTF-16's).
        for utf32 in [&b"\xFF\xFE\0\0a\0\0\0"[..], &b"\0\0\xFE\xFF\0\0\0a"[..]] {
            assert!(
                matches!(validate(utf32, |_| {}), Some(Problem::Decode(d)) if d.message == "file is UTF-32; convert it to UTF-8")
            );
        }
        let mut late_nul = b"a: \xC3\n".to_vec();
        late_nul.extend(format!("---\nb: {}\n", "z".repeat(PIECE_BYTES)).bytes());
        late_nul.extend(b"---\nc: \0\n");
        assert!(
            matches!(validate(&late_nul[..], |_| {}), Some(Problem::Decode(d)) if d.message.contains("NUL"))
        );
        let bad = b"a: 1\nb: 2\nc: \xC3\n";
        match validate(&bad[..], |_| {}) {
            Some(Problem::Decode(d)) => assert_eq!(d.pos.line, 3),
            other => panic!("{other:?}"),
        }
    }
}
