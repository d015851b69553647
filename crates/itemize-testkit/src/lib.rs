//! A throwaway PostgreSQL for tests and benchmarks.
//!
//! With `ITEMIZE_TEST_DATABASE_URL` set, that server is used (each test gets its own database in it).
//! Otherwise the first caller starts a private server from the installed binaries (`initdb`, `pg_ctl`, found on
//! `PATH` or in `/usr/lib/postgresql/<version>/bin`), listening only on a Unix socket in a temporary directory;
//! `initdb` refuses to run as root, so under root it runs as `nobody`. A watchdog process stops the server and
//! removes its directory when the test process exits, however it exits.
//!
//! Without binaries, [`postgres`] prints one loud `PostgreSQL leg skipped` line and returns `None`; with
//! `ITEMIZE_REQUIRE_POSTGRES=1` it panics instead, so CI cannot pass without the PostgreSQL leg.
//!
//! [`browser`] drives a real headless Chromium over WebDriver for end-to-end tests, skipped the same way
//! (`ITEMIZE_REQUIRE_BROWSER=1`) when chromium or chromedriver is not installed.

pub mod browser;

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// A PostgreSQL server tests can create databases in.
#[derive(Debug)]
pub struct PgServer {
    /// URL of the maintenance database, without the database name's query part.
    admin_url: String,
    /// Builds a URL for database `db`.
    url_for: fn(&PgServer, &str) -> String,
    socket_dir: Option<PathBuf>,
}

static SERVER: OnceLock<Result<PgServer, String>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

fn require() -> bool {
    std::env::var("ITEMIZE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1" || v == "true")
}

/// The server, started on first use; `None` when PostgreSQL is unavailable and not required.
pub fn postgres() -> Option<&'static PgServer> {
    let server = SERVER.get_or_init(|| match std::env::var("ITEMIZE_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            Ok(PgServer { admin_url: url, url_for: external_url, socket_dir: None })
        }
        _ => start_private(),
    });
    match server {
        Ok(s) => Some(s),
        Err(why) if require() => {
            panic!("PostgreSQL is required (ITEMIZE_REQUIRE_POSTGRES=1) but unavailable: {why}")
        }
        Err(why) => {
            static SAID: OnceLock<()> = OnceLock::new();
            SAID.get_or_init(|| {
                // Written past the test harness's output capture, so it is seen in every run.
                let _ = writeln!(
                    std::io::stderr(),
                    "\n!!!!!! PostgreSQL leg skipped: {why}. Install PostgreSQL or set ITEMIZE_TEST_DATABASE_URL; \
                     ITEMIZE_REQUIRE_POSTGRES=1 makes this a failure. !!!!!!\n"
                );
            });
            None
        }
    }
}

fn external_url(s: &PgServer, db: &str) -> String {
    // Replace the path of the admin URL with the new database's name.
    let url = &s.admin_url;
    let (base, query) = url.split_once('?').map(|(b, q)| (b, Some(q))).unwrap_or((url, None));
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..].find('/').map(|i| scheme_end + i).unwrap_or(base.len());
    let mut out = format!("{}/{db}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn private_url(s: &PgServer, db: &str) -> String {
    let dir = s.socket_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_default();
    format!("postgres://postgres@localhost/{db}?host={dir}")
}

impl PgServer {
    /// Creates a new, empty database and returns its URL.
    pub async fn fresh_database(&self) -> String {
        let n = NEXT_DB.fetch_add(1, Ordering::SeqCst);
        let name = format!("itemize_test_{}_{n}", std::process::id());
        let admin =
            if self.socket_dir.is_some() { private_url(self, "postgres") } else { self.admin_url.clone() };
        let mut c = PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("connecting to test PostgreSQL: {e}"));
        sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
            .execute(&mut c)
            .await
            .unwrap_or_else(|e| panic!("dropping {name}: {e}"));
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut c)
            .await
            .unwrap_or_else(|e| panic!("creating {name}: {e}"));
        let _ = c.close().await;
        (self.url_for)(self, &name)
    }
}

fn find_binary(name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let p = e.path().join("bin").join(name);
            p.is_file().then_some((v, p))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p)
}

fn is_root() -> bool {
    // The effective uid of this process, read without libc.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        .unwrap_or(false)
}

const NOBODY: u32 = 65534;

fn run_as(cmd: &mut Command, as_nobody: bool) -> &mut Command {
    if as_nobody {
        use std::os::unix::process::CommandExt;
        cmd.uid(NOBODY).gid(NOBODY);
    }
    cmd
}

fn start_private() -> Result<PgServer, String> {
    let initdb = find_binary("initdb").ok_or("no initdb on PATH or in /usr/lib/postgresql/*/bin")?;
    let pg_ctl = find_binary("pg_ctl").ok_or("no pg_ctl on PATH or in /usr/lib/postgresql/*/bin")?;
    let nobody = is_root();
    let dir = std::env::temp_dir().join(format!(
        "itemize-pg-{}-{}",
        std::process::id(),
        NEXT_DB.load(Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    if nobody {
        std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY))
            .map_err(|e| format!("chown {}: {e}", dir.display()))?;
    }
    let data = dir.join("data");
    let out = run_as(&mut Command::new(&initdb), nobody)
        .args(["-D", path(&data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {}: {e}", initdb.display()))?;
    if !out.status.success() {
        return Err(format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    // The buffer cache: PostgreSQL's default (128MB) for tests; benchmarks of large tables set
    // ITEMIZE_TEST_PG_SHARED_BUFFERS as a tuned server would (docs/benchmarks.md says which).
    let buffers = std::env::var("ITEMIZE_TEST_PG_SHARED_BUFFERS")
        .ok()
        .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or_else(|| "128MB".into());
    let opts = format!(
        "-k {} -c listen_addresses='' -p 5432 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
         -c max_connections=300 -c shared_buffers={buffers}",
        dir.display()
    );
    let log = dir.join("server.log");
    let out = run_as(&mut Command::new(&pg_ctl), nobody)
        .args(["-D", path(&data), "-l", path(&log), "-o", &opts, "-w", "-t", "60", "start"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {}: {e}", pg_ctl.display()))?;
    if !out.status.success() {
        let server_log = std::fs::read_to_string(&log).unwrap_or_default();
        return Err(format!("pg_ctl start failed: {}{server_log}", String::from_utf8_lossy(&out.stderr)));
    }
    spawn_watchdog(&dir, &data);
    Ok(PgServer { admin_url: String::new(), url_for: private_url, socket_dir: Some(dir) })
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

/// Stops the server (immediate shutdown) and removes its directory once this process has exited.
fn spawn_watchdog(dir: &Path, data: &Path) {
    use std::os::unix::process::CommandExt;
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
         kill -QUIT $(head -n 1 '{data}/postmaster.pid') 2>/dev/null; sleep 1; rm -rf '{dir}'",
        pid = std::process::id(),
        data = data.display(),
        dir = dir.display(),
    );
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_urls_swap_the_database() {
        let s = PgServer {
            admin_url: "postgres://u:p@h:5/postgres?sslmode=disable".into(),
            url_for: external_url,
            socket_dir: None,
        };
        assert_eq!(external_url(&s, "x"), "postgres://u:p@h:5/x?sslmode=disable");
        let s = PgServer { admin_url: "postgres://h".into(), url_for: external_url, socket_dir: None };
        assert_eq!(external_url(&s, "x"), "postgres://h/x");
    }
}
