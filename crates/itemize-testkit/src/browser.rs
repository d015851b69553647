//! A real headless Chromium for end-to-end tests, driven over W3C WebDriver by a minimal client.
//!
//! [`browser`] finds `chromium` and `chromedriver` (on `PATH`, else in `/usr/bin`), starts a private
//! chromedriver on a free loopback port and opens one session in a fresh Chromium. Each [`Browser`] owns its
//! chromedriver, its Chromium, an empty profile directory, a downloads directory and a `TMPDIR`; dropping it
//! ends the session, kills both processes and removes the directories, and a watchdog does the same if the
//! test process dies without dropping it. Nothing is shared between browsers: tests may run in parallel.
//!
//! Without the binaries, [`browser`] prints one loud `headless browser tests skipped` line and returns
//! `None`; with `ITEMIZE_REQUIRE_BROWSER=1` it panics instead, so CI cannot pass without the browser leg.
//!
//! Every method panics with a message saying what failed (these are test helpers). Lookups wait:
//! [`Browser::find`] and [`Element::find`] poll for up to [`DEFAULT_WAIT`] (see [`Browser::set_wait`]) before
//! failing with the selector, the current URL and a snippet of the page; [`Browser::find_all`] and
//! [`Browser::try_find`] do not.
//!
//! Uploads: [`Element::send_keys`] with the **absolute** path of an existing file on an `<input type=file>`
//! selects that file (chromedriver reads it from disk; several paths are separated by `\n` for a `multiple`
//! input); submitting the form then sends it as usual.
//!
//! Downloads: Chromium saves them, without asking, into [`Browser::downloads_dir`] (a directory owned by the
//! browser); [`Browser::wait_for_download`] waits for a completed one (never a `*.crdownload`).
//!
//! Browser dialogs (`alert`, `confirm`): chromedriver's default prompt behaviour applies — an open dialog
//! fails the next command and is dismissed; answer it first with [`Browser::accept_alert`] or
//! [`Browser::dismiss_alert`].

use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long element lookups and the `wait_for*` methods poll before failing, unless [`Browser::set_wait`]
/// says otherwise.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);
/// How long [`Browser::wait_for_download`] waits for a completed file.
pub const DOWNLOAD_WAIT: Duration = Duration::from_secs(20);
/// The window size a session starts with.
pub const WINDOW_SIZE: (u32, u32) = (1280, 900);
/// The tallest window [`Browser::full_page_screenshot_png`] uses.
pub const FULL_PAGE_MAX_HEIGHT: u32 = 4000;

/// Keys for [`Element::send_keys`] (WebDriver's code points).
pub mod keys {
    pub const ENTER: &str = "\u{E007}";
    pub const TAB: &str = "\u{E004}";
    pub const BACKSPACE: &str = "\u{E003}";
    pub const ESCAPE: &str = "\u{E00C}";
}

/// The web element identifier of the W3C WebDriver spec (§12.1), the key chromedriver uses.
pub const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
const POLL: Duration = Duration::from_millis(50);
const STARTUP: Duration = Duration::from_secs(20);
const PORT_ATTEMPTS: usize = 5;
const SESSION_ATTEMPTS: usize = 2;
/// Chromium's flags: headless as root, and none of the background connections this machine's closed network
/// refuses. The profile directory and window size are added per browser.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

const SKIPPED: &str = concat!(
    "headless browser tests skipped: chromium/chromedriver not found ",
    "(apt-get install chromium chromium-driver)"
);

fn require() -> bool {
    std::env::var("ITEMIZE_REQUIRE_BROWSER").is_ok_and(|v| v == "1" || v == "true")
}

/// A fresh headless Chromium; `None` when chromium or chromedriver is not installed and not required.
///
/// Installed binaries that fail to start are a failure (a panic), not a skip.
pub async fn browser() -> Option<Browser> {
    let chromium = find_binary(&["chromium", "chromium-browser"]);
    let driver = find_binary(&["chromedriver"]);
    match (chromium, driver) {
        (Some(chromium), Some(driver)) => Some(Browser::start(&chromium, &driver).await),
        _ if require() => panic!("{SKIPPED}; but ITEMIZE_REQUIRE_BROWSER=1 requires them"),
        _ => {
            static SAID: OnceLock<()> = OnceLock::new();
            SAID.get_or_init(|| {
                // Written past the test harness's output capture, so it is seen in every run.
                let _ = writeln!(
                    std::io::stderr(),
                    "\n!!!!!! {SKIPPED}; ITEMIZE_REQUIRE_BROWSER=1 makes this a failure. !!!!!!\n"
                );
            });
            None
        }
    }
}

fn find_binary(names: &[&str]) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    dirs.push(PathBuf::from("/usr/bin"));
    names.iter().flat_map(|n| dirs.iter().map(move |d| d.join(n))).find(|p| p.is_file())
}

/// A WebDriver error response (or a transport failure, with `error` "transport").
#[derive(Debug)]
struct WdError {
    error: String,
    message: String,
}

impl WdError {
    /// The element is gone from the page (replaced by a re-render or a reload between the lookup and the use):
    /// WebDriver's own code, or ChromeDriver's inspector error when the page was reloading at that instant.
    fn is_stale(&self) -> bool {
        self.error == "stale element reference" || self.message.contains("does not belong to the document")
    }
}

impl fmt::Display for WdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first_line = self.message.lines().next().unwrap_or_default();
        write!(f, "{}: {first_line}", self.error)
    }
}

/// One WebDriver session: what a [`Browser`] and its [`Element`]s talk to.
#[derive(Debug)]
struct Session {
    http: reqwest::Client,
    /// `http://127.0.0.1:<port>/session/<id>`.
    url: String,
    wait_ms: AtomicU64,
}

impl Session {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, WdError> {
        request(&self.http, method, &format!("{}{path}", self.url), body).await
    }

    /// A command that must succeed; `what` names it in the panic message.
    async fn cmd(&self, what: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.call(method, path, body).await.unwrap_or_else(|e| panic!("browser: {what} failed: {e}"))
    }

    async fn get(&self, what: &str, path: &str) -> Value {
        self.cmd(what, reqwest::Method::GET, path, None).await
    }

    async fn post(&self, what: &str, path: &str, body: Value) -> Value {
        self.cmd(what, reqwest::Method::POST, path, Some(body)).await
    }

    fn wait(&self) -> Duration {
        Duration::from_millis(self.wait_ms.load(Ordering::Relaxed))
    }

    /// One lookup of the first match of `css` under `root` (the document when `None`), without waiting.
    async fn find_once(&self, root: Option<&str>, css: &str) -> Result<Option<String>, WdError> {
        let path = root.map(|id| format!("/element/{id}/element")).unwrap_or_else(|| "/element".into());
        match self
            .call(reqwest::Method::POST, &path, Some(json!({"using": "css selector", "value": css})))
            .await
        {
            Ok(v) => Ok(Some(element_id(&v))),
            Err(e) if e.error == "no such element" => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn find_all(&self, root: Option<&str>, css: &str) -> Vec<String> {
        let path = root.map(|id| format!("/element/{id}/elements")).unwrap_or_else(|| "/elements".into());
        let v = self
            .post(&format!("finding all `{css}`"), &path, json!({"using": "css selector", "value": css}))
            .await;
        v.as_array().map(|a| a.iter().map(element_id).collect()).unwrap_or_default()
    }

    /// Polls for the first match of `css` for up to the session's wait; panics with context when none comes.
    async fn find(self: &Arc<Self>, root: Option<&str>, css: &str) -> Element {
        let deadline = Instant::now() + self.wait();
        loop {
            match self.find_once(root, css).await {
                Ok(Some(id)) => return Element { session: Arc::clone(self), id, selector: css.to_string() },
                Ok(None) if Instant::now() < deadline => tokio::time::sleep(POLL).await,
                Ok(None) => {
                    let within = root.map(|_| " (within an element)").unwrap_or_default();
                    panic!(
                        "browser: no element matches `{css}`{within} after {:?}\n{}",
                        self.wait(),
                        self.context().await
                    )
                }
                Err(e) => panic!("browser: finding `{css}` failed: {e}\n{}", self.context().await),
            }
        }
    }

    /// The current URL and the start of the page's body, for failure messages.
    async fn context(&self) -> String {
        let url = self.call(reqwest::Method::GET, "/url", None).await;
        let url =
            url.map(|v| v.as_str().unwrap_or_default().to_string()).unwrap_or_else(|e| format!("({e})"));
        let source = self.call(reqwest::Method::GET, "/source", None).await;
        let source =
            source.map(|v| v.as_str().unwrap_or_default().to_string()).unwrap_or_else(|e| format!("({e})"));
        let body = source.find("<body").map(|i| &source[i..]).unwrap_or(&source);
        format!("  current URL: {url}\n  page source (start of body): {}", snippet(body, 1500))
    }
}

fn snippet(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn element_id(v: &Value) -> String {
    v.get(ELEMENT_KEY)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("browser: expected a web element, got {v}"))
        .to_string()
}

/// Sends one WebDriver request; the response's `value`, or its error.
async fn request(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value, WdError> {
    let transport = |e: reqwest::Error| WdError { error: "transport".into(), message: e.to_string() };
    let mut req = http.request(method, url);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.map_err(transport)?;
    let status = resp.status();
    let text = resp.text().await.map_err(transport)?;
    let mut v: Value = serde_json::from_str(&text).map_err(|e| WdError {
        error: format!("HTTP {status}"),
        message: format!("not JSON ({e}): {}", snippet(&text, 300)),
    })?;
    let value = v.get_mut("value").map(Value::take).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(value);
    }
    let field = |k: &str| value.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    Err(WdError { error: field("error"), message: field("message") })
}

/// A headless Chromium with its own chromedriver, profile and downloads directory. See the module docs.
pub struct Browser {
    session: Arc<Session>,
    session_id: String,
    port: u16,
    driver: Child,
    /// The Chromium browser process, as chromedriver reports it.
    chromium_pid: Option<u32>,
    watchdog: Option<Child>,
    downloads: PathBuf,
    /// Downloads [`Browser::wait_for_download`] already returned.
    taken: Mutex<HashSet<PathBuf>>,
    dir: Option<tempfile::TempDir>,
}

impl fmt::Debug for Browser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Browser")
            .field("session", &self.session.url)
            .field("chromedriver_pid", &self.driver.id())
            .field("chromium_pid", &self.chromium_pid)
            .field("downloads", &self.downloads)
            .finish_non_exhaustive()
    }
}

/// A port the kernel says is free now (it may be taken before chromedriver binds it; the caller retries).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("browser: binding 127.0.0.1:0: {e}"));
    l.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("browser: local address: {e}"))
}

/// SIGKILL to a process group (`sh` is dash on Debian, whose `kill` takes no `--`).
fn kill_group(pgid: u32) {
    let _ = Command::new("sh")
        .args(["-c", &format!("kill -KILL -{pgid} 2>/dev/null")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let start = text.len().saturating_sub(3000);
    let start = (start..text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
    text[start..].to_string()
}

impl Browser {
    async fn start(chromium: &Path, driver_bin: &Path) -> Browser {
        let dir = tempfile::Builder::new()
            .prefix("itemize-browser-")
            .tempdir()
            .unwrap_or_else(|e| panic!("browser: creating a temporary directory: {e}"));
        let downloads = dir.path().join("downloads");
        let tmp = dir.path().join("tmp");
        for d in [&downloads, &tmp] {
            std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("browser: creating {}: {e}", d.display()));
        }
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(90))
            .build()
            .unwrap_or_else(|e| panic!("browser: building the HTTP client: {e}"));

        let (mut driver, port, log) = start_driver(driver_bin, dir.path(), &tmp, &http).await;
        let watchdog = spawn_watchdog(driver.id(), dir.path());

        let mut failures = Vec::new();
        for attempt in 0..SESSION_ATTEMPTS {
            let profile = dir.path().join(format!("profile-{attempt}"));
            let caps = capabilities(chromium, &profile, &downloads);
            match request(
                &http,
                reqwest::Method::POST,
                &format!("http://127.0.0.1:{port}/session"),
                Some(caps),
            )
            .await
            {
                Ok(v) => {
                    let session_id = v["sessionId"]
                        .as_str()
                        .unwrap_or_else(|| panic!("browser: new session without an id: {v}"))
                        .to_string();
                    let chromium_pid =
                        v["capabilities"]["goog:processID"].as_u64().and_then(|p| u32::try_from(p).ok());
                    let session = Arc::new(Session {
                        http,
                        url: format!("http://127.0.0.1:{port}/session/{session_id}"),
                        wait_ms: AtomicU64::new(DEFAULT_WAIT.as_millis() as u64),
                    });
                    return Browser {
                        session,
                        session_id,
                        port,
                        driver,
                        chromium_pid,
                        watchdog,
                        downloads,
                        taken: Mutex::new(HashSet::new()),
                        dir: Some(dir),
                    };
                }
                Err(e) => failures.push(e.to_string()),
            }
        }
        kill_group(driver.id());
        let _ = driver.kill();
        let _ = driver.wait();
        if let Some(mut w) = watchdog {
            let _ = w.kill();
            let _ = w.wait();
        }
        panic!(
            "browser: chromedriver could not start {} ({} attempts): {}\nchromedriver log:\n{}",
            chromium.display(),
            SESSION_ATTEMPTS,
            failures.join("; "),
            log_tail(&log)
        )
    }

    /// The URL of the session's endpoint for `path` (starting with `/`), for commands this client lacks.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.session.url)
    }

    /// Sets how long lookups and `wait_for*` poll before failing (default [`DEFAULT_WAIT`]); applies to this
    /// browser's elements too.
    pub fn set_wait(&self, wait: Duration) {
        self.session.wait_ms.store(wait.as_millis() as u64, Ordering::Relaxed);
    }

    /// Navigates to `url` and waits for the page to load (the `load` event).
    pub async fn goto(&self, url: &str) {
        self.session.post(&format!("navigating to {url}"), "/url", json!({"url": url})).await;
    }

    pub async fn back(&self) {
        self.session.post("going back", "/back", json!({})).await;
    }

    pub async fn refresh(&self) {
        self.session.post("refreshing", "/refresh", json!({})).await;
    }

    pub async fn current_url(&self) -> String {
        self.session.get("reading the URL", "/url").await.as_str().unwrap_or_default().to_string()
    }

    pub async fn title(&self) -> String {
        self.session.get("reading the title", "/title").await.as_str().unwrap_or_default().to_string()
    }

    /// The current DOM serialised as HTML.
    pub async fn source(&self) -> String {
        self.session.get("reading the page source", "/source").await.as_str().unwrap_or_default().to_string()
    }

    /// The first element matching `css`, polling for up to the wait; panics naming the selector, the URL and
    /// the start of the page when none appears.
    pub async fn find(&self, css: &str) -> Element {
        self.session.find(None, css).await
    }

    /// The first element matching `css` now, if any (no waiting).
    pub async fn try_find(&self, css: &str) -> Option<Element> {
        match self.session.find_once(None, css).await {
            Ok(id) => {
                id.map(|id| Element { session: Arc::clone(&self.session), id, selector: css.to_string() })
            }
            Err(e) => panic!("browser: finding `{css}` failed: {e}"),
        }
    }

    /// Every element matching `css` now, in document order (no waiting; possibly empty).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let ids = self.session.find_all(None, css).await;
        ids.into_iter()
            .map(|id| Element { session: Arc::clone(&self.session), id, selector: css.to_string() })
            .collect()
    }

    /// Waits until an element matching `css` exists and is displayed.
    pub async fn wait_for(&self, css: &str) -> Element {
        let deadline = Instant::now() + self.session.wait();
        loop {
            if let Some(e) = self.try_find(css).await
                && e.displayed_or_stale().await
            {
                return e;
            }
            if Instant::now() >= deadline {
                let state =
                    if self.try_find(css).await.is_some() { "present but not displayed" } else { "absent" };
                panic!(
                    "browser: `{css}` is {state} after {:?}\n{}",
                    self.session.wait(),
                    self.session.context().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until some element matching `css` has rendered text containing `text`; returns that element.
    pub async fn wait_for_text(&self, css: &str, text: &str) -> Element {
        let deadline = Instant::now() + self.session.wait();
        loop {
            let mut seen = Vec::new();
            for e in self.find_all(css).await {
                match e.session.call(reqwest::Method::GET, &format!("/element/{}/text", e.id), None).await {
                    Ok(v) => {
                        let t = v.as_str().unwrap_or_default().to_string();
                        if t.contains(text) {
                            return e;
                        }
                        seen.push(t);
                    }
                    // Replaced by a re-render between the lookup and the read: look again.
                    Err(err) if err.is_stale() => {}
                    Err(err) => panic!("browser: reading the text of `{css}` failed: {err}"),
                }
            }
            if Instant::now() >= deadline {
                panic!(
                    "browser: no `{css}` with text containing {text:?} after {:?}; texts seen: {seen:?}\n{}",
                    self.session.wait(),
                    self.session.context().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the current URL contains `fragment` (after a click that navigates, a form submission, a
    /// redirect); returns the URL.
    pub async fn wait_for_url(&self, fragment: &str) -> String {
        let deadline = Instant::now() + self.session.wait();
        loop {
            let url = self.current_url().await;
            if url.contains(fragment) {
                return url;
            }
            if Instant::now() >= deadline {
                panic!(
                    "browser: the URL is still {url}, without {fragment:?}, after {:?}",
                    self.session.wait()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Runs `script` as the body of a function (so `return` gives the result) with `args` as `arguments`;
    /// pass elements with [`Element::as_arg`]. Returned elements come back as `{ELEMENT_KEY: id}` objects.
    pub async fn execute(&self, script: &str, args: &[Value]) -> Value {
        self.session
            .post("executing a script", "/execute/sync", json!({"script": script, "args": args}))
            .await
    }

    /// Writes a PNG of the viewport to `path`.
    pub async fn screenshot_png(&self, path: impl AsRef<Path>) {
        let path = path.as_ref();
        let v = self.session.get("taking a screenshot", "/screenshot").await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("browser: the screenshot is not base64: {e}"));
        std::fs::write(path, png).unwrap_or_else(|e| panic!("browser: writing {}: {e}", path.display()));
    }

    /// Writes a PNG of the whole page (up to [`FULL_PAGE_MAX_HEIGHT`] pixels of window): grows the window to
    /// the document's scroll height, takes the screenshot, then restores the window size.
    pub async fn full_page_screenshot_png(&self, path: impl AsRef<Path>) {
        let (width, height) = self.window_size().await;
        let v = self
            .execute(
                "const d = document.documentElement, b = document.body;\
                 return [Math.max(d.scrollHeight, b ? b.scrollHeight : 0), window.outerHeight - window.innerHeight];",
                &[],
            )
            .await;
        let scroll = v[0].as_u64().unwrap_or(u64::from(height));
        let frame = v[1].as_u64().unwrap_or(0);
        let target = (scroll + frame).min(u64::from(FULL_PAGE_MAX_HEIGHT)).max(u64::from(height)) as u32;
        self.set_window_size(width, target).await;
        self.screenshot_png(path).await;
        self.set_window_size(width, height).await;
    }

    /// Resizes the window (outer size; in headless Chromium the viewport is the same size).
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.session
            .post("resizing the window", "/window/rect", json!({"width": width, "height": height}))
            .await;
    }

    /// The window's (width, height).
    pub async fn window_size(&self) -> (u32, u32) {
        let v = self.session.get("reading the window size", "/window/rect").await;
        let dim = |k: &str| v[k].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
        (dim("width"), dim("height"))
    }

    /// Where this browser saves downloads (removed with the browser).
    pub fn downloads_dir(&self) -> &Path {
        &self.downloads
    }

    /// Waits (up to [`DOWNLOAD_WAIT`]) for a completed download whose file name ends with `suffix` and that
    /// no earlier call returned, while no download is in progress; returns its path. Chromium names a second
    /// download of `a.csv` `a (1).csv`.
    pub async fn wait_for_download(&self, suffix: &str) -> PathBuf {
        let deadline = Instant::now() + DOWNLOAD_WAIT;
        loop {
            let mut names = Vec::new();
            let mut found: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
            let mut partial = false;
            if let Ok(entries) = std::fs::read_dir(&self.downloads) {
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let path = entry.path();
                    if name.ends_with(".crdownload") {
                        partial = true;
                    } else if name.ends_with(suffix)
                        && path.is_file()
                        && !self.taken.lock().unwrap_or_else(|p| p.into_inner()).contains(&path)
                    {
                        let modified = entry.metadata().and_then(|m| m.modified()).ok();
                        found.push((modified.unwrap_or(std::time::UNIX_EPOCH), path));
                    }
                    names.push(name);
                }
            }
            if !partial && let Some((_, path)) = found.into_iter().min() {
                self.taken.lock().unwrap_or_else(|p| p.into_inner()).insert(path.clone());
                return path;
            }
            if Instant::now() >= deadline {
                panic!(
                    "browser: no completed download ending in {suffix:?} in {} after {DOWNLOAD_WAIT:?}; it holds {names:?}",
                    self.downloads.display()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Accepts the open `alert`/`confirm`/`prompt`.
    pub async fn accept_alert(&self) {
        self.session.post("accepting the dialog", "/alert/accept", json!({})).await;
    }

    /// Dismisses (cancels) the open dialog.
    pub async fn dismiss_alert(&self) {
        self.session.post("dismissing the dialog", "/alert/dismiss", json!({})).await;
    }

    /// The open dialog's message.
    pub async fn alert_text(&self) -> String {
        self.session.get("reading the dialog", "/alert/text").await.as_str().unwrap_or_default().to_string()
    }
}

/// Starts chromedriver on a free port, retrying with another when the port was taken meanwhile; returns the
/// process (leader of its own process group, which Chromium joins), the port and its log file.
async fn start_driver(bin: &Path, dir: &Path, tmp: &Path, http: &reqwest::Client) -> (Child, u16, PathBuf) {
    use std::os::unix::process::CommandExt;
    let mut failures = Vec::new();
    for _ in 0..PORT_ATTEMPTS {
        let port = free_port();
        let log = dir.join(format!("chromedriver-{port}.log"));
        let out = std::fs::File::create(&log)
            .unwrap_or_else(|e| panic!("browser: creating {}: {e}", log.display()));
        let err = out.try_clone().unwrap_or_else(|e| panic!("browser: {e}"));
        let mut child = Command::new(bin)
            .arg(format!("--port={port}"))
            .env("TMPDIR", tmp)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("browser: running {}: {e}", bin.display()));
        let status_url = format!("http://127.0.0.1:{port}/status");
        let deadline = Instant::now() + STARTUP;
        let outcome = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break Err(format!("chromedriver on port {port} exited ({status}): {}", log_tail(&log)));
            }
            // Our own process says it listens (so /status is not another test's chromedriver on this port).
            let started = std::fs::read_to_string(&log).is_ok_and(|l| l.contains("started successfully"));
            if started
                && let Ok(v) = request(http, reqwest::Method::GET, &status_url, None).await
                && v["ready"].as_bool() == Some(true)
            {
                break Ok(());
            }
            if Instant::now() >= deadline {
                kill_group(child.id());
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "browser: chromedriver on port {port} was not ready after {STARTUP:?}; log:\n{}",
                    log_tail(&log)
                );
            }
            tokio::time::sleep(POLL).await;
        };
        match outcome {
            Ok(()) => return (child, port, log),
            Err(why) => failures.push(why),
        }
    }
    panic!("browser: chromedriver did not start ({PORT_ATTEMPTS} ports tried):\n{}", failures.join("\n"))
}

fn capabilities(chromium: &Path, profile: &Path, downloads: &Path) -> Value {
    let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.push(format!("--window-size={},{}", WINDOW_SIZE.0, WINDOW_SIZE.1));
    json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "pageLoadStrategy": "normal",
        "timeouts": {"implicit": 0, "pageLoad": 30_000, "script": 30_000},
        "goog:chromeOptions": {
            "binary": chromium,
            "args": args,
            "prefs": {
                "download.default_directory": downloads,
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
            },
        },
    }}})
}

/// Kills chromedriver's process group (so Chromium too) and removes the directory once this process has
/// exited, should it exit without dropping the [`Browser`]. A killed test process can stay a zombie for a
/// while (here PID 1 reaps late), and `kill -0` succeeds on zombies: so the state is read from /proc.
fn spawn_watchdog(driver_pid: u32, dir: &Path) -> Option<Child> {
    use std::os::unix::process::CommandExt;
    let script = format!(
        "alive() {{ s=$(sed 's/.*) //' /proc/{pid}/stat 2>/dev/null) && [ \"${{s%% *}}\" != Z ]; }}; \
         while alive; do sleep 0.5; done; kill -KILL -{driver_pid} 2>/dev/null; sleep 0.5; \
         rm -rf '{dir}' 2>/dev/null || {{ sleep 1; rm -rf '{dir}'; }}",
        pid = std::process::id(),
        dir = dir.display(),
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .ok()
}

/// Ends the session over a plain blocking socket (no async runtime needed in `drop`), which closes Chromium.
fn delete_session_blocking(port: u16, session_id: &str) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else { return };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
    let req = format!(
        "DELETE /session/{session_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).is_err() {
        return;
    }
    // Read the response (the session is gone once it arrives): headers, then Content-Length bytes.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = s.read(&mut chunk) {
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                break;
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        delete_session_blocking(self.port, &self.session_id);
        // Whatever survived the session's end, chromedriver included (Chromium is in its process group).
        kill_group(self.driver.id());
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        if let Some(dir) = self.dir.take() {
            let path = dir.keep();
            for _ in 0..5 {
                if std::fs::remove_dir_all(&path).is_ok() || !path.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// An element of the page, found by a CSS selector. It goes stale when the page navigates or re-renders it.
#[derive(Clone)]
pub struct Element {
    session: Arc<Session>,
    id: String,
    selector: String,
}

impl fmt::Debug for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Element").field("selector", &self.selector).field("id", &self.id).finish()
    }
}

impl Element {
    fn path(&self, rest: &str) -> String {
        format!("/element/{}{rest}", self.id)
    }

    fn what(&self, verb: &str) -> String {
        format!("{verb} `{}`", self.selector)
    }

    /// This element as an argument for [`Browser::execute`].
    pub fn as_arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    /// The selector it was found by.
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// Clicks it (scrolled into view; fails if another element covers it). A click that navigates normally
    /// returns after the new page loaded, but use [`Browser::wait_for_url`] rather than rely on it.
    pub async fn click(&self) {
        self.session.post(&self.what("clicking"), &self.path("/click"), json!({})).await;
    }

    /// Types `text` into it (see [`keys`] for Enter and the like). On an `<input type=file>`, `text` is the
    /// absolute path of the file to upload.
    pub async fn send_keys(&self, text: &str) {
        self.session.post(&self.what("typing into"), &self.path("/value"), json!({"text": text})).await;
    }

    /// Empties an input or textarea.
    pub async fn clear(&self) {
        self.session.post(&self.what("clearing"), &self.path("/clear"), json!({})).await;
    }

    /// Its rendered text (as the user sees it: hidden parts excluded, whitespace collapsed).
    pub async fn text(&self) -> String {
        let v = self.session.get(&self.what("reading the text of"), &self.path("/text")).await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// An HTML attribute, as written in the markup (`None` when absent).
    pub async fn attr(&self, name: &str) -> Option<String> {
        let v = self
            .session
            .get(&self.what("reading an attribute of"), &self.path(&format!("/attribute/{name}")))
            .await;
        v.as_str().map(str::to_string)
    }

    /// A DOM property (its live state: an input's `value`, a checkbox's `checked`).
    pub async fn property(&self, name: &str) -> Value {
        self.session.get(&self.what("reading a property of"), &self.path(&format!("/property/{name}"))).await
    }

    /// Whether it is displayed.
    pub async fn displayed(&self) -> bool {
        let v = self.session.get(&self.what("checking the visibility of"), &self.path("/displayed")).await;
        v.as_bool().unwrap_or(false)
    }

    /// Displayed, with a stale element counting as not displayed (for polling).
    async fn displayed_or_stale(&self) -> bool {
        match self.session.call(reqwest::Method::GET, &self.path("/displayed"), None).await {
            Ok(v) => v.as_bool().unwrap_or(false),
            Err(e) if e.is_stale() => false,
            Err(e) => panic!("browser: checking the visibility of `{}` failed: {e}", self.selector),
        }
    }

    /// The first element matching `css` inside this one, polling like [`Browser::find`].
    pub async fn find(&self, css: &str) -> Element {
        self.session.find(Some(&self.id), css).await
    }

    /// Every element matching `css` inside this one now.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let ids = self.session.find_all(Some(&self.id), css).await;
        ids.into_iter()
            .map(|id| Element { session: Arc::clone(&self.session), id, selector: css.to_string() })
            .collect()
    }

    /// Selects the `<option>` of this `<select>` whose value is `value` (by clicking it, which fires `change`).
    pub async fn select_option_by_value(&self, value: &str) {
        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\a ");
        self.find(&format!("option[value=\"{escaped}\"]")).await.click().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const CSV: &[u8] = b"id,name\n1,widget\n2,gadget \xe2\x82\xac\n";
    const MARKER: &str = "UPLOAD-MARKER-7f3a";

    const INDEX: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Harness home</title></head>
<body>
<h1 id="heading">Harness home</h1>
<a id="next" href="/next">Next page</a>
<a id="csv" href="/items.csv">Download CSV</a>
<form id="form" method="post" action="/upload" enctype="multipart/form-data">
  <input id="name" name="name" type="text">
  <select id="pick" name="pick"><option value="a">A</option><option value="b">B</option></select>
  <input id="file" name="file" type="file">
  <button id="send" type="submit">Send</button>
</form>
<p id="late" style="display:none"></p>
<script>
  document.getElementById('pick').addEventListener('change', e => { document.title = 'picked ' + e.target.value; });
  setTimeout(() => { const p = document.getElementById('late'); p.textContent = 'arrived'; p.style.display = ''; }, 300);
</script>
<div style="height:2400px"></div>
<p id="bottom">bottom</p>
</body></html>"#;

    const NEXT: &str = "<!doctype html><html><head><title>Next</title></head><body><h1 id=\"heading\">Next page</h1></body></html>";

    /// A minimal HTTP/1.1 server for the harness's own test: one request per connection.
    async fn serve() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binding the test server");
        let addr = listener.local_addr().expect("test server address");
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(respond(stream));
            }
        });
        format!("http://{addr}")
    }

    async fn respond(mut stream: tokio::net::TcpStream) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut request_line = head.lines().next().unwrap_or_default().split(' ');
        let (method, target) =
            (request_line.next().unwrap_or_default(), request_line.next().unwrap_or_default());
        let len = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
            })
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = &buf[head_end..head_end + len];
        let (status, headers, content): (&str, &str, Vec<u8>) = match (method, target) {
            ("GET", "/") => ("200 OK", "Content-Type: text/html; charset=utf-8\r\n", INDEX.into()),
            ("GET", "/next") => ("200 OK", "Content-Type: text/html; charset=utf-8\r\n", NEXT.into()),
            ("GET", "/items.csv") => (
                "200 OK",
                "Content-Type: text/csv; charset=utf-8\r\nContent-Disposition: attachment; filename=\"items.csv\"\r\n",
                CSV.to_vec(),
            ),
            ("POST", "/upload") => {
                let text = String::from_utf8_lossy(body);
                let name = text
                    .split_once("name=\"name\"\r\n\r\n")
                    .and_then(|(_, rest)| rest.split_once("\r\n"))
                    .map(|(v, _)| v.to_string())
                    .unwrap_or_default();
                let file = if text.contains("filename=\"upload.txt\"") && text.contains(MARKER) {
                    "ok"
                } else {
                    "missing"
                };
                let page = format!(
                    "<!doctype html><html><head><title>Uploaded</title></head><body>\
                     <p id=\"result\">name={name}; file={file}; bytes={len}</p></body></html>"
                );
                ("200 OK", "Content-Type: text/html; charset=utf-8\r\n", page.into_bytes())
            }
            _ => ("404 Not Found", "Content-Type: text/plain\r\n", b"not found".to_vec()),
        };
        let mut out = format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
            content.len()
        )
        .into_bytes();
        out.extend_from_slice(&content);
        let _ = stream.write_all(&out).await;
        let _ = stream.shutdown().await;
    }

    /// (width, height) from a PNG's IHDR chunk.
    fn png_size(png: &[u8]) -> (u32, u32) {
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG: {:?}", &png[..png.len().min(8)]);
        let be = |i: usize| u32::from_be_bytes([png[i], png[i + 1], png[i + 2], png[i + 3]]);
        (be(16), be(20))
    }

    fn gone_or_zombie(pid: u32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            // "pid (comm) S ...": the state follows the last ')'.
            Ok(stat) => {
                stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn drives_a_real_page() {
        let Some(b) = browser().await else { return };
        let base = serve().await;
        let scratch = tempfile::tempdir().expect("scratch directory");

        b.goto(&format!("{base}/")).await;
        assert_eq!(b.title().await, "Harness home");
        assert_eq!(b.find("#heading").await.text().await, "Harness home");
        assert_eq!(b.window_size().await, WINDOW_SIZE);
        assert_eq!(b.find_all("a").await.len(), 2);
        assert!(b.try_find("#nothing-here").await.is_none());
        assert!(b.source().await.contains("id=\"csv\""));

        // Waiting for something a script shows later.
        assert_eq!(b.wait_for("#late").await.text().await, "arrived");
        b.wait_for_text("p", "arrived").await;

        // Attributes, properties, scripts with arguments.
        let next = b.find("#next").await;
        assert_eq!(next.attr("href").await.as_deref(), Some("/next"));
        assert_eq!(next.attr("data-missing").await, None);
        assert_eq!(next.property("href").await, json!(format!("{base}/next")));
        assert_eq!(b.execute("return arguments[0] + arguments[1];", &[json!(2), json!(3)]).await, json!(5));
        assert_eq!(b.execute("return arguments[0].id;", &[next.as_arg()]).await, json!("next"));
        let form = b.find("#form").await;
        assert_eq!(form.find("button").await.text().await, "Send");
        assert_eq!(form.find_all("input").await.len(), 2);

        // Typing, clearing, selecting.
        let name = b.find("#name").await;
        name.send_keys("widget 42").await;
        assert_eq!(name.property("value").await, json!("widget 42"));
        name.clear().await;
        assert_eq!(name.property("value").await, json!(""));
        name.send_keys("gizmo").await;
        let pick = b.find("#pick").await;
        pick.select_option_by_value("b").await;
        assert_eq!(pick.property("value").await, json!("b"));
        assert_eq!(b.title().await, "picked b", "selecting fires change");

        // Screenshots: the viewport, then the whole (2400 px+) page, after which the window is as before.
        let shot = scratch.path().join("viewport.png");
        b.screenshot_png(&shot).await;
        let viewport = b.execute("return [window.innerWidth, window.innerHeight];", &[]).await;
        let (w, h) = png_size(&std::fs::read(&shot).expect("reading the screenshot"));
        assert_eq!(json!([w, h]), viewport, "the screenshot is the viewport");
        let full = scratch.path().join("full.png");
        b.full_page_screenshot_png(&full).await;
        let (fw, fh) = png_size(&std::fs::read(&full).expect("reading the full-page screenshot"));
        assert_eq!(fw, w);
        assert!(fh > 2400 && fh <= FULL_PAGE_MAX_HEIGHT, "full page height {fh}");
        assert_eq!(b.window_size().await, WINDOW_SIZE);

        // A download (Content-Disposition: attachment), twice: the second is a new file.
        b.find("#csv").await.click().await;
        let first = b.wait_for_download(".csv").await;
        assert_eq!(first.file_name().and_then(|n| n.to_str()), Some("items.csv"));
        assert_eq!(std::fs::read(&first).expect("reading the download"), CSV);
        assert!(first.starts_with(b.downloads_dir()));
        b.find("#csv").await.click().await;
        let second = b.wait_for_download(".csv").await;
        assert_ne!(first, second);
        assert_eq!(std::fs::read(&second).expect("reading the second download"), CSV);

        // An upload: the file input takes an absolute path; the server sees the file's bytes.
        let upload = scratch.path().join("upload.txt");
        std::fs::write(&upload, format!("hello {MARKER}\n")).expect("writing the upload");
        let file = b.find("#file").await;
        file.send_keys(upload.to_str().expect("utf-8 path")).await;
        let chosen = file.property("value").await;
        assert!(chosen.as_str().is_some_and(|v| v.ends_with("upload.txt")), "file input value {chosen}");
        b.find("#send").await.click().await;
        b.wait_for_url("/upload").await;
        let result = b.wait_for_text("#result", "file=ok").await.text().await;
        assert!(result.starts_with("name=gizmo; file=ok"), "{result}");

        // A link: the URL changes.
        b.back().await;
        b.wait_for_url(&format!("{base}/")).await;
        b.find("#next").await.click().await;
        assert_eq!(b.current_url().await, format!("{base}/next"), "a navigating click waits for the page");
        assert_eq!(b.find("#heading").await.text().await, "Next page");

        // Dropping it ends everything it started.
        let dir = b.dir.as_ref().map(|d| d.path().to_path_buf()).expect("browser directory");
        let driver = b.driver.id();
        let chromium = b.chromium_pid.expect("chromedriver reports Chromium's pid");
        drop(b);
        assert!(!dir.exists(), "{} is left behind", dir.display());
        assert!(gone_or_zombie(driver), "chromedriver {driver} still runs");
        assert!(gone_or_zombie(chromium), "chromium {chromium} still runs");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_missing_element_names_the_selector_and_the_page() {
        let base = serve().await;
        let url = format!("{base}/next");
        let task = tokio::spawn({
            let url = url.clone();
            async move {
                let Some(b) = browser().await else { return };
                b.set_wait(Duration::from_millis(300));
                b.goto(&url).await;
                b.find("#no-such-thing").await;
            }
        });
        let Err(e) = task.await else { return }; // no browser: skipped
        let message = e.into_panic();
        let message = message
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| message.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        assert!(message.contains("`#no-such-thing`"), "{message}");
        assert!(message.contains(&url), "{message}");
        assert!(message.contains("<h1 id=\"heading\">Next page</h1>"), "{message}");
    }
}
