use itemize_core::FieldError;
use itemize_store::StoreError;
use thiserror::Error;

/// The application layer's errors, each with a stable machine-readable code. Front ends map them (the web layer
/// to HTTP status in one place); internal details are logged, never shown.
#[derive(Debug, Error)]
pub enum AppError {
    /// One or more fields are invalid; each problem is named by field.
    #[error("the input is invalid")]
    Validation(Vec<FieldError>),
    /// The request itself is malformed (an unknown parameter, a bad cursor).
    #[error("{message}")]
    BadRequest { message: String, details: Vec<FieldError> },
    #[error("{kind} {id} does not exist")]
    NotFound { kind: &'static str, id: String },
    /// A uniqueness rule refused the write.
    #[error("another {kind} already has this {field}")]
    Conflict { kind: &'static str, field: String },
    /// The caller's copy is stale (If-Match did not match).
    #[error(
        "the {kind} has changed since you read it (current ETag {current_etag}); re-read it and try again"
    )]
    PreconditionFailed { kind: &'static str, current_etag: String },
    /// The data directory or database is in a state that refuses this operation.
    #[error("{0}")]
    Refused(String),
    #[error("the database is not available: {0}")]
    Unavailable(String),
    /// No valid credentials (or expired ones).
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials, but the role or token does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed sign-ins: wait before trying again.
    #[error("too many failed sign-ins; try again in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation_failed",
            AppError::BadRequest { .. } => "bad_request",
            AppError::NotFound { .. } => "not_found",
            AppError::Conflict { .. } => "conflict",
            AppError::PreconditionFailed { .. } => "precondition_failed",
            AppError::Refused(_) => "refused",
            AppError::Unavailable(_) => "unavailable",
            AppError::Unauthenticated(_) => "unauthenticated",
            AppError::Forbidden(_) => "forbidden",
            AppError::TooManyAttempts { .. } => "too_many_attempts",
            AppError::Internal(_) => "internal",
        }
    }

    pub fn details(&self) -> Vec<FieldError> {
        match self {
            AppError::Validation(d) | AppError::BadRequest { details: d, .. } => d.clone(),
            AppError::Conflict { field, .. } => vec![FieldError::new(field.clone(), "is already taken")],
            _ => Vec::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        AppError::BadRequest { message: message.into(), details: Vec::new() }
    }

    pub fn bad_param(field: &str, problem: impl Into<String>) -> Self {
        let problem = problem.into();
        AppError::BadRequest {
            message: format!("query parameter `{field}` {problem}"),
            details: vec![FieldError::new(field, problem)],
        }
    }

    /// Maps a storage error for an operation on `kind`.
    pub fn from_store(kind: &'static str, e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound { kind, id: String::new() },
            StoreError::Unique { field } => AppError::Conflict { kind, field },
            StoreError::ForeignKey => AppError::Validation(vec![FieldError::new(
                "(references)",
                "refers to a record that does not exist",
            )]),
            StoreError::VersionConflict { current } => {
                AppError::PreconditionFailed { kind, current_etag: format!("version {current}") }
            }
            StoreError::SchemaTooNew { .. }
            | StoreError::SchemaNotCurrent { .. }
            | StoreError::MigrationEdited { .. }
            | StoreError::BadUrl(_) => AppError::Refused(e.to_string()),
            StoreError::Database(sqlx_err) if is_unavailable(&sqlx_err.to_string()) => {
                AppError::Unavailable(sqlx_err.to_string())
            }
            other => AppError::Internal(other.to_string()),
        }
    }
}

fn is_unavailable(text: &str) -> bool {
    text.contains("pool timed out") || text.contains("Connection refused") || text.contains("pool closed")
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::from_store("record", e)
    }
}
