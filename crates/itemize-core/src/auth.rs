//! Who may do what. The policy is a pure function of the actor's role, the resource and the action, so the
//! application layer can enforce it once for every front end, and tests can enumerate it.

use crate::UserId;
use crate::refdata::Kind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::{fmt, str::FromStr};

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Everything, including users and settings.
    Admin,
    /// All costs, rules, budgets and chargeback; cost centres, services and vendors; assets read-only.
    Finance,
    /// Assets, contracts, audits and licences; locations and vendors; costs read-only.
    AssetManager,
    /// Read-only everywhere.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Finance, Role::AssetManager, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Finance => "finance",
            Role::AssetManager => "asset-manager",
            Role::Viewer => "viewer",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("`{s}` is not a role; roles are admin, finance, asset-manager, viewer"))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an action touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    RefData(Kind),
    /// User accounts and their roles and scopes.
    Users,
    /// API tokens: one's own (any role), everyone's (admin).
    Tokens,
    /// The audit log (read only; nothing can write it but the application itself).
    AuditLog,
    /// The cost ledger: imports, exchange rates, totals and exports.
    CostLedger,
    /// The asset register: assets, their lifecycle, relationships, audits and labels.
    Assets,
    /// Contracts (purchase, lease, maintenance, warranty, subscription) and the renewal calendar.
    Contracts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Read,
    Write,
}

/// How the actor proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Credential {
    /// A signed-in browser session.
    Session,
    /// An API token, read-only or read-write.
    Token { read_only: bool },
    /// The local operator (CLI with direct database access) or the application itself (demo loader, jobs).
    System,
}

impl Credential {
    pub fn label(self) -> &'static str {
        match self {
            Credential::Session => "session",
            Credential::Token { read_only: true } => "read-only token",
            Credential::Token { read_only: false } => "token",
            Credential::System => "system",
        }
    }
}

/// The acting user of a use case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub name: String,
    pub role: Role,
    /// When set, the cost centres (owned ones and all below them) this actor is limited to.
    pub scope: Option<BTreeSet<i64>>,
    pub credential: Credential,
    /// The network address the request came from, when there was one.
    pub address: Option<String>,
}

impl Actor {
    /// The local operator or the application itself: unrestricted.
    pub fn system(name: &str) -> Actor {
        Actor {
            user_id: None,
            name: name.to_string(),
            role: Role::Admin,
            scope: None,
            credential: Credential::System,
            address: None,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether a cost centre is visible to this actor.
    pub fn sees_cost_centre(&self, id: i64) -> bool {
        self.scope.as_ref().is_none_or(|s| s.contains(&id))
    }
}

/// Why an action is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("your role ({0}) does not allow this")]
    Role(Role),
    #[error("this API token is read-only")]
    ReadOnlyToken,
}

/// The role policy: whether `role` may perform `action` on `resource`.
pub fn role_allows(role: Role, resource: Resource, action: Action) -> bool {
    use {Action::*, Kind::*, Resource::*, Role::*};
    match (resource, action) {
        (Users | AuditLog, _) => role == Admin,
        (Tokens, _) => true, // one's own; the application limits non-admins to their own tokens
        (CostLedger, Read) => true,
        (CostLedger, Write) => matches!(role, Admin | Finance),
        (RefData(_), Read) => true,
        (Assets | Contracts, Read) => true,
        (Assets, Write) => matches!(role, Admin | AssetManager),
        (Contracts, Write) => matches!(role, Admin | AssetManager | Finance),
        (RefData(kind), Write) => match role {
            Admin => true,
            Finance => matches!(kind, CostCentre | Service | Vendor),
            AssetManager => matches!(kind, Location | Vendor),
            Viewer => false,
        },
    }
}

/// The whole decision for an actor: role policy, then the credential's own limits.
pub fn authorize(actor: &Actor, resource: Resource, action: Action) -> Result<(), Denied> {
    if action == Action::Write && actor.credential == (Credential::Token { read_only: true }) {
        return Err(Denied::ReadOnlyToken);
    }
    if role_allows(actor.role, resource, action) { Ok(()) } else { Err(Denied::Role(actor.role)) }
}

/// The column of a kind that places its records in a cost centre, for scoped actors; kinds without one
/// (locations, vendors) are shared reference data every signed-in user may read.
pub fn scope_column(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::CostCentre => Some("id"),
        Kind::Service => Some("owner_cost_centre_id"),
        Kind::Person => Some("cost_centre_id"),
        Kind::Location | Kind::Vendor => None,
    }
}

/// Expands owned cost centres to them and everything below them, given child → parent edges.
pub fn expand_scope(owned: &[i64], parent_of: &std::collections::HashMap<i64, i64>) -> BTreeSet<i64> {
    let mut out: BTreeSet<i64> = owned.iter().copied().collect();
    for &child in parent_of.keys() {
        let mut cur = Some(child);
        let mut steps = 0;
        while let Some(c) = cur {
            if out.contains(&c) {
                out.insert(child);
                break;
            }
            steps += 1;
            if steps > 10_000 {
                break;
            }
            cur = parent_of.get(&c).copied();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_tokens_never_write() {
        let mut a = Actor::system("t");
        a.credential = Credential::Token { read_only: true };
        assert_eq!(authorize(&a, Resource::RefData(Kind::Vendor), Action::Write), Err(Denied::ReadOnlyToken));
        assert_eq!(authorize(&a, Resource::RefData(Kind::Vendor), Action::Read), Ok(()));
    }

    #[test]
    fn viewers_read_and_never_write() {
        for k in Kind::ALL {
            assert!(role_allows(Role::Viewer, Resource::RefData(k), Action::Read));
            assert!(!role_allows(Role::Viewer, Resource::RefData(k), Action::Write));
        }
        assert!(!role_allows(Role::Viewer, Resource::AuditLog, Action::Read));
        assert!(!role_allows(Role::Finance, Resource::Users, Action::Read));
    }

    #[test]
    fn scope_covers_descendants_only() {
        let edges: std::collections::HashMap<i64, i64> = [(2, 1), (3, 2), (4, 1), (6, 5)].into();
        assert_eq!(expand_scope(&[2], &edges).into_iter().collect::<Vec<_>>(), [2, 3]);
        assert_eq!(expand_scope(&[1], &edges).into_iter().collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!("Asset-Manager".parse::<Role>(), Ok(Role::AssetManager));
    }
}
