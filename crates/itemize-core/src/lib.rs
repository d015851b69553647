//! The itemize domain. Pure: no I/O, no SQL, no HTTP, and no wall clock (time arrives through [`Clock`]).

pub mod allocation;
pub mod assets;
pub mod auth;
pub mod clock;
pub mod country;
pub mod currency;
pub mod fiscal;
pub mod ids;
pub mod money;
pub mod refdata;
pub mod validate;

pub use clock::{Clock, FixedClock};
pub use currency::Currency;
pub use fiscal::{FiscalCalendar, FiscalPeriod};
pub use ids::{CostCentreId, LocationId, PersonId, ServiceId, TokenId, UserId, VendorId};
pub use money::{Money, MoneyError};
pub use validate::{FieldError, Problems};
