//! itemize's HTTP front end: the JSON API under `/api/v1`, server-rendered pages, and the server itself.
//! Handlers extract, call one use case of [`itemize_app::App`], and shape the answer; errors become responses
//! in one place ([`error`]); who the caller is is settled once, in [`auth`].

mod alloc_api;
pub mod api;
mod asset_api;
pub mod auth;
pub mod charts;
mod cost_api;
pub mod error;
pub mod extract;
mod pages;
mod routes;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use error::ApiError;
use itemize_app::App;
use std::future::Future;
use std::net::SocketAddr;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub app: App,
    pub web: WebOptions,
}

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct WebOptions {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Mark cookies `Secure` (set when itemize is reached over HTTPS).
    pub secure_cookies: bool,
}

impl Default for WebOptions {
    fn default() -> Self {
        Self { max_body_bytes: 1024 * 1024, secure_cookies: false }
    }
}

/// The content security policy: no inline script, no framing, nothing from elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Every route, as (method, path template): what the authorization-matrix test holds expectations for.
pub fn route_table() -> Vec<(&'static str, String)> {
    all_routes().table
}

fn all_routes() -> routes::Reg {
    pages::routes(asset_api::routes(alloc_api::routes(cost_api::routes(api::routes(routes::Reg::new())))))
}

/// The complete application: API, pages, health checks, and the layers every request passes through.
pub fn router(app: App, opts: &WebOptions) -> Router {
    let state = AppState { app, web: opts.clone() };
    let request_id = HeaderName::from_static("x-request-id");
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    all_routes()
        .router
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .layer(DefaultBodyLimit::max(opts.max_body_bytes))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request| {
                            let rid = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                            // The path only: query strings, headers and bodies (cookies, tokens, passwords) are
                            // never logged.
                            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %rid)
                        })
                        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .layer(header(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
                .layer(header(header::X_FRAME_OPTIONS, "DENY"))
                .layer(header(header::REFERRER_POLICY, "same-origin"))
                .layer(header(HeaderName::from_static("cross-origin-opener-policy"), "same-origin"))
                .layer(CatchPanicLayer::custom(|_| {
                    tracing::error!("a request handler panicked");
                    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "something went wrong on our side")
                        .into_response()
                })),
        )
        .with_state(state)
}

async fn fallback(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        ApiError::not_found().into_response()
    } else {
        pages::not_found().into_response()
    }
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this address does not accept that method",
    )
    .into_response()
}

/// Serves `router` on an already-bound listener until `shutdown` resolves; requests in flight then finish.
/// Binding is the caller's, so tests bind port 0 and read the port back.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
