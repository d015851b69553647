//! Opening a spend file of any supported kind: the container (plain, gzip, Parquet, XLSX) told by its first
//! bytes, the format told by its header (or forced), and a stream of records from the right reader. A file no
//! reader recognises is refused with every format tried and why each did not match.

use crate::cells::{Header, open_csv};
use crate::focus::{self, ContractReader, FocusReader};
use crate::generic::{self, GenericCsvReader, GenericXlsxReader, Mapping};
use crate::record::{ContractCommitment, FocusRecord};
use crate::table::RowError;
use crate::{aws, azure, gcp};
use std::io::{BufReader, Cursor, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The source formats itemize reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// FOCUS cost and usage, 1.0 to 1.3.
    Focus,
    /// The FOCUS 1.3 contract-commitment dataset.
    FocusContract,
    /// AWS Cost and Usage Report, legacy or 2.0.
    AwsCur,
    /// Azure cost details, EA or MCA.
    Azure,
    /// GCP billing export as CSV.
    Gcp,
    /// GCP billing export as newline-delimited JSON.
    GcpJson,
    /// Any other spend file, read through a TOML mapping.
    Generic,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::Focus,
        Format::FocusContract,
        Format::AwsCur,
        Format::Azure,
        Format::Gcp,
        Format::GcpJson,
        Format::Generic,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Focus => "focus",
            Format::FocusContract => "focus-contract",
            Format::AwsCur => "aws-cur",
            Format::Azure => "azure",
            Format::Gcp => "gcp",
            Format::GcpJson => "gcp-jsonl",
            Format::Generic => "generic",
        }
    }

    pub fn from_name(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == s)
    }

    /// Every format's name, for messages: `focus, focus-contract, ...`.
    pub fn names() -> String {
        Format::ALL.map(Format::name).join(", ")
    }
}

/// How the file's bytes are packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Plain,
    Gzip,
    Parquet,
    Xlsx,
}

impl Container {
    pub fn name(self) -> &'static str {
        match self {
            Container::Plain => "text",
            Container::Gzip => "gzip",
            Container::Parquet => "parquet",
            Container::Xlsx => "xlsx",
        }
    }
}

/// A source of cost lines read one row at a time into a record the caller keeps: a reader that can fills the
/// record in place, reusing its buffers, so a row costs no allocation once the first rows have sized them.
pub trait CostRows: Send {
    /// Reads the next row into `rec`, replacing all of its contents; none at the end of the input.
    fn next_into(&mut self, rec: &mut FocusRecord) -> Option<Result<(), RowError>>;
}

/// A reader that yields records of its own, as [`CostRows`].
#[derive(Debug)]
pub struct OwnedRows<I>(pub I);

impl<I: Iterator<Item = Result<FocusRecord, RowError>> + Send> CostRows for OwnedRows<I> {
    fn next_into(&mut self, rec: &mut FocusRecord) -> Option<Result<(), RowError>> {
        Some(self.0.next()?.map(|r| *rec = r))
    }
}

fn owned<I: Iterator<Item = Result<FocusRecord, RowError>> + Send + 'static>(it: I) -> CostStream {
    Box::new(OwnedRows(it))
}

pub type CostStream = Box<dyn CostRows>;

/// A cost stream's rows, each as a record of its own.
pub fn records(mut rows: CostStream) -> impl Iterator<Item = Result<FocusRecord, RowError>> {
    std::iter::from_fn(move || {
        let mut r = FocusRecord::blank(0, itemize_core::Currency::USD);
        rows.next_into(&mut r).map(|res| res.map(|()| r))
    })
}
pub type ContractStream = Box<dyn Iterator<Item = Result<ContractCommitment, RowError>> + Send>;

/// What a file holds.
pub enum Stream {
    Cost(CostStream),
    Contracts(ContractStream),
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stream::Cost(_) => "Stream::Cost",
            Stream::Contracts(_) => "Stream::Contracts",
        })
    }
}

/// An opened source: what it is and its records.
#[derive(Debug)]
pub struct Source {
    pub format: Format,
    /// The format's version when it has one (`1.2` for FOCUS, `legacy`/`2.0` for CUR).
    pub version: Option<String>,
    pub container: Container,
    pub stream: Stream,
    /// What the import's answer should say about the file though it reads (a GCP CSV without credits).
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}")]
    Row(#[from] RowError),
    #[error("could not read the file: {0}")]
    Io(#[from] std::io::Error),
    /// Every format tried, and why it did not match.
    #[error("unrecognised file; formats tried: {}", .0.iter().map(|(f, why)| format!("{}: {why}", f.name())).collect::<Vec<_>>().join("; "))]
    Unrecognised(Vec<(Format, String)>),
}

/// Counts the bytes read from the file (compressed bytes for gzip), for progress.
#[derive(Debug)]
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

type Input = Box<dyn Read + Send>;

/// How many leading bytes are read to tell the format.
const PEEK: usize = 1 << 20;

/// What holds a file's rows, told by its first bytes.
fn container_of(path: &Path) -> std::io::Result<Container> {
    let mut magic = Vec::with_capacity(4);
    std::fs::File::open(path)?.take(4).read_to_end(&mut magic)?;
    Ok(match magic.as_slice() {
        [b'P', b'A', b'R', b'1'] => Container::Parquet,
        [b'P', b'K', 3, 4] => Container::Xlsx,
        [0x1f, 0x8b, ..] => Container::Gzip,
        _ => Container::Plain,
    })
}

/// A Parquet file's column names, in order.
fn parquet_names(
    reader: &parquet::file::serialized_reader::SerializedFileReader<std::fs::File>,
) -> Vec<String> {
    use parquet::file::reader::FileReader;
    reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .root_schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect()
}

/// Opens `path`; `format` forces a reader, `mapping` serves generic files; `bytes_read` counts progress.
pub fn open(
    path: &Path,
    format: Option<Format>,
    mapping: Option<&Mapping>,
    bytes_read: Arc<AtomicU64>,
) -> Result<Source, OpenError> {
    let container = container_of(path)?;
    match container {
        Container::Parquet => open_parquet(path, format),
        Container::Xlsx => {
            let Some(mapping) = mapping else {
                return Err(OpenError::Unrecognised(vec![(
                    Format::Generic,
                    "an XLSX workbook is read through a mapping: give one (mapping= in the API, --mapping \
                     FILE.toml on the command line)"
                        .into(),
                )]));
            };
            if let Some(f) = format.filter(|f| *f != Format::Generic) {
                return Err(OpenError::Unrecognised(vec![(
                    f,
                    "an XLSX workbook is only read as generic".into(),
                )]));
            }
            let reader = GenericXlsxReader::open(path, mapping.clone())?;
            bytes_read.fetch_add(std::fs::metadata(path)?.len(), Ordering::Relaxed);
            Ok(Source {
                format: Format::Generic,
                version: None,
                container,
                stream: Stream::Cost(owned(reader)),
                notes: Vec::new(),
            })
        }
        Container::Gzip | Container::Plain => {
            let file = Counting { inner: std::fs::File::open(path)?, count: bytes_read };
            let mut input: Input = if container == Container::Gzip {
                Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file)))
            } else {
                Box::new(file)
            };
            let mut head = Vec::with_capacity(64 * 1024);
            (&mut input).take(PEEK as u64).read_to_end(&mut head)?;
            // Nothing to detect a format in: said as it is, not as a header every format found wanting.
            if head.iter().all(|b| b.is_ascii_whitespace() || *b == 0xEF || *b == 0xBB || *b == 0xBF) {
                return Err(OpenError::Row(RowError::new(
                    1,
                    None,
                    None,
                    "the file is empty: it has no header and no rows",
                )));
            }
            let input: Input = Box::new(Cursor::new(head.clone()).chain(input));
            open_text(&head, input, container, format, mapping)
        }
    }
}

/// A file's rows as text cells, numbered as its reader numbers them (the header is row 1): what a quarantine
/// file holds of the rows an import left out. CSV (plain or gzipped, with a generic mapping's delimiter) by its
/// records' lines; JSON lines by line, one cell each; an XLSX sheet (the mapping's, else the first) by
/// spreadsheet row; Parquet by row, the values as the CSV reader would have seen them.
pub struct RawRows {
    pub header: Vec<String>,
    pub rows: Box<dyn Iterator<Item = std::io::Result<(u64, Vec<String>)>>>,
}

impl std::fmt::Debug for RawRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRows").field("header", &self.header).finish_non_exhaustive()
    }
}

pub fn raw_rows(path: &Path, mapping: Option<&Mapping>) -> std::io::Result<RawRows> {
    let container = container_of(path)?;
    match container {
        Container::Parquet => {
            use parquet::file::serialized_reader::SerializedFileReader;
            let reader =
                SerializedFileReader::new(std::fs::File::open(path)?).map_err(std::io::Error::other)?;
            let names = parquet_names(&reader);
            let rows = ParquetRows::new(reader, Header::new(&names)).map_err(std::io::Error::other)?;
            Ok(RawRows {
                header: names,
                rows: Box::new(rows.map(|r| match r {
                    Ok((line, rec, _)) => Ok((line, rec.iter().map(str::to_string).collect())),
                    Err(e) => Err(std::io::Error::other(e.to_string())),
                })),
            })
        }
        Container::Xlsx => {
            let (header, rows) =
                generic::xlsx_rows(path, mapping.and_then(Mapping::sheet)).map_err(std::io::Error::other)?;
            Ok(RawRows { header, rows: Box::new(rows.into_iter().map(Ok)) })
        }
        Container::Gzip | Container::Plain => {
            let file = std::fs::File::open(path)?;
            let mut input: Input = if container == Container::Gzip {
                Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file)))
            } else {
                Box::new(file)
            };
            let mut head = Vec::with_capacity(4096);
            (&mut input).take(4096).read_to_end(&mut head)?;
            let json_lines =
                String::from_utf8_lossy(&head).trim_start_matches('\u{feff}').trim_start().starts_with('{');
            let input: Input = Box::new(Cursor::new(head).chain(input));
            if json_lines {
                use std::io::BufRead;
                let lines = BufReader::new(input).lines().enumerate();
                return Ok(RawRows {
                    header: vec!["line".into()],
                    rows: Box::new(lines.map(|(i, l)| l.map(|l| (i as u64 + 1, vec![l])))),
                });
            }
            // As the readers read it: CRLF as LF, so a record's line is the editor's line.
            let mut r = csv::ReaderBuilder::new()
                .flexible(true)
                .has_headers(true)
                .delimiter(mapping.map(Mapping::delimiter).unwrap_or(b','))
                .from_reader(crate::table::CrlfToLf::new(input));
            let header: Vec<String> = r
                .headers()
                .map_err(std::io::Error::other)?
                .iter()
                .map(|s| s.trim_start_matches('\u{feff}').to_string())
                .collect();
            Ok(RawRows {
                header,
                rows: Box::new(std::iter::from_fn(move || {
                    let mut rec = csv::StringRecord::new();
                    let line = crate::cells::next_csv(&mut r, &mut rec)?;
                    Some(
                        line.map(|l| (l, rec.iter().map(str::to_string).collect()))
                            .map_err(std::io::Error::other),
                    )
                })),
            })
        }
    }
}

fn open_text(
    head: &[u8],
    input: Input,
    container: Container,
    forced: Option<Format>,
    mapping: Option<&Mapping>,
) -> Result<Source, OpenError> {
    let text = String::from_utf8_lossy(head);
    let first = text.trim_start_matches('\u{feff}').trim_start();
    if first.starts_with('{') {
        let line = first.lines().next().unwrap_or("");
        if let Some(f) = forced.filter(|f| *f != Format::GcpJson) {
            return Err(OpenError::Unrecognised(vec![(f, "the file is JSON lines, not CSV".into())]));
        }
        return match gcp::detect_json(line) {
            Ok(()) => {
                let reader = gcp::GcpJsonReader::open(BufReader::with_capacity(1 << 16, input))?;
                Ok(Source {
                    format: Format::GcpJson,
                    version: None,
                    container,
                    stream: Stream::Cost(owned(reader)),
                    notes: Vec::new(),
                })
            }
            Err(why) => Err(OpenError::Unrecognised(vec![(Format::GcpJson, why)])),
        };
    }
    // The header, read from the leading bytes alone.
    let header: Header = match open_csv(Cursor::new(head)) {
        Ok((_, h)) => h,
        Err(e) => return Err(e.into()),
    };
    let candidates: Vec<Format> = match forced {
        Some(f) => vec![f],
        None => Format::ALL.into_iter().filter(|f| *f != Format::GcpJson).collect(),
    };
    let mut tried = Vec::new();
    for f in candidates {
        let verdict: Result<Option<String>, String> = match f {
            Format::Focus => focus::detect(&header).map(|v| Some(v.as_str().to_string())),
            Format::FocusContract => focus::detect_contract(&header).map(|()| Some("1.3".to_string())),
            Format::AwsCur => aws::detect(&header).map(|v| {
                Some(match v {
                    aws::CurVersion::Legacy => "legacy".to_string(),
                    aws::CurVersion::V2 => "2.0".to_string(),
                })
            }),
            Format::Azure => azure::detect(&header).map(|()| None),
            Format::Gcp => gcp::detect(&header).map(|()| None),
            Format::GcpJson => Err("the file is CSV, not JSON lines".into()),
            Format::Generic => match mapping {
                None => {
                    Err("needs a mapping (mapping= in the API, --mapping FILE.toml on the command line)"
                        .into())
                }
                // A mapping with a delimiter of its own reads the header with it.
                Some(m) if m.delimiter() != b',' => {
                    let mut r =
                        csv::ReaderBuilder::new().delimiter(m.delimiter()).from_reader(Cursor::new(head));
                    match r.headers() {
                        Ok(h) => generic::detect(&Header::new(h.iter()), m).map(|()| None),
                        Err(e) => Err(format!("the header could not be read: {e}")),
                    }
                }
                Some(m) => generic::detect(&header, m).map(|()| None),
            },
        };
        match verdict {
            Err(why) => tried.push((f, why)),
            Ok(version) => {
                let reader = BufReader::with_capacity(1 << 16, input);
                let stream = match f {
                    Format::Focus => Stream::Cost(Box::new(FocusReader::open(reader)?)),
                    Format::FocusContract => Stream::Contracts(Box::new(ContractReader::open(reader)?)),
                    Format::AwsCur => Stream::Cost(owned(aws::CurReader::open(reader)?)),
                    Format::Azure => Stream::Cost(owned(azure::AzureReader::open(reader)?)),
                    Format::Gcp => Stream::Cost(owned(gcp::GcpCsvReader::open(reader)?)),
                    Format::Generic => {
                        let m = mapping.cloned().ok_or_else(|| {
                            OpenError::Unrecognised(vec![(Format::Generic, "needs a mapping".into())])
                        })?;
                        Stream::Cost(owned(GenericCsvReader::open(reader, m)?))
                    }
                    Format::GcpJson => Stream::Cost(owned(gcp::GcpJsonReader::open(reader)?)),
                };
                // BigQuery cannot write a repeated field to CSV: an extract without `credits` is the cost before
                // credits. Read, and said.
                let notes = if f == Format::Gcp
                    && !header.names().iter().any(|n| n.eq_ignore_ascii_case("credits"))
                {
                    vec![
                        "the file has no credits column: its costs are before credits (sustained-use discounts, \
                         committed-use and promotional credits); export as JSON lines, or add \
                         TO_JSON_STRING(credits) AS credits to the query"
                            .to_string(),
                    ]
                } else {
                    Vec::new()
                };
                return Ok(Source { format: f, version, container, stream, notes });
            }
        }
    }
    Err(OpenError::Unrecognised(tried))
}

/// A FOCUS file stored as Parquet: each row's values become the text the CSV reader would have seen, then the
/// same row parser reads them, so both containers follow one set of rules.
fn open_parquet(path: &Path, forced: Option<Format>) -> Result<Source, OpenError> {
    use parquet::file::serialized_reader::SerializedFileReader;
    let reader = SerializedFileReader::new(std::fs::File::open(path)?)
        .map_err(|e| RowError::new(1, None, None, format!("not a readable Parquet file: {e}")))?;
    let names = parquet_names(&reader);
    let header = Header::new(&names);
    let mut tried = Vec::new();
    let want = |f: Format| forced.is_none() || forced == Some(f);
    if want(Format::Focus) {
        match focus::detect(&header) {
            Ok(v) => {
                let layout = focus::FocusLayout::new(&header);
                let rows = ParquetRows::new(reader, header)?;
                let stream = rows.map(move |r| {
                    let (line, rec, header) = r?;
                    focus::parse_row(crate::cells::Cells::new(line, &rec, &header), &layout)
                });
                return Ok(Source {
                    format: Format::Focus,
                    version: Some(v.as_str().into()),
                    container: Container::Parquet,
                    stream: Stream::Cost(owned(stream)),
                    notes: Vec::new(),
                });
            }
            Err(why) => tried.push((Format::Focus, why)),
        }
    }
    for f in Format::ALL {
        if f != Format::Focus && want(f) {
            tried.push((f, "is not read from Parquet (only FOCUS is)".into()));
        }
    }
    Err(OpenError::Unrecognised(tried))
}

/// The rows of a Parquet file as text records, numbered from 2 as if the file had a header line.
struct ParquetRows {
    iter: parquet::record::reader::RowIter<'static>,
    header: Arc<Header>,
    line: u64,
}

impl ParquetRows {
    fn new(
        reader: parquet::file::serialized_reader::SerializedFileReader<std::fs::File>,
        header: Header,
    ) -> Result<Self, OpenError> {
        let iter = parquet::record::reader::RowIter::from_file_into(Box::new(reader));
        Ok(Self { iter, header: Arc::new(header), line: 1 })
    }
}

impl Iterator for ParquetRows {
    type Item = Result<(u64, csv::StringRecord, Arc<Header>), RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let row = self.iter.next()?;
        self.line += 1;
        Some(match row {
            Err(e) => Err(RowError::new(self.line, None, None, format!("unreadable Parquet row: {e}"))),
            Ok(row) => {
                let mut rec = csv::StringRecord::new();
                for (_, field) in row.get_column_iter() {
                    rec.push_field(&field_text(field));
                }
                Ok((self.line, rec, self.header.clone()))
            }
        })
    }
}

/// A Parquet value as JSON: maps as objects (keys as their text), lists as arrays, groups as objects by field
/// name, numbers as numbers, everything else as its text.
fn field_json(f: &parquet::record::Field) -> serde_json::Value {
    use parquet::record::Field;
    use serde_json::Value;
    match f {
        Field::Null => Value::Null,
        Field::Bool(b) => Value::Bool(*b),
        Field::Byte(_)
        | Field::Short(_)
        | Field::Int(_)
        | Field::Long(_)
        | Field::UByte(_)
        | Field::UShort(_)
        | Field::UInt(_)
        | Field::ULong(_) => serde_json::from_str::<serde_json::Number>(&f.to_string())
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Field::MapInternal(m) => {
            Value::Object(m.entries().iter().map(|(k, v)| (field_text(k), field_json(v))).collect())
        }
        Field::ListInternal(l) => Value::Array(l.elements().iter().map(field_json).collect()),
        Field::Group(row) => {
            Value::Object(row.get_column_iter().map(|(k, v)| (k.clone(), field_json(v))).collect())
        }
        other => Value::String(field_text(other)),
    }
}

/// A Parquet value as the text a CSV export would hold.
fn field_text(f: &parquet::record::Field) -> String {
    use parquet::record::Field;
    match f {
        Field::Null => String::new(),
        Field::Str(s) => s.clone(),
        Field::Decimal(d) => decimal_text(d),
        Field::TimestampMicros(us) => {
            jiff::Timestamp::from_microsecond(*us).map(|t| t.to_string()).unwrap_or_default()
        }
        Field::TimestampMillis(ms) => {
            jiff::Timestamp::from_millisecond(*ms).map(|t| t.to_string()).unwrap_or_default()
        }
        // Nested values (a MAP of tags, as AWS writes FOCUS Tags in Parquet) as the JSON a CSV export holds.
        Field::MapInternal(_) | Field::ListInternal(_) | Field::Group(_) => field_json(f).to_string(),
        other => {
            let s = other.to_string();
            s.trim_matches('"').to_string()
        }
    }
}

fn decimal_text(d: &parquet::data_type::Decimal) -> String {
    let bytes = d.data();
    if bytes.is_empty() || bytes.len() > 16 {
        return String::new();
    }
    let mut v: i128 = if bytes[0] & 0x80 != 0 { -1 } else { 0 };
    for b in bytes {
        v = (v << 8) | i128::from(*b);
    }
    match rust_decimal::Decimal::try_from_i128_with_scale(v, d.scale().max(0) as u32) {
        Ok(x) => x.to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{MapBuilder, StringBuilder};

    /// An empty file (or one holding only blank lines or a byte-order mark) is said to be empty, not
    /// unrecognised by every format.
    #[test]
    fn an_empty_file_is_named_empty() {
        let dir = std::env::temp_dir().join(format!("itemize-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in [("empty.csv", &b""[..]), ("blank.csv", b"\r\n\n"), ("bom.csv", b"\xEF\xBB\xBF")]
        {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            let e = open(&path, None, None, Arc::new(AtomicU64::new(0))).err().unwrap();
            assert!(e.to_string().contains("the file is empty"), "{name}: {e}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use parquet::arrow::ArrowWriter;

    /// AWS writes FOCUS Tags in Parquet as a MAP of strings: they read as the JSON object they are, keys and
    /// values exactly (quotes and all), and a row without tags has none.
    #[test]
    fn parquet_map_tags_read_as_the_json_object_they_are() {
        let values: [(&str, &str); 11] = [
            ("BilledCost", "1.50"),
            ("EffectiveCost", "1.25"),
            ("ListCost", "2.00"),
            ("ContractedCost", "1.50"),
            ("BillingCurrency", "USD"),
            ("BillingAccountId", "123456789012"),
            ("BillingPeriodStart", "2026-05-01T00:00:00Z"),
            ("BillingPeriodEnd", "2026-06-01T00:00:00Z"),
            ("ChargePeriodStart", "2026-05-02T00:00:00Z"),
            ("ChargePeriodEnd", "2026-05-03T00:00:00Z"),
            ("ChargeCategory", "Usage"),
        ];
        let mut cols: Vec<(&str, ArrayRef)> =
            values.iter().map(|(k, v)| (*k, Arc::new(StringArray::from(vec![*v, *v])) as ArrayRef)).collect();
        let mut tags = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
        for (k, v) in [("env", "prod"), ("team", "data \"core\""), ("user:cost-centre", "CC-1")] {
            tags.keys().append_value(k);
            tags.values().append_value(v);
        }
        tags.append(true).unwrap();
        tags.append(false).unwrap();
        cols.push(("Tags", Arc::new(tags.finish())));
        let batch = RecordBatch::try_from_iter(cols).unwrap();
        let path = std::env::temp_dir().join(format!("itemize-map-tags-{}.parquet", std::process::id()));
        let mut w =
            ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();

        let src = open(&path, None, None, Arc::new(AtomicU64::new(0))).unwrap();
        // A quarantine file sees the same row as text, numbered as the reader numbers it.
        let raw = raw_rows(&path, None).unwrap();
        assert_eq!(raw.header.last().map(String::as_str), Some("Tags"));
        let rows: Vec<(u64, Vec<String>)> = raw.rows.map(Result::unwrap).collect();
        assert_eq!((rows.len(), rows[0].0, rows[1].0), (2, 2, 3));
        assert_eq!(rows[0].1[11], r#"{"env":"prod","team":"data \"core\"","user:cost-centre":"CC-1"}"#);
        assert_eq!(rows[1].1[11], "");
        let _ = std::fs::remove_file(&path);
        assert_eq!((src.format, src.container), (Format::Focus, Container::Parquet));
        let Stream::Cost(mut rows) = src.stream else { panic!("a cost stream") };
        let mut rec = FocusRecord::blank(0, "USD".parse::<itemize_core::Currency>().unwrap());
        rows.next_into(&mut rec).unwrap().unwrap();
        let got: Vec<(String, String)> = rec.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(
            got,
            [
                ("env".to_string(), "prod".to_string()),
                ("team".into(), "data \"core\"".into()),
                ("user:cost-centre".into(), "CC-1".into())
            ]
        );
        assert_eq!(rec.billed_cost.to_string(), "1.50");
        rows.next_into(&mut rec).unwrap().unwrap();
        assert_eq!(rec.tags.iter().count(), 0);
        assert!(rows.next_into(&mut rec).is_none());
    }
}
