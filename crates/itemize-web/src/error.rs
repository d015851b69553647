//! The one place where errors become HTTP responses. Every API error has the same shape:
//! `{"error":{"code":"…","message":"…","details":[{"field":"…","problem":"…"}]}}`. Internal details are
//! logged with the request, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use itemize_app::AppError;
use itemize_core::FieldError;
use serde::Serialize;

/// An error on its way to an API client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldError>,
    /// Seconds, for `Retry-After` on 429.
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    details: &'a [FieldError],
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: Vec::new(), retry_after: None }
    }

    pub fn with_details(mut self, details: Vec<FieldError>) -> Self {
        self.details = details;
        self
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "there is nothing at this address")
    }
}

/// The status each application error maps to.
pub fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
        AppError::NotFound { .. } => StatusCode::NOT_FOUND,
        AppError::Conflict { .. } => StatusCode::CONFLICT,
        AppError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
        AppError::Refused(_) => StatusCode::CONFLICT,
        AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
    }
}

/// The message a client may see for an application error.
pub fn public_message(e: &AppError) -> String {
    match e {
        AppError::Internal(detail) => {
            tracing::error!(error = %detail, "internal error");
            "something went wrong on our side; the request id in the response headers helps find it in the logs"
                .into()
        }
        AppError::Unavailable(detail) => {
            tracing::warn!(error = %detail, "database unavailable");
            "the database is not available right now; try again shortly".into()
        }
        other => other.to_string(),
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let status = status_of(&e);
        let message = public_message(&e);
        let retry_after = match &e {
            AppError::TooManyAttempts { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let mut err = ApiError { status, code: e.code(), message, details: e.details(), retry_after };
        if let AppError::PreconditionFailed { current_etag, .. } = &e {
            err.details = vec![FieldError::new("If-Match", format!("current ETag is {current_etag}"))];
        }
        err
    }
}

/// An API error's words, kept on its response so that a page's request can show them as a page.
#[derive(Debug, Clone)]
pub struct ApiErrorWords(pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body { error: Inner { code: self.code, message: &self.message, details: &self.details } };
        let mut res = (self.status, Json(body)).into_response();
        // A refusal made for a page's request (a query parameter given twice) is shown as a page there.
        let details: Vec<String> =
            self.details.iter().map(|d| format!("{}: {}", d.field, d.problem)).collect();
        let words = if details.is_empty() || self.message.contains(&details[0]) {
            self.message.clone()
        } else {
            format!("{} ({})", self.message, details.join("; "))
        };
        res.extensions_mut().insert(ApiErrorWords(words));
        if let Some(secs) = self.retry_after
            && let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        res
    }
}
