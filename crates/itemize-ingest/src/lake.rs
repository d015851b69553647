//! The cost lake's file format: one Parquet file per partition (billing period × provider × billing account ×
//! import), one column per field of [`FocusRecord`] plus the conversion into the reporting currency.
//!
//! Money is stored as exact decimal text (UTF8 columns), never as a float and never at a fixed scale that could
//! drop digits: sources carry up to 28 significant digits at varying scales. Timestamps are INT64 microseconds
//! since the epoch, UTC. Tags and the provider's extra columns are JSON objects as text.

use crate::record::{ChargeCategory, ChargeFrequency, FocusRecord};
use crate::strmap::StrMap;
use arrow_array::{Array, ArrayRef, Int64Array, LargeBinaryArray, RecordBatch};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use itemize_core::Currency;
use jiff::Timestamp;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::basic::Compression;
use parquet::column::reader::ColumnReader;
use parquet::data_type::ByteArray;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::{ColumnPath, SchemaDescriptor};
use rust_decimal::Decimal;
use std::fs::File;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

/// How a record's billing-currency amounts were expressed in the reporting currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    pub reporting_currency: Currency,
    /// Reporting-currency units per billing-currency unit (1 when the currencies are the same).
    pub rate: Decimal,
    /// The date of the rate used.
    pub rate_date: Option<jiff::civil::Date>,
}

impl Conversion {
    pub fn convert(&self, amount: Decimal) -> Decimal {
        if self.is_identity() { amount } else { amount * self.rate }
    }

    /// A rate of exactly 1 (the billing currency is the reporting one): converting changes nothing, scale
    /// included.
    pub fn is_identity(&self) -> bool {
        self.rate.mantissa() == 1 && self.rate.scale() == 0
    }
}

/// The lake's columns, in file order.
pub const COLUMNS: &[(&str, LakeKind)] = &[
    ("line", LakeKind::Int),
    ("billing_account_id", LakeKind::Text),
    ("billing_account_name", LakeKind::Text),
    ("sub_account_id", LakeKind::Text),
    ("sub_account_name", LakeKind::Text),
    ("provider_name", LakeKind::Text),
    ("publisher_name", LakeKind::Text),
    ("invoice_issuer_name", LakeKind::Text),
    ("invoice_id", LakeKind::Text),
    ("billing_period_start", LakeKind::Time),
    ("billing_period_end", LakeKind::Time),
    ("charge_period_start", LakeKind::Time),
    ("charge_period_end", LakeKind::Time),
    ("charge_category", LakeKind::Text),
    ("charge_class", LakeKind::Text),
    ("charge_frequency", LakeKind::Text),
    ("charge_description", LakeKind::Text),
    ("billing_currency", LakeKind::Text),
    ("billed_cost", LakeKind::Text),
    ("effective_cost", LakeKind::Text),
    ("list_cost", LakeKind::Text),
    ("contracted_cost", LakeKind::Text),
    ("pricing_quantity", LakeKind::Text),
    ("pricing_unit", LakeKind::Text),
    ("consumed_quantity", LakeKind::Text),
    ("consumed_unit", LakeKind::Text),
    ("pricing_category", LakeKind::Text),
    ("list_unit_price", LakeKind::Text),
    ("contracted_unit_price", LakeKind::Text),
    ("service_name", LakeKind::Text),
    ("service_category", LakeKind::Text),
    ("region_id", LakeKind::Text),
    ("resource_id", LakeKind::Text),
    ("resource_name", LakeKind::Text),
    ("sku_id", LakeKind::Text),
    ("commitment_discount_id", LakeKind::Text),
    ("tags", LakeKind::Text),
    ("other", LakeKind::Text),
    ("reporting_currency", LakeKind::Text),
    ("exchange_rate", LakeKind::Text),
    ("exchange_rate_date", LakeKind::Text),
    ("billed_cost_reporting", LakeKind::Text),
    ("effective_cost_reporting", LakeKind::Text),
    ("list_cost_reporting", LakeKind::Text),
    ("contracted_cost_reporting", LakeKind::Text),
];

/// A lake column's physical shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LakeKind {
    Text,
    Int,
    Time,
}

/// The position of a lake column by name.
pub fn column_index(name: &str) -> Option<usize> {
    COLUMNS.iter().position(|(n, _)| *n == name)
}

fn schema_text() -> String {
    let mut s = String::from("message itemize_cost {\n");
    for (name, kind) in COLUMNS {
        match kind {
            LakeKind::Text => s.push_str(&format!("  OPTIONAL BYTE_ARRAY {name} (UTF8);\n")),
            LakeKind::Int => s.push_str(&format!("  OPTIONAL INT64 {name};\n")),
            LakeKind::Time => s.push_str(&format!("  OPTIONAL INT64 {name} (TIMESTAMP(MICROS,true));\n")),
        }
    }
    s.push('}');
    s
}

pub type LakeError = parquet::errors::ParquetError;

/// One column's values of the row group being built, laid out as Arrow lays them out, so the Parquet writer
/// reads them in place: text in one buffer with each value's end (after a leading 0), numbers in one vector (0 where
/// the value is null), and whether each value is there.
#[derive(Debug)]
struct ColBuf {
    bytes: Vec<u8>,
    ends: Vec<i64>,
    ints: Vec<i64>,
    valid: Vec<bool>,
}

impl Default for ColBuf {
    fn default() -> Self {
        Self { bytes: Vec::new(), ends: vec![0], ints: Vec::new(), valid: Vec::new() }
    }
}

impl ColBuf {
    fn end_text(&mut self, valid: bool) {
        self.ends.push(self.bytes.len() as i64);
        self.valid.push(valid);
    }

    /// The row group's values as an Arrow array (text as bytes: the Parquet schema says UTF8 and every value was
    /// written from a `str`), leaving the column empty.
    fn take_array(&mut self, kind: LakeKind) -> Result<ArrayRef, LakeError> {
        let nulls = (!self.valid.iter().all(|v| *v)).then(|| NullBuffer::from(self.valid.as_slice()));
        self.valid.clear();
        Ok(match kind {
            LakeKind::Text => {
                let ends = std::mem::replace(&mut self.ends, vec![0]);
                let bytes = std::mem::take(&mut self.bytes);
                let offsets = OffsetBuffer::new(ScalarBuffer::from(ends));
                Arc::new(
                    LargeBinaryArray::try_new(offsets, Buffer::from_vec(bytes), nulls)
                        .map_err(|e| LakeError::General(e.to_string()))?,
                )
            }
            LakeKind::Int | LakeKind::Time => {
                Arc::new(Int64Array::new(ScalarBuffer::from(std::mem::take(&mut self.ints)), nulls))
            }
        })
    }

    /// Takes back the buffers of an array made by [`ColBuf::take_array`] once nothing else holds them, so the
    /// next row group writes into memory already sized for it.
    fn reclaim(&mut self, array: ArrayRef) {
        let data = array.to_data();
        drop(array);
        let mut buffers = data.buffers().to_vec();
        drop(data);
        match buffers.len() {
            2 => {
                let values = buffers.pop().and_then(|b| b.into_vec::<u8>().ok());
                let ends = buffers.pop().and_then(|b| b.into_vec::<i64>().ok());
                if let Some(mut v) = values {
                    v.clear();
                    self.bytes = v;
                }
                if let Some(mut e) = ends {
                    e.clear();
                    e.push(0);
                    self.ends = e;
                }
            }
            1 => {
                if let Some(mut v) = buffers.pop().and_then(|b| b.into_vec::<i64>().ok()) {
                    v.clear();
                    self.ints = v;
                }
            }
            _ => {}
        }
    }
}

/// Writes one partition file, a row group at a time, so memory stays bounded whatever the input size.
pub struct LakeWriter {
    writer: ArrowWriter<File>,
    /// The Arrow shape of [`COLUMNS`]: text as bytes, times as plain 64-bit integers (the Parquet schema, given to
    /// the writer, names their logical types).
    arrow_schema: SchemaRef,
    cols: Vec<ColBuf>,
    rows_in_group: usize,
    rows: u64,
    other_json: JsonMemo,
}

/// The JSON of the extra columns' maps seen lately, by their content.
///
/// A provider's extra columns describe the SKU, the resource or the allocation, so the same few hundred maps
/// recur down a file (a resource's every hour), while their JSON (escaping every nested quote) is the costliest
/// text of a row to write. A map seen before is looked up instead: its content is laid out flat, hashed and
/// compared whole, so a lookup never answers for a different map. Bounded in entries and bytes; switched off for a
/// file whose maps rarely recur.
#[derive(Debug, Default)]
struct JsonMemo {
    /// Content laid out flat (key, 0xFF, value, 0xFF, …; 0xFF never occurs in UTF-8) → JSON.
    known: rustc_hash::FxHashMap<Box<[u8]>, Box<[u8]>>,
    flat: Vec<u8>,
    /// The bytes `known` holds.
    bytes: usize,
    lookups: u64,
    hits: u64,
    off: bool,
}

impl JsonMemo {
    /// Most distinct maps kept (each about a kilobyte for the FOCUS samples) …
    const CAPACITY: usize = 4096;
    /// … and most bytes (their content and JSON), so a file of large maps keeps fewer.
    const BYTES: usize = 4 << 20;
    /// Lookups after which a memo that answers fewer than one in four stops looking.
    const TRIAL: u64 = 8192;

    /// Appends `m`'s JSON to `out`, from the memo when the same content was seen.
    fn write(&mut self, m: &StrMap, out: &mut Vec<u8>) {
        if !self.off && self.lookups == Self::TRIAL && self.hits * 4 < self.lookups {
            self.off = true;
            self.known = Default::default();
            self.bytes = 0;
        }
        if self.off {
            m.write_json(out);
            return;
        }
        self.flat.clear();
        for (k, v) in m.iter() {
            self.flat.extend_from_slice(k.as_bytes());
            self.flat.push(0xFF);
            self.flat.extend_from_slice(v.as_bytes());
            self.flat.push(0xFF);
        }
        self.lookups += 1;
        if let Some(json) = self.known.get(self.flat.as_slice()) {
            self.hits += 1;
            out.extend_from_slice(json);
            return;
        }
        let start = out.len();
        m.write_json(out);
        let size = self.flat.len() + (out.len() - start);
        if self.known.len() >= Self::CAPACITY || self.bytes + size > Self::BYTES {
            self.known.clear();
            self.bytes = 0;
        }
        if size <= Self::BYTES / 8 {
            self.known.insert(self.flat.as_slice().into(), out[start..].into());
            self.bytes += size;
        }
    }
}

impl std::fmt::Debug for LakeWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LakeWriter").field("rows", &self.rows).finish_non_exhaustive()
    }
}

/// Columns whose values are mostly distinct from row to row (line numbers, amounts), for which a dictionary
/// costs a hash lookup per value and saves nothing.
const UNIQUE_MOSTLY: &[&str] = &[
    "line",
    "billed_cost",
    "effective_cost",
    "list_cost",
    "contracted_cost",
    "billed_cost_reporting",
    "effective_cost_reporting",
    "list_cost_reporting",
    "contracted_cost_reporting",
];

/// Rows per row group: large enough for good compression and pruning, small enough to bound memory.
const ROW_GROUP: usize = 32_768;

fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

impl LakeWriter {
    pub fn create(path: &Path) -> Result<Self, LakeError> {
        let schema = SchemaDescriptor::new(Arc::new(parse_message_type(&schema_text())?));
        let mut props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            // Nothing reads the lake by min/max: each query reads the partitions its manifest names.
            .set_statistics_enabled(EnabledStatistics::None)
            .set_max_row_group_size(ROW_GROUP);
        for (name, _) in COLUMNS.iter().filter(|(n, _)| UNIQUE_MOSTLY.contains(n)) {
            props = props.set_column_dictionary_enabled(ColumnPath::from(*name), false);
        }
        let arrow_schema = Arc::new(Schema::new(
            COLUMNS
                .iter()
                .map(|(name, kind)| {
                    let t = match kind {
                        LakeKind::Text => DataType::LargeBinary,
                        LakeKind::Int | LakeKind::Time => DataType::Int64,
                    };
                    Field::new(*name, t, true)
                })
                .collect::<Vec<_>>(),
        ));
        let options = ArrowWriterOptions::new()
            .with_properties(props.build())
            .with_parquet_schema(schema)
            // The Parquet schema is the file's description; an Arrow one (saying "bytes") would only mislead.
            .with_skip_arrow_metadata(true);
        let writer = ArrowWriter::try_new_with_options(File::create(path)?, arrow_schema.clone(), options)?;
        Ok(Self {
            writer,
            arrow_schema,
            cols: COLUMNS.iter().map(|_| ColBuf::default()).collect(),
            rows_in_group: 0,
            rows: 0,
            other_json: JsonMemo::default(),
        })
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    fn text(&mut self, i: usize, v: Option<&str>) {
        let c = &mut self.cols[i];
        match v {
            Some(v) => {
                c.bytes.extend_from_slice(v.as_bytes());
                c.end_text(true);
            }
            None => c.end_text(false),
        }
    }

    fn int(&mut self, i: usize, v: Option<i64>) {
        let c = &mut self.cols[i];
        match v {
            Some(v) => {
                c.ints.push(v);
                c.valid.push(true);
            }
            None => {
                c.ints.push(0);
                c.valid.push(false);
            }
        }
    }

    /// A decimal's text, written straight into the column's buffer.
    fn dec(&mut self, i: usize, v: Option<Decimal>) {
        let c = &mut self.cols[i];
        match v {
            Some(d) => {
                write_decimal(&mut c.bytes, d);
                c.end_text(true);
            }
            None => c.end_text(false),
        }
    }

    /// A map as a JSON object, written straight into the column's buffer (through `memo` when given); none when
    /// empty.
    fn map(&mut self, i: usize, m: &StrMap, memo: bool) {
        let c = &mut self.cols[i];
        if m.is_empty() {
            c.end_text(false);
        } else {
            if memo {
                self.other_json.write(m, &mut c.bytes);
            } else {
                m.write_json(&mut c.bytes);
            }
            c.end_text(true);
        }
    }

    pub fn push(&mut self, r: &FocusRecord, conv: &Conversion) -> Result<(), LakeError> {
        let mut i = 0usize;
        let mut next = || {
            i += 1;
            i - 1
        };
        let line = next();
        self.int(line, Some(r.line as i64));
        for v in [
            Some(r.billing_account_id.as_str()),
            r.billing_account_name.as_deref(),
            r.sub_account_id.as_deref(),
            r.sub_account_name.as_deref(),
            r.provider_name.as_deref(),
            r.publisher_name.as_deref(),
            r.invoice_issuer_name.as_deref(),
            r.invoice_id.as_deref(),
        ] {
            let k = next();
            self.text(k, v);
        }
        for t in [r.billing_period_start, r.billing_period_end, r.charge_period_start, r.charge_period_end] {
            let k = next();
            self.int(k, Some(micros(t)));
        }
        for v in [
            Some(r.charge_category.as_str()),
            r.charge_class.as_deref(),
            r.charge_frequency.map(ChargeFrequency::as_str),
            r.charge_description.as_deref(),
            Some(r.billing_currency.code()),
        ] {
            let k = next();
            self.text(k, v);
        }
        for d in [Some(r.billed_cost), Some(r.effective_cost), Some(r.list_cost), r.contracted_cost] {
            let k = next();
            self.dec(k, d);
        }
        let k = next();
        self.dec(k, r.pricing_quantity);
        let k = next();
        self.text(k, r.pricing_unit.as_deref());
        let k = next();
        self.dec(k, r.consumed_quantity);
        let k = next();
        self.text(k, r.consumed_unit.as_deref());
        let k = next();
        self.text(k, r.pricing_category.as_deref());
        let k = next();
        self.dec(k, r.list_unit_price);
        let k = next();
        self.dec(k, r.contracted_unit_price);
        for v in [
            r.service_name.as_deref(),
            r.service_category.as_deref(),
            r.region_id.as_deref(),
            r.resource_id.as_deref(),
            r.resource_name.as_deref(),
            r.sku_id.as_deref(),
            r.commitment_discount_id.as_deref(),
        ] {
            let k = next();
            self.text(k, v);
        }
        let k = next();
        self.map(k, &r.tags, false);
        let k = next();
        self.map(k, &r.other, true);
        let k = next();
        self.text(k, Some(conv.reporting_currency.code()));
        let k = next();
        self.dec(k, Some(conv.rate));
        let k = next();
        let rd = conv.rate_date.map(|d| d.to_string());
        self.text(k, rd.as_deref());
        // At a rate of exactly 1 the reporting amounts are the billing ones: left out, and read back as those.
        let identity = conv.is_identity();
        for d in [Some(r.billed_cost), Some(r.effective_cost), Some(r.list_cost), r.contracted_cost] {
            let k = next();
            self.dec(k, d.filter(|_| !identity).map(|d| conv.convert(d)));
        }
        debug_assert_eq!(i, COLUMNS.len());
        self.rows += 1;
        self.rows_in_group += 1;
        if self.rows_in_group >= ROW_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), LakeError> {
        if self.rows_in_group == 0 {
            return Ok(());
        }
        let arrays = self
            .cols
            .iter_mut()
            .zip(COLUMNS)
            .map(|(c, (_, kind))| c.take_array(*kind))
            .collect::<Result<_, _>>()?;
        let batch = RecordBatch::try_new(self.arrow_schema.clone(), arrays)
            .map_err(|e| LakeError::General(e.to_string()))?;
        self.writer.write(&batch)?;
        self.writer.flush()?;
        let (_, arrays, _) = batch.into_parts();
        for (c, array) in self.cols.iter_mut().zip(arrays) {
            c.reclaim(array);
        }
        self.rows_in_group = 0;
        Ok(())
    }

    /// Writes what is buffered and the file's footer.
    pub fn finish(mut self) -> Result<u64, LakeError> {
        self.flush()?;
        self.writer.close()?;
        Ok(self.rows)
    }
}

/// Appends a decimal's text, exactly as its `Display` writes it (every digit of its scale), without the
/// formatting machinery. Zeros of a fixed width are appended, each digit written where it belongs, and the text
/// cut to length: copies of a length known only at run time would each be a call to `memcpy`, which for a few
/// bytes costs more than the digits.
pub fn write_decimal(out: &mut Vec<u8>, d: Decimal) {
    const WIDTH: usize = 40;
    // Most amounts have a mantissa under 10^19 and a scale of at most 19: the digits before and after the point
    // are then two 64-bit numbers, each written two digits at a time from a table.
    let scale = d.scale() as usize;
    let m = d.mantissa().unsigned_abs();
    let Some(v) = u64::try_from(m).ok().filter(|_| scale < POW10.len()) else {
        return write_decimal_wide(out, d);
    };
    let p = POW10[scale];
    let (int, frac) = (v / p, v % p);
    let int_digits = int.checked_ilog10().map_or(1, |l| l as usize + 1);
    let neg = usize::from(d.is_sign_negative());
    let point = usize::from(scale > 0);
    let len = neg + int_digits + point + scale;
    // The digits are written in place in `out`, over zeros appended a fixed width at a time: laid out in a buffer
    // of their own and copied, the copy's wide loads waited on the byte stores before them (a store-forwarding
    // stall that was most of this function's time).
    let start = out.len();
    out.extend_from_slice(&[b'0'; WIDTH]);
    let text = &mut out[start..start + len];
    if neg == 1 {
        text[0] = b'-';
    }
    put_digits(text, len, frac, scale);
    if point == 1 {
        text[len - 1 - scale] = b'.';
    }
    put_digits(text, len - point - scale, int, int_digits);
    out.truncate(start + len);
}

/// 10^0 to 10^19.
const POW10: [u64; 20] = {
    let mut t = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// "00" to "99".
const PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// Writes exactly `count` digits of `v` (zeros in front when shorter) to end just before `end`.
fn put_digits(text: &mut [u8], mut end: usize, mut v: u64, count: usize) {
    let mut left = count;
    while left >= 2 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        end -= 2;
        text[end] = PAIRS[pair];
        text[end + 1] = PAIRS[pair + 1];
        left -= 2;
    }
    if left == 1 {
        text[end - 1] = b'0' + (v % 10) as u8;
    }
}

/// [`write_decimal`] for a mantissa of 10^19 or more or a scale over 19, a digit at a time.
fn write_decimal_wide(out: &mut Vec<u8>, d: Decimal) {
    const E19: u64 = 10_000_000_000_000_000_000;
    const WIDTH: usize = 40;
    let digits_of = |v: u64| v.checked_ilog10().map_or(1, |l| l as usize + 1);
    // A mantissa has at most 29 digits: two 64-bit parts of 19 and 10, and 64-bit division is far cheaper than
    // 128-bit; most amounts are one part.
    let m = d.mantissa().unsigned_abs();
    let (low, high) = match u64::try_from(m).ok().filter(|v| *v < E19) {
        Some(v) => (v, None),
        None => ((m % u128::from(E19)) as u64, Some((m / u128::from(E19)) as u64)),
    };
    let n = high.map_or(digits_of(low), |h| 19 + digits_of(h));
    let scale = d.scale() as usize;
    let neg = usize::from(d.is_sign_negative());
    // At least one digit before the point; zeros fill in between (the buffer starts as zeros).
    let shown = n.max(scale + 1);
    let point = usize::from(scale > 0);
    let len = neg + shown + point;
    let mut text = [b'0'; WIDTH];
    if neg == 1 {
        text[0] = b'-';
    }
    if point == 1 {
        text[len - 1 - scale] = b'.';
    }
    // The k-th digit from the right, past the point once k reaches the scale.
    let mut k = 0;
    let mut put = |mut v: u64, count: usize| {
        for _ in 0..count {
            let at = len - 1 - k - usize::from(point == 1 && k >= scale);
            text[at] = b'0' + (v % 10) as u8;
            v /= 10;
            k += 1;
        }
    };
    match high {
        None => put(low, n),
        Some(h) => {
            put(low, 19);
            put(h, n - 19);
        }
    }
    let start = out.len();
    out.extend_from_slice(&text);
    out.truncate(start + len);
}

/// One column of a batch read back from the lake.
#[derive(Debug, Clone)]
pub enum ColumnData {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
}

impl ColumnData {
    pub fn text(&self, row: usize) -> Option<&str> {
        match self {
            ColumnData::Text(v) => v.get(row).and_then(|x| x.as_deref()),
            ColumnData::Int(_) => None,
        }
    }

    pub fn int(&self, row: usize) -> Option<i64> {
        match self {
            ColumnData::Int(v) => v.get(row).copied().flatten(),
            ColumnData::Text(_) => None,
        }
    }
}

/// The rows of one row group, as the requested columns.
#[derive(Debug, Clone)]
pub struct Batch {
    pub rows: usize,
    /// In the order the columns were asked for.
    pub columns: Vec<ColumnData>,
}

/// Reads the named columns of a partition file, a row group at a time; other columns are never decoded.
pub fn read_columns(path: &Path, names: &[&str]) -> Result<Vec<Batch>, LakeError> {
    let mut out = Vec::new();
    for_each_batch(path, names, |b| {
        out.push(b);
        Ok(())
    })?;
    Ok(out)
}

/// The billing-currency amounts, each with a reporting-currency twin `<name>_reporting`.
const AMOUNTS: [&str; 4] = ["billed_cost", "effective_cost", "list_cost", "contracted_cost"];

/// Calls `f` with each row group's requested columns. A reporting-currency amount the file leaves out (the rate
/// was exactly 1) is given as its billing-currency amount.
pub fn for_each_batch(
    path: &Path,
    names: &[&str],
    mut f: impl FnMut(Batch) -> Result<(), LakeError>,
) -> Result<(), LakeError> {
    let mut all: Vec<&str> = names.to_vec();
    // (position of a reporting amount in `names`, position of its billing amount in `all`)
    let mut twins = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if let Some(billing) = n.strip_suffix("_reporting").filter(|b| AMOUNTS.contains(b)) {
            let j = match all.iter().position(|x| *x == billing) {
                Some(j) => j,
                None => {
                    all.push(billing);
                    all.len() - 1
                }
            };
            twins.push((i, j));
        }
    }
    read_batches(path, &all, |mut b| {
        for &(i, j) in &twins {
            let (ColumnData::Text(billing), ColumnData::Text(reporting)) = (&b.columns[j], &b.columns[i])
            else {
                continue;
            };
            if reporting.iter().zip(billing).any(|(r, b)| r.is_none() && b.is_some()) {
                let filled: Vec<Option<String>> =
                    reporting.iter().zip(billing).map(|(r, b)| r.clone().or_else(|| b.clone())).collect();
                b.columns[i] = ColumnData::Text(filled);
            }
        }
        b.columns.truncate(names.len());
        f(b)
    })
}

/// Calls `f` with each row group's columns as stored.
fn read_batches(
    path: &Path,
    names: &[&str],
    mut f: impl FnMut(Batch) -> Result<(), LakeError>,
) -> Result<(), LakeError> {
    let reader = SerializedFileReader::new(File::open(path)?)?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let mut positions = Vec::with_capacity(names.len());
    for n in names {
        let p = (0..schema.num_columns()).find(|&i| schema.column(i).name() == *n).ok_or_else(|| {
            parquet::errors::ParquetError::General(format!("the lake file has no column {n}"))
        })?;
        positions.push(p);
    }
    for g in 0..reader.num_row_groups() {
        let rg = reader.get_row_group(g)?;
        let rows = rg.metadata().num_rows() as usize;
        let mut columns = Vec::with_capacity(positions.len());
        for &p in &positions {
            let mut defs: Vec<i16> = Vec::with_capacity(rows);
            columns.push(match rg.get_column_reader(p)? {
                ColumnReader::ByteArrayColumnReader(mut r) => {
                    let mut vals: Vec<ByteArray> = Vec::with_capacity(rows);
                    read_all(rows, |n| r.read_records(n, Some(&mut defs), None, &mut vals))?;
                    let mut it = vals.into_iter();
                    let mut col = Vec::with_capacity(rows);
                    for d in &defs {
                        col.push(if *d == 1 {
                            it.next().map(|b| String::from_utf8_lossy(b.data()).into_owned())
                        } else {
                            None
                        });
                    }
                    ColumnData::Text(col)
                }
                ColumnReader::Int64ColumnReader(mut r) => {
                    let mut vals: Vec<i64> = Vec::with_capacity(rows);
                    read_all(rows, |n| r.read_records(n, Some(&mut defs), None, &mut vals))?;
                    let mut it = vals.into_iter();
                    ColumnData::Int(defs.iter().map(|d| if *d == 1 { it.next() } else { None }).collect())
                }
                _ => {
                    return Err(parquet::errors::ParquetError::General(format!(
                        "unexpected physical type for column {}",
                        schema.column(p).name()
                    )));
                }
            });
        }
        f(Batch { rows, columns })?;
    }
    Ok(())
}

fn read_all(
    rows: usize,
    mut read: impl FnMut(usize) -> Result<(usize, usize, usize), LakeError>,
) -> Result<(), LakeError> {
    let mut done = 0;
    while done < rows {
        let (records, _, _) = read(rows - done)?;
        if records == 0 {
            break;
        }
        done += records;
    }
    Ok(())
}

fn corrupt(what: &str) -> LakeError {
    parquet::errors::ParquetError::General(format!("corrupt lake file: {what}"))
}

/// Every record of a partition file with its conversion, in file order.
pub fn read_records(path: &Path) -> Result<Vec<(FocusRecord, Conversion)>, LakeError> {
    let names: Vec<&str> = COLUMNS.iter().map(|(n, _)| *n).collect();
    let mut out = Vec::new();
    for_each_batch(path, &names, |b| {
        for row in 0..b.rows {
            out.push(record_at(&b, row)?);
        }
        Ok(())
    })?;
    Ok(out)
}

/// The record at `row` of a batch read with every column (in [`COLUMNS`] order).
pub fn record_at(b: &Batch, row: usize) -> Result<(FocusRecord, Conversion), LakeError> {
    let t = |i: usize| b.columns[i].text(row).map(str::to_string);
    let time = |i: usize| -> Result<Timestamp, LakeError> {
        let m = b.columns[i].int(row).ok_or_else(|| corrupt("missing timestamp"))?;
        Timestamp::from_microsecond(m).map_err(|_| corrupt("timestamp out of range"))
    };
    let dec = |i: usize| -> Result<Option<Decimal>, LakeError> {
        b.columns[i].text(row).map(|s| Decimal::from_str(s).map_err(|_| corrupt("decimal"))).transpose()
    };
    let req = |i: usize| -> Result<Decimal, LakeError> { dec(i)?.ok_or_else(|| corrupt("missing amount")) };
    let map = |i: usize| -> Result<StrMap, LakeError> {
        match b.columns[i].text(row) {
            None => Ok(StrMap::new()),
            Some(s) => serde_json::from_str(s).map_err(|_| corrupt("map")),
        }
    };
    let currency = |i: usize| -> Result<Currency, LakeError> {
        b.columns[i].text(row).and_then(|s| Currency::from_str(s).ok()).ok_or_else(|| corrupt("currency"))
    };
    let record = FocusRecord {
        line: b.columns[0].int(row).unwrap_or(0) as u64,
        billing_account_id: t(1).unwrap_or_default(),
        billing_account_name: t(2),
        sub_account_id: t(3),
        sub_account_name: t(4),
        provider_name: t(5),
        publisher_name: t(6),
        invoice_issuer_name: t(7),
        invoice_id: t(8),
        billing_period_start: time(9)?,
        billing_period_end: time(10)?,
        charge_period_start: time(11)?,
        charge_period_end: time(12)?,
        charge_category: b.columns[13]
            .text(row)
            .and_then(ChargeCategory::parse)
            .ok_or_else(|| corrupt("charge category"))?,
        charge_class: t(14),
        charge_frequency: b.columns[15].text(row).and_then(ChargeFrequency::parse),
        charge_description: t(16),
        billing_currency: currency(17)?,
        billed_cost: req(18)?,
        effective_cost: req(19)?,
        list_cost: req(20)?,
        contracted_cost: dec(21)?,
        pricing_quantity: dec(22)?,
        pricing_unit: t(23),
        consumed_quantity: dec(24)?,
        consumed_unit: t(25),
        pricing_category: t(26),
        list_unit_price: dec(27)?,
        contracted_unit_price: dec(28)?,
        service_name: t(29),
        service_category: t(30),
        region_id: t(31),
        resource_id: t(32),
        resource_name: t(33),
        sku_id: t(34),
        commitment_discount_id: t(35),
        tags: map(36)?,
        other: map(37)?,
    };
    let conversion = Conversion {
        reporting_currency: currency(38)?,
        rate: req(39)?,
        rate_date: b.columns[40].text(row).and_then(|s| s.parse().ok()),
    };
    Ok((record, conversion))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A lake file's path in a directory of its own, removed when the test ends, passed or not.
    struct TempLake {
        dir: std::path::PathBuf,
        path: std::path::PathBuf,
    }

    impl TempLake {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("itemize-lake-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Self { path: dir.join("p.parquet"), dir }
        }
    }

    impl Drop for TempLake {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    proptest! {
        /// The lake's decimal text is exactly what `Display` writes, for any mantissa, scale and sign.
        #[test]
        fn decimal_text_is_display(lo in any::<u32>(), mid in any::<u32>(), hi in any::<u32>(), neg: bool, scale in 0u32..=28, small: bool) {
            let d = if small { Decimal::new(i64::from(lo) * if neg { -1 } else { 1 }, scale) } else { Decimal::from_parts(lo, mid, hi, neg, scale) };
            let mut out = Vec::new();
            write_decimal(&mut out, d);
            prop_assert_eq!(String::from_utf8(out).unwrap(), d.to_string());
        }

        /// The same for any 64-bit mantissa around the scales the two-part path takes (up to 19).
        #[test]
        fn decimal_text_of_64_bit_mantissas_is_display(v in any::<u64>(), neg: bool, scale in 0u32..=21) {
            let m = i128::from(v);
            let d = Decimal::from_i128_with_scale(if neg { -m } else { m }, scale);
            let mut out = Vec::new();
            write_decimal(&mut out, d);
            prop_assert_eq!(String::from_utf8(out).unwrap(), d.to_string());
        }
    }

    #[test]
    fn decimal_text_of_zeros_and_extremes() {
        for d in [
            Decimal::from_parts(0, 0, 0, true, 2),
            Decimal::ZERO,
            Decimal::MAX,
            Decimal::MIN,
            Decimal::new(5, 28),
            // The edges of the two-part path: a mantissa filling 64 bits, the largest scale it takes, and one past.
            Decimal::from_i128_with_scale(i128::from(u64::MAX), 19),
            Decimal::from_i128_with_scale(-i128::from(u64::MAX), 0),
            Decimal::from_i128_with_scale(10_000_000_000_000_000_000, 19),
            Decimal::from_i128_with_scale(9_999_999_999_999_999_999, 19),
            Decimal::from_i128_with_scale(i128::from(u64::MAX) + 1, 19),
            Decimal::from_i128_with_scale(-123, 19),
            Decimal::from_i128_with_scale(1, 20),
            Decimal::from_i128_with_scale(0, 19),
            Decimal::new(1_005, 1),
            Decimal::new(-7, 3),
        ] {
            let mut out = Vec::new();
            write_decimal(&mut out, d);
            assert_eq!(String::from_utf8(out).unwrap(), d.to_string());
        }
    }

    #[test]
    fn reporting_amounts_at_a_rate_of_one_are_left_out_and_read_back_as_the_billing_ones() {
        let lake = TempLake::new("identity");
        let path = lake.path.clone();
        let mut w = LakeWriter::create(&path).unwrap();
        let conv = Conversion { reporting_currency: Currency::USD, rate: Decimal::ONE, rate_date: None };
        for (i, cc) in [(0, Some("7.10")), (1, None)] {
            let mut r = FocusRecord::blank(i + 2, Currency::USD);
            r.billing_account_id = "acct".into();
            r.billed_cost = Decimal::from_str("12.3400").unwrap();
            r.contracted_cost = cc.map(|c| Decimal::from_str(c).unwrap());
            w.push(&r, &conv).unwrap();
        }
        w.finish().unwrap();
        let stored = |name: &str| {
            let mut out = Vec::new();
            read_batches(&path, &[name], |b| {
                out.extend((0..b.rows).map(|r| b.columns[0].text(r).map(str::to_string)));
                Ok(())
            })
            .unwrap();
            out
        };
        assert_eq!(stored("billed_cost_reporting"), [None, None], "nothing stored twice");
        let b = &read_columns(&path, &["contracted_cost_reporting", "billed_cost_reporting"]).unwrap()[0];
        assert_eq!(b.columns.len(), 2, "only what was asked for");
        assert_eq!((b.columns[1].text(0), b.columns[1].text(1)), (Some("12.3400"), Some("12.3400")));
        assert_eq!(
            (b.columns[0].text(0), b.columns[0].text(1)),
            (Some("7.10"), None),
            "unknown stays unknown"
        );
        let back = read_records(&path).unwrap();
        assert_eq!(back[0].1, conv);
    }

    #[test]
    fn a_partition_round_trips_exactly_across_row_groups() {
        let lake = TempLake::new("test");
        let path = lake.path.clone();
        let mut w = LakeWriter::create(&path).unwrap();
        let conv = Conversion {
            reporting_currency: Currency::EUR,
            rate: Decimal::from_str("0.9215").unwrap(),
            rate_date: Some(jiff::civil::date(2026, 5, 1)),
        };
        let mut expected = Vec::new();
        let n = ROW_GROUP + 7;
        for i in 0..n {
            let mut r = FocusRecord::blank(i as u64 + 2, Currency::USD);
            r.billing_account_id = "acct".into();
            r.billed_cost = Decimal::from_str("0.00000080000").unwrap() * Decimal::from(i as u64);
            r.effective_cost = Decimal::from_str("-12.3456789012345678").unwrap();
            r.charge_period_start = Timestamp::from_second(1_777_000_000 + i as i64).unwrap();
            r.contracted_cost = if i % 3 == 0 { None } else { Some(Decimal::ONE) };
            if i % 2 == 0 {
                r.tags.insert("team", format!("t{}", i % 5));
            }
            r.service_name = Some("EC2".into());
            w.push(&r, &conv).unwrap();
            expected.push(r);
            if i + 1 == ROW_GROUP {
                // The first row group is written: its buffers are back, emptied, for the next one.
                let svc = &w.cols[column_index("service_name").unwrap()];
                assert!(svc.bytes.is_empty() && svc.bytes.capacity() >= 3 * ROW_GROUP, "text buffer kept");
                assert!(svc.ends == [0] && svc.ends.capacity() > ROW_GROUP, "ends kept");
                let line = &w.cols[column_index("line").unwrap()];
                assert!(line.ints.is_empty() && line.ints.capacity() >= ROW_GROUP, "numbers kept");
            }
        }
        assert_eq!(w.finish().unwrap(), n as u64);
        let back = read_records(&path).unwrap();
        assert_eq!(back.len(), n);
        for (e, (got, c)) in expected.iter().zip(&back) {
            assert_eq!(got, e);
            assert_eq!(c, &conv);
        }
        assert_eq!(back[1].0.billed_cost.to_string(), "0.00000080000", "scale kept");
        let batches = read_columns(&path, &["tags", "billed_cost_reporting"]).unwrap();
        assert_eq!(batches.len(), 2, "two row groups");
        assert_eq!(batches[0].columns[1].text(1), Some("0.000000737200000"));
        assert!(read_columns(&path, &["nope"]).is_err());
    }

    /// The extra columns' JSON is the same whether it was written afresh or found in the memo: maps that recur,
    /// maps whose keys and values split the same text differently, maps past the memo's capacity, and a file whose
    /// maps never recur (after which the memo stops looking).
    #[test]
    fn extra_columns_read_back_the_same_through_the_memo() {
        let mut cases: Vec<StrMap> = vec![
            StrMap::from([("ab", "c")]),
            StrMap::from([("a", "bc")]),
            StrMap::from([("a", "b"), ("c", "")]),
            StrMap::from([("a", "b\u{ff}c")]),
            StrMap::from([("SkuPriceDetails", r#"{"CoreCount":2,"x":"y"}"#), ("ZoneId", "z")]),
        ];
        // Recurring maps, then more distinct ones than the memo keeps, then recurring ones again.
        let mut rows: Vec<StrMap> = (0..200).map(|i| cases[i % cases.len()].clone()).collect();
        rows.extend((0..JsonMemo::CAPACITY + 50).map(|i| StrMap::from([("n", i.to_string())])));
        rows.extend((0..200).map(|i| cases[i % cases.len()].clone()));
        cases.clear();
        let mut w_memo = JsonMemo::default();
        for m in &rows {
            let mut out = Vec::new();
            w_memo.write(m, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(m).unwrap());
        }
        assert!(w_memo.hits >= 390 && !w_memo.off, "recurring maps are found: {} hits", w_memo.hits);
        assert!(w_memo.known.len() <= JsonMemo::CAPACITY);

        // Maps that never recur, but for the last lookup of the trial, which finds one: the memo stops looking.
        let mut unique = JsonMemo::default();
        for i in 0..JsonMemo::TRIAL + 10 {
            let i = if i == JsonMemo::TRIAL - 1 { i - 1 } else { i };
            let m = StrMap::from([("id", format!("r{i}"))]);
            let mut out = Vec::new();
            unique.write(&m, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&m).unwrap());
        }
        assert_eq!(unique.hits, 1);
        assert!(unique.off && unique.known.is_empty(), "a memo that rarely answers stops looking");

        // Large maps: the memo keeps to its byte budget, and a map too large to keep is written all the same.
        let mut large = JsonMemo::default();
        for i in 0..100 {
            let size = if i % 10 == 0 { JsonMemo::BYTES } else { 100_000 };
            let m = StrMap::from([("blob", format!("{i}{}", "x".repeat(size)))]);
            let mut out = Vec::new();
            large.write(&m, &mut out);
            assert_eq!(out.len(), serde_json::to_string(&m).unwrap().len());
            assert!(
                large.bytes <= JsonMemo::BYTES && large.known.values().all(|j| j.len() < JsonMemo::BYTES)
            );
        }
        assert!(!large.known.is_empty(), "maps within the budget are kept");

        // And through a lake file.
        let lake = TempLake::new("memo");
        let path = lake.path.clone();
        let mut w = LakeWriter::create(&path).unwrap();
        let conv = Conversion { reporting_currency: Currency::USD, rate: Decimal::ONE, rate_date: None };
        for (i, m) in rows.iter().enumerate() {
            let mut r = FocusRecord::blank(i as u64 + 2, Currency::USD);
            r.billing_account_id = "acct".into();
            r.other = m.clone();
            w.push(&r, &conv).unwrap();
        }
        w.finish().unwrap();
        let back = read_records(&path).unwrap();
        assert_eq!(back.len(), rows.len());
        for (m, (got, _)) in rows.iter().zip(&back) {
            assert_eq!(&got.other, m);
        }
    }

    /// The file describes itself as the lake's schema says (text as UTF-8 strings, times as UTC timestamps, no
    /// Arrow schema beside it), as other readers (DuckDB, the FOCUS export) rely on; an empty text is kept apart
    /// from a missing one.
    #[test]
    fn the_file_names_text_and_times_and_keeps_empty_apart_from_missing() {
        use parquet::basic::{ConvertedType, LogicalType, Type as Physical};
        let lake = TempLake::new("schema");
        let path = lake.path.clone();
        let mut w = LakeWriter::create(&path).unwrap();
        let conv = Conversion { reporting_currency: Currency::USD, rate: Decimal::ONE, rate_date: None };
        for desc in [Some(""), None, Some("x")] {
            let mut r = FocusRecord::blank(2, Currency::USD);
            r.billing_account_id = "acct".into();
            r.charge_description = desc.map(str::to_string);
            w.push(&r, &conv).unwrap();
        }
        w.finish().unwrap();
        let reader = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
        let meta = reader.metadata().file_metadata();
        assert!(
            meta.key_value_metadata().is_none_or(|kv| kv.iter().all(|e| e.key != "ARROW:schema")),
            "no Arrow schema in the file"
        );
        let schema = meta.schema_descr();
        assert_eq!(schema.num_columns(), COLUMNS.len());
        for (i, (name, kind)) in COLUMNS.iter().enumerate() {
            let c = schema.column(i);
            assert_eq!(c.name(), *name);
            let want = match kind {
                LakeKind::Text => (Physical::BYTE_ARRAY, ConvertedType::UTF8, None),
                LakeKind::Int => (Physical::INT64, ConvertedType::NONE, None),
                LakeKind::Time => (
                    Physical::INT64,
                    ConvertedType::TIMESTAMP_MICROS,
                    Some(LogicalType::Timestamp {
                        is_adjusted_to_u_t_c: true,
                        unit: parquet::basic::TimeUnit::MICROS,
                    }),
                ),
            };
            assert_eq!(
                (c.physical_type(), c.converted_type(), c.logical_type_ref().cloned()),
                want,
                "{name}"
            );
        }
        let b = &read_columns(&path, &["charge_description"]).unwrap()[0];
        assert_eq!(
            (b.columns[0].text(0), b.columns[0].text(1), b.columns[0].text(2)),
            (Some(""), None, Some("x"))
        );
    }
}
