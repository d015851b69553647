//! Authentication at the edge: an API token (`Authorization: Bearer …`) or a session cookie becomes the
//! request's [`Actor`]; everything else (what the actor may do) is decided by the application layer.
//! Cookie-authenticated state changes must carry the session's CSRF token.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use itemize_app::Actor;
use itemize_app::secrets::constant_time_eq;
use std::net::SocketAddr;

pub const SESSION_COOKIE: &str = "itemize_session";
/// A double-submit token guarding the sign-in form itself (before there is a session).
pub const LOGIN_CSRF_COOKIE: &str = "itemize_login_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The authenticated caller of a request.
#[derive(Clone)]
pub struct Auth {
    pub actor: Actor,
    /// The session's CSRF token (absent for API tokens, which are not sent by browsers on their own).
    pub csrf: Option<String>,
    /// The session id, for signing out.
    pub session_id: Option<String>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("actor", &self.actor).finish_non_exhaustive()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Auth>().cloned().ok_or_else(unauthenticated)
    }
}

fn unauthenticated() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "sign in, or send an API token as `Authorization: Bearer …`",
    )
}

/// The peer's IP address, when the server knows it.
#[derive(Debug, Clone)]
pub struct PeerAddr(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(peer_address(&parts.extensions)))
    }
}

/// Paths anyone may reach.
fn is_public(method: &Method, path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/login")
        || path.starts_with("/static/")
        || (path == "/api/v1/session" && method == Method::POST)
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `Set-Cookie` for a cookie only the server reads.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool, same_site: &str) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age_secs}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub fn peer_address(req_ext: &axum::http::Extensions) -> Option<String> {
    req_ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string())
}

fn changes_state(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The middleware: authenticates every non-public request.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if is_public(req.method(), &path) {
        return crate::pages::with_shell(next.run(req).await, None);
    }
    let api = path.starts_with("/api/");
    let address = peer_address(req.extensions());
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| t.trim().to_string());
    let auth = if let Some(token) = bearer {
        match state.app.token_actor(&token, address.as_deref()).await {
            Ok(actor) => Auth { actor, csrf: None, session_id: None },
            Err(e) => return ApiError::from(e).into_response(),
        }
    } else if let Some(sid) = cookie(req.headers(), SESSION_COOKIE).map(str::to_string) {
        match state.app.session_actor(&sid, address.as_deref()).await {
            Ok((actor, info)) => {
                if api && changes_state(req.method()) {
                    let sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
                    if !constant_time_eq(sent.as_bytes(), info.csrf_token.as_bytes()) {
                        return ApiError::new(
                            StatusCode::FORBIDDEN,
                            "csrf_failed",
                            "a signed-in browser request that changes data must send the session's CSRF token in X-CSRF-Token",
                        )
                        .into_response();
                    }
                }
                Auth { actor, csrf: Some(info.csrf_token), session_id: Some(sid) }
            }
            Err(e) if api => return ApiError::from(e).into_response(),
            Err(_) => return to_login(&req),
        }
    } else if api {
        let mut res = unauthenticated().into_response();
        res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return res;
    } else {
        return to_login(&req);
    };
    // A page's error is rendered here, framed for the person who asked (the handlers that make it need not know
    // them).
    let framed = (!api).then(|| auth.clone());
    req.extensions_mut().insert(auth);
    let res = next.run(req).await;
    if api { res } else { crate::pages::with_shell(crate::pages::api_error_as_page(res), framed.as_ref()) }
}

fn to_login(req: &Request) -> Response {
    let next = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let q = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    Redirect::to(&format!("/login?{q}")).into_response()
}

/// Where to go after signing in: only a path on this site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        // Only a path on this site: no scheme, no `//host`, and nothing a browser would strip or reinterpret
        // (`/<TAB>/evil.example` becomes `//evil.example`), nor anything that cannot go in a header.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// Checks a form's CSRF field against the session's token.
pub fn form_csrf_ok(auth: &Auth, sent: &str) -> bool {
    auth.csrf.as_deref().is_some_and(|t| constant_time_eq(t.as_bytes(), sent.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/people?q=a")), "/people?q=a");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/ /evil.example")), "/");
        assert_eq!(safe_next(Some("/people\nSet-Cookie: x=1")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn reads_cookies() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; itemize_session=xyz; b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
