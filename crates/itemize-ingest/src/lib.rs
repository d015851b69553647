//! itemize's readers. Each turns a source file into a stream of rows or row-level errors that say which row,
//! which column, what value and why. Readers never touch the database.

pub mod focus;
pub mod table;

pub use focus::{ChargeCategory, ChargeFrequency, FocusReader, FocusRecord, FocusVersion};
pub use table::{CsvTable, Row, RowError};
