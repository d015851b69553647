//! A strict CSV table reader: known columns only, a byte-order mark tolerated, every row numbered by its line in
//! the file (the header is line 1), ragged rows and bad encodings reported as row errors.

use std::io::Read;

/// One problem with one row (or with the header, row 1) of an input file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[error("row {row}{}: {reason}", column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default())]
pub struct RowError {
    /// The line number in the file where the row starts; the header is row 1.
    pub row: u64,
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: String,
}

impl RowError {
    pub fn new(row: u64, column: Option<&str>, value: Option<&str>, reason: impl Into<String>) -> Self {
        Self {
            row,
            column: column.map(str::to_string),
            value: value.map(str::to_string),
            reason: reason.into(),
        }
    }
}

/// A data row: its line number and its cells, keyed by the header's normalized column names.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    cells: Vec<(String, String)>,
}

impl Row {
    /// The cell of `column`, trimmed; `None` when the file has no such column. An empty cell is `Some("")`.
    pub fn get(&self, column: &str) -> Option<&str> {
        self.cells.iter().find(|(c, _)| c == column).map(|(_, v)| v.trim())
    }

    pub fn cells(&self) -> impl Iterator<Item = (&str, &str)> {
        self.cells.iter().map(|(c, v)| (c.as_str(), v.trim()))
    }
}

/// Normalizes a header cell: trimmed, lower-case, spaces and dashes as underscores.
pub fn normalize_header(h: &str) -> String {
    h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase().replace([' ', '-'], "_")
}

/// A CSV file with a header of known columns.
#[derive(Debug)]
pub struct CsvTable<R: Read> {
    reader: csv::Reader<CrlfToLf<R>>,
    columns: Vec<String>,
}

impl<R: Read> CsvTable<R> {
    /// Reads the header. Unknown, duplicated or missing required columns are refused, naming them.
    pub fn open(input: R, known: &[&str], required: &[&str]) -> Result<Self, RowError> {
        let mut reader =
            csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(CrlfToLf::new(input));
        let header = reader.headers().map_err(|e| RowError::new(1, None, None, csv_reason(&e)))?;
        let columns: Vec<String> = header.iter().map(normalize_header).collect();
        for (i, c) in columns.iter().enumerate() {
            if !known.contains(&c.as_str()) {
                return Err(RowError::new(
                    1,
                    Some(c),
                    header.get(i),
                    format!("unknown column; expected columns are: {}", known.join(", ")),
                ));
            }
            if columns[..i].contains(c) {
                return Err(RowError::new(1, Some(c), header.get(i), "column appears twice"));
            }
        }
        for r in required {
            if !columns.iter().any(|c| c == r) {
                return Err(RowError::new(1, Some(r), None, "required column is missing"));
            }
        }
        Ok(Self { reader, columns })
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The data rows, in file order.
    pub fn rows(&mut self) -> impl Iterator<Item = Result<Row, RowError>> + '_ {
        let columns = self.columns.clone();
        let mut rec = csv::StringRecord::new();
        std::iter::from_fn(move || {
            let line = match crate::cells::next_csv(&mut self.reader, &mut rec)? {
                Ok(line) => line,
                Err(e) => return Some(Err(e)),
            };
            let cells = columns.iter().cloned().zip(rec.iter().map(str::to_string)).collect();
            Some(Ok(Row { line, cells }))
        })
    }
}

/// Turns CRLF line ends into LF as bytes stream through, so that row numbers count lines the way an editor
/// does (the CSV parser would otherwise report a CRLF file's rows one line early). It also notes where blank
/// lines are: the CSV parser skips them, and numbers the record after them by the first blank line it skipped
/// ([`CrlfToLf::line_of`] puts that right).
#[derive(Debug)]
pub struct CrlfToLf<R> {
    inner: R,
    raw: Vec<u8>,
    /// Converted bytes not yet handed out: `ready[pos..end]`.
    ready: Vec<u8>,
    pos: usize,
    end: usize,
    /// A `\r` held back because the chunk ended before we could see whether `\n` follows.
    pending_cr: bool,
    /// The offset in the converted stream of `ready[0]`.
    base: u64,
    /// Whether the byte before `ready[0]` was a line end (true at the start: a file may open with blank lines).
    after_newline: bool,
    /// Offsets in the converted stream of the line ends that make blank lines, oldest first; those before the
    /// record last numbered are dropped as records are numbered.
    blanks: std::collections::VecDeque<u64>,
}

/// The size of a chunk read from the source.
const CHUNK: usize = 64 * 1024;

impl<R: Read> CrlfToLf<R> {
    pub fn new(inner: R) -> Self {
        // One byte to spare: a held-back `\r` and a whole chunk can come out of one refill.
        Self {
            inner,
            raw: vec![0; CHUNK + 1],
            ready: vec![0; CHUNK + 1],
            pos: 0,
            end: 0,
            pending_cr: false,
            base: 0,
            after_newline: true,
            blanks: std::collections::VecDeque::new(),
        }
    }

    /// The line a record read through this stream starts on, given the position the CSV parser gives it: past
    /// the blank lines the parser skipped to reach it.
    pub fn line_of(&mut self, at: &csv::Position) -> u64 {
        let mut line = at.line();
        let mut next = at.byte();
        while let Some(&b) = self.blanks.front() {
            if b > next {
                break;
            }
            self.blanks.pop_front();
            if b == next {
                line += 1;
                next += 1;
            }
        }
        line
    }

    /// Notes the blank lines of the chunk now in `ready[..end]`.
    fn note_blank_lines(&mut self) {
        let chunk = &self.ready[..self.end];
        for i in memchr::memchr_iter(b'\n', chunk) {
            let before = if i == 0 { self.after_newline } else { chunk[i - 1] == b'\n' };
            if before {
                self.blanks.push_back(self.base + i as u64);
            }
        }
        self.after_newline = chunk.last() == Some(&b'\n');
    }

    /// Reads one chunk and converts it into `ready`. Returns false at the end of the input.
    fn refill(&mut self) -> std::io::Result<bool> {
        self.base += self.end as u64;
        let more = self.convert()?;
        if more {
            self.note_blank_lines();
        }
        Ok(more)
    }

    fn convert(&mut self) -> std::io::Result<bool> {
        self.pos = 0;
        self.end = 0;
        while self.end == 0 {
            let n = self.inner.read(&mut self.raw[..CHUNK])?;
            if n == 0 {
                if self.pending_cr {
                    self.pending_cr = false;
                    self.ready[0] = b'\r';
                    self.end = 1;
                    return Ok(true);
                }
                return Ok(false);
            }
            if !self.pending_cr && !self.raw[..n].contains(&b'\r') {
                // The common case: no carriage return in the chunk, nothing to convert: the chunk read becomes
                // the one handed out, without a copy.
                std::mem::swap(&mut self.raw, &mut self.ready);
                self.end = n;
                continue;
            }
            for &b in &self.raw[..n] {
                if self.pending_cr {
                    self.pending_cr = false;
                    if b != b'\n' {
                        self.ready[self.end] = b'\r';
                        self.end += 1;
                    }
                }
                if b == b'\r' {
                    self.pending_cr = true;
                } else {
                    self.ready[self.end] = b;
                    self.end += 1;
                }
            }
        }
        Ok(true)
    }
}

impl<R: Read> Read for CrlfToLf<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.end && !self.refill()? {
            return Ok(0);
        }
        let n = out.len().min(self.end - self.pos);
        out[..n].copy_from_slice(&self.ready[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

pub(crate) fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("has {len} fields but the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8 text (save the file as UTF-8)".to_string(),
        csv::ErrorKind::Io(io) => format!("could not be read: {io}"),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[&str] = &["code", "name", "parent_code"];

    #[test]
    fn reads_rows_with_line_numbers_and_tolerates_bom_and_crlf() {
        let data = "\u{feff}Code,Name\r\nA,Alpha\r\n\"B\",\"Multi\nline\"\r\nC, Gamma \r\n";
        let mut t = CsvTable::open(data.as_bytes(), KNOWN, &["code"]).unwrap();
        let rows: Vec<Row> = t.rows().collect::<Result<_, _>>().unwrap();
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3, 5]);
        assert_eq!(rows[2].get("name"), Some("Gamma"));
        assert_eq!(rows[0].get("parent_code"), None);
    }

    /// A source handing out at most `.1` bytes a read.
    struct Chunked<'a>(&'a [u8], usize);
    impl Read for Chunked<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(self.1).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn rows_after_blank_lines_are_numbered_by_their_own_line() {
        // Line 2 blank, 4 and 5 blank (one of them CRLF), B spans lines 6-8 with an empty line inside its quotes.
        let data = "code,name\n\nA,Alpha\n\n\r\nB,\"Multi\n\nline\"\nC,Gamma\n\n";
        for chunk in [1, 2, 3, 5, 64 * 1024] {
            let mut t = CsvTable::open(Chunked(data.as_bytes(), chunk), KNOWN, &["code"]).unwrap();
            let rows: Vec<Row> = t.rows().collect::<Result<_, _>>().unwrap();
            assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [3, 6, 9], "chunk size {chunk}");
        }
        // A broken row after blank lines, and rows opening the file after the header's blank lines.
        let mut t = CsvTable::open("code,name\nA,Alpha\n\n\nB\n".as_bytes(), KNOWN, &[]).unwrap();
        let e = t.rows().nth(1).unwrap().unwrap_err();
        assert_eq!((e.row, e.reason.as_str()), (5, "has 1 fields but the header has 2"));
        let mut t = CsvTable::open("\n\ncode\nA\n".as_bytes(), KNOWN, &[]).unwrap();
        assert_eq!(t.rows().next().unwrap().unwrap().line, 4);
    }

    #[test]
    fn crlf_becomes_lf_across_any_chunking() {
        let input = b"a\r\nb\rc\r\n\r\r\nend\r";
        for chunk in 1..8 {
            let mut got = Vec::new();
            CrlfToLf::new(Chunked(input, chunk)).read_to_end(&mut got).unwrap();
            assert_eq!(got, b"a\nb\rc\n\r\nend\r", "chunk size {chunk}");
            // Reading out in tiny pieces loses nothing either.
            let mut r = CrlfToLf::new(Chunked(input, chunk));
            let mut small = Vec::new();
            let mut one = [0u8; 1];
            while r.read(&mut one).unwrap() == 1 {
                small.push(one[0]);
            }
            assert_eq!(small, got);
        }
    }

    #[test]
    fn refuses_unknown_duplicate_and_missing_columns() {
        let e = CsvTable::open("code,colour\n".as_bytes(), KNOWN, &[]).unwrap_err();
        assert_eq!((e.row, e.column.as_deref()), (1, Some("colour")));
        assert!(e.reason.contains("expected columns are: code, name, parent_code"));
        let e = CsvTable::open("code,Code\n".as_bytes(), KNOWN, &[]).unwrap_err();
        assert_eq!(e.reason, "column appears twice");
        let e = CsvTable::open("name\n".as_bytes(), KNOWN, &["code"]).unwrap_err();
        assert_eq!((e.column.as_deref(), e.reason.as_str()), (Some("code"), "required column is missing"));
    }

    #[test]
    fn ragged_and_non_utf8_rows_are_row_errors() {
        let mut t = CsvTable::open("code,name\nA,1\nB\n".as_bytes(), KNOWN, &[]).unwrap();
        let r: Vec<_> = t.rows().collect();
        let e = r[1].as_ref().unwrap_err();
        assert_eq!((e.row, e.reason.as_str()), (3, "has 1 fields but the header has 2"));
        let mut bytes = b"code,name\nA,".to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
        let mut t = CsvTable::open(&bytes[..], KNOWN, &[]).unwrap();
        let e = t.rows().next().unwrap().unwrap_err();
        assert_eq!(e.row, 2);
        assert!(e.reason.contains("UTF-8"));
    }
}
