//! itemize's readers. Each turns a source file into a stream of rows or row-level errors that say which row,
//! which column, what value and why. Readers never touch the database.

pub mod aws;
pub mod azure;
pub mod cells;
pub mod focus;
pub mod gcp;
pub mod generic;
pub mod lake;
pub mod record;
pub mod source;
pub mod strmap;
pub mod table;

pub use focus::{ContractReader, FocusReader, FocusVersion};
pub use record::{ChargeCategory, ChargeFrequency, ContractCommitment, FocusRecord};
pub use strmap::StrMap;
pub use table::{CsvTable, Row, RowError};
