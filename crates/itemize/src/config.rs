//! Configuration in layers: built-in defaults, then `itemize.toml` (or `--config PATH`), then `ITEMIZE_*`
//! environment variables, then command-line flags. Unknown keys are errors that name the key; secrets are
//! redacted wherever the configuration is printed or logged.

use anyhow::{Context, anyhow, bail};
use itemize_core::{Currency, FiscalCalendar};
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The keys a configuration file (and the environment, upper-cased with the `ITEMIZE_` prefix) may set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub log_format: Option<String>,
    pub reporting_currency: Option<String>,
    pub fiscal_year_start_month: Option<i64>,
    pub max_body_bytes: Option<usize>,
    pub db_max_connections: Option<u32>,
    /// The address users reach itemize at; an `https://` URL makes cookies `Secure`.
    pub public_url: Option<String>,
    pub session_idle_minutes: Option<i64>,
    pub session_absolute_hours: Option<i64>,
}

const ENV_KEYS: &[&str] = &[
    "data_dir",
    "database_url",
    "listen",
    "log_format",
    "reporting_currency",
    "fiscal_year_start_month",
    "max_body_bytes",
    "db_max_connections",
    "public_url",
    "session_idle_minutes",
    "session_absolute_hours",
    "config",
];

/// Environment variables with the prefix that belong to the test harness, not to the product.
const HARNESS_ENV: &[&str] = &[
    "ITEMIZE_TEST_DATABASE_URL",
    "ITEMIZE_REQUIRE_POSTGRES",
    "ITEMIZE_FOCUS_VALIDATOR_PYTHON",
    "ITEMIZE_REQUIRE_FOCUS_VALIDATOR",
    "ITEMIZE_REQUIRE_BROWSER",
    "ITEMIZE_SCREENSHOTS",
];

impl Layer {
    fn over(self, top: Layer) -> Layer {
        Layer {
            data_dir: top.data_dir.or(self.data_dir),
            database_url: top.database_url.or(self.database_url),
            listen: top.listen.or(self.listen),
            log_format: top.log_format.or(self.log_format),
            reporting_currency: top.reporting_currency.or(self.reporting_currency),
            fiscal_year_start_month: top.fiscal_year_start_month.or(self.fiscal_year_start_month),
            max_body_bytes: top.max_body_bytes.or(self.max_body_bytes),
            db_max_connections: top.db_max_connections.or(self.db_max_connections),
            public_url: top.public_url.or(self.public_url),
            session_idle_minutes: top.session_idle_minutes.or(self.session_idle_minutes),
            session_absolute_hours: top.session_absolute_hours.or(self.session_absolute_hours),
        }
    }

    /// Reads a TOML file; an unknown key is an error naming it.
    pub fn from_file(path: &Path) -> anyhow::Result<Layer> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow!("{}: {}", path.display(), e.message()))
    }

    /// Reads `ITEMIZE_*` variables from `vars`; an unknown one is an error naming it.
    pub fn from_env(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<(Layer, Option<PathBuf>)> {
        let mut l = Layer::default();
        let mut config = None;
        for (k, v) in vars {
            let Some(key) = k.strip_prefix("ITEMIZE_") else {
                continue;
            };
            if HARNESS_ENV.contains(&k.as_str()) {
                continue;
            }
            let key = key.to_ascii_lowercase();
            let num = |what: &str| anyhow!("{k}={v:?} is not {what}");
            match key.as_str() {
                "data_dir" => l.data_dir = Some(v.into()),
                "database_url" => l.database_url = Some(v),
                "listen" => l.listen = Some(v),
                "log_format" => l.log_format = Some(v),
                "reporting_currency" => l.reporting_currency = Some(v),
                "fiscal_year_start_month" => {
                    l.fiscal_year_start_month = Some(v.parse().map_err(|_| num("a month number"))?)
                }
                "max_body_bytes" => l.max_body_bytes = Some(v.parse().map_err(|_| num("a number of bytes"))?),
                "db_max_connections" => l.db_max_connections = Some(v.parse().map_err(|_| num("a number"))?),
                "public_url" => l.public_url = Some(v),
                "session_idle_minutes" => {
                    l.session_idle_minutes = Some(v.parse().map_err(|_| num("a number of minutes"))?)
                }
                "session_absolute_hours" => {
                    l.session_absolute_hours = Some(v.parse().map_err(|_| num("a number of hours"))?)
                }
                "config" => config = Some(PathBuf::from(v)),
                _ => bail!(
                    "unknown environment variable {k}; itemize reads {}",
                    ENV_KEYS
                        .iter()
                        .map(|k| format!("ITEMIZE_{}", k.to_uppercase()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        Ok((l, config))
    }
}

/// A database URL whose password never appears in `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The real URL, for connecting only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn redacted(&self) -> String {
        let mut s = self.0.clone();
        if let Some(scheme_end) = s.find("://") {
            let rest_start = scheme_end + 3;
            let authority_end = s[rest_start..].find(['/', '?']).map(|i| rest_start + i).unwrap_or(s.len());
            if let Some(at) = s[rest_start..authority_end].rfind('@') {
                let userinfo = &s[rest_start..rest_start + at];
                if let Some(colon) = userinfo.find(':') {
                    s.replace_range(rest_start + colon + 1..rest_start + at, "***");
                }
            }
        }
        if let Some(q) = s.find("password=") {
            let end = s[q..].find('&').map(|i| q + i).unwrap_or(s.len());
            s.replace_range(q + "password=".len()..end, "***");
        }
        s
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The validated configuration the program runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    pub listen: SocketAddr,
    pub log_format: LogFormat,
    pub reporting_currency: Currency,
    pub fiscal_calendar: FiscalCalendar,
    pub max_body_bytes: usize,
    pub db_max_connections: u32,
    /// Cookies carry `Secure` (itemize is reached over HTTPS).
    pub secure_cookies: bool,
    pub session_idle: jiff::SignedDuration,
    pub session_absolute: jiff::SignedDuration,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

impl Settings {
    /// Resolves the layers. `file` is `--config`, else `ITEMIZE_CONFIG`, else `./itemize.toml` when present.
    pub fn resolve(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: Layer,
    ) -> anyhow::Result<Settings> {
        let (env_layer, env_config) = Layer::from_env(env)?;
        let file_layer = match file.map(Path::to_path_buf).or(env_config) {
            Some(p) => Layer::from_file(&p)?,
            None if Path::new("itemize.toml").exists() => Layer::from_file(Path::new("itemize.toml"))?,
            None => Layer::default(),
        };
        let l = Layer::default().over(file_layer).over(env_layer).over(flags);
        let data_dir = l.data_dir.unwrap_or_else(|| PathBuf::from("itemize-data"));
        let database_url = DatabaseUrl::new(
            l.database_url.unwrap_or_else(|| format!("sqlite://{}", data_dir.join("itemize.db").display())),
        );
        if !(database_url.0.starts_with("sqlite:")
            || database_url.0.starts_with("postgres://")
            || database_url.0.starts_with("postgresql://"))
        {
            bail!("database_url must start with sqlite:// or postgres:// (got {database_url})");
        }
        let listen_text = l.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen = listen_text
            .parse()
            .map_err(|_| anyhow!("listen: `{listen_text}` is not an address such as 127.0.0.1:8080"))?;
        let log_format = match l.log_format.as_deref().unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => bail!("log_format: `{other}` is not text or json"),
        };
        let reporting_currency = l
            .reporting_currency
            .as_deref()
            .unwrap_or("USD")
            .parse()
            .map_err(|e| anyhow!("reporting_currency: {e}"))?;
        let fiscal_calendar = FiscalCalendar::new(l.fiscal_year_start_month.unwrap_or(1))
            .map_err(|e| anyhow!("fiscal_year_start_month: {e}"))?;
        let max_body_bytes = l.max_body_bytes.unwrap_or(1024 * 1024);
        let db_max_connections = l.db_max_connections.unwrap_or(16).max(1);
        let secure_cookies = l.public_url.as_deref().is_some_and(|u| u.starts_with("https://"));
        let idle = l.session_idle_minutes.unwrap_or(120);
        let absolute = l.session_absolute_hours.unwrap_or(12);
        if !(1..=60 * 24 * 30).contains(&idle) {
            bail!("session_idle_minutes must be 1 to 43200");
        }
        if !(1..=24 * 90).contains(&absolute) {
            bail!("session_absolute_hours must be 1 to 2160");
        }
        Ok(Settings {
            data_dir,
            database_url,
            listen,
            log_format,
            reporting_currency,
            fiscal_calendar,
            max_body_bytes,
            db_max_connections,
            secure_cookies,
            session_idle: jiff::SignedDuration::from_mins(idle),
            session_absolute: jiff::SignedDuration::from_hours(absolute),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        let u = DatabaseUrl::new("postgres://itemize:s3cr3t@db.internal:5432/itemize?sslmode=require");
        assert_eq!(u.to_string(), "postgres://itemize:***@db.internal:5432/itemize?sslmode=require");
        assert!(!format!("{u:?}").contains("s3cr3t"));
        let q = DatabaseUrl::new("postgres://db/itemize?user=a&password=hunter2&x=1");
        assert_eq!(q.to_string(), "postgres://db/itemize?user=a&password=***&x=1");
    }
}
