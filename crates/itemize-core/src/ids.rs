//! Typed ids: a `PersonId` cannot be passed where a `CostCentreId` is meant.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(raw: i64) -> Self {
                Self(raw)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

typed_id!(
    /// A cost centre's id.
    CostCentreId
);
typed_id!(
    /// A business service's id.
    ServiceId
);
typed_id!(
    /// A person's id (not their employee id, which is data).
    PersonId
);
typed_id!(
    /// A location's id.
    LocationId
);
typed_id!(
    /// A vendor's id.
    VendorId
);
typed_id!(
    /// A user account's id.
    UserId
);
typed_id!(
    /// An API token's id (not the token, which is a secret).
    TokenId
);
