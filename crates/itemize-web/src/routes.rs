//! Every route is added through [`Reg`], which also writes it down, so the authorization-matrix test can
//! check that no route exists without an expectation.

use crate::AppState;
use axum::Router;
use axum::routing::MethodRouter;

#[derive(Debug)]
pub struct Reg {
    pub router: Router<AppState>,
    pub table: Vec<(&'static str, String)>,
}

impl Default for Reg {
    fn default() -> Self {
        Self::new()
    }
}

impl Reg {
    pub fn new() -> Self {
        Self { router: Router::new(), table: Vec::new() }
    }

    /// Adds `path` answering `methods` (as written in `handler`).
    pub fn add(mut self, path: &str, methods: &[&'static str], handler: MethodRouter<AppState>) -> Self {
        for m in methods {
            self.table.push((m, path.to_string()));
        }
        self.router = self.router.route(path, handler);
        self
    }
}
