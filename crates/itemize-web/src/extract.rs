//! Request extractors whose rejections use the API's error shape, with field-level details.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use itemize_app::ListParams;
use itemize_core::FieldError;
use serde_json::Value;

/// A JSON request body. Malformed JSON is a 400 naming the line and column; a wrong content type is 415; a
/// body over the limit is 413.
#[derive(Debug)]
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
                essence == "application/json"
                    || (essence.starts_with("application/") && essence.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the request body is too large",
                )
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "the request body could not be read")
            }
        })?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {e}"),
            )
            .with_details(vec![FieldError::new(
                "(body)",
                format!("syntax error at line {}, column {}", e.line(), e.column()),
            )])
        })?;
        Ok(JsonBody(value))
    }
}

/// Query-string parameters for a list, kept raw so the application can refuse unknown ones by name.
#[derive(Debug)]
pub struct Params(pub ListParams);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "the query string is not valid URL encoding",
            )
        })?;
        let mut params = ListParams::default();
        for (k, v) in pairs {
            if params.0.insert(k.clone(), v).is_some() {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!("query parameter `{k}` is given twice"),
                )
                .with_details(vec![FieldError::new(k, "is given twice")]));
            }
        }
        Ok(Params(params))
    }
}

/// A request that takes no query parameters (a record read by id, a list without filters): any parameter is
/// refused by name, as everywhere else, rather than ignored.
#[derive(Debug)]
pub struct NoParams;

impl<S: Send + Sync> FromRequestParts<S> for NoParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Params(p) = Params::from_request_parts(parts, state).await?;
        p.only(&[])?;
        Ok(NoParams)
    }
}
