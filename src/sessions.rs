//! Signed-cookie sessions (feature `sessions`): a typed map kept in a cookie the client
//! cannot forge, as Flask's default session does.
//!
//! [`SessionConfig`] holds the keys and cookie settings; [`SessionConfig::session`] takes
//! the session cookie from a [`Request`]; [`Session::save`] writes it back to a
//! [`Response`]. With [`web::App`](crate::web::App) the session is saved for you after
//! every view (and error page), so a change cannot be forgotten.
//!
//! Safe by default:
//! - the cookie is only verified and parsed when the session is first *read*, and
//!   [`Session::save`] adds `Vary: Cookie` whenever it was read, so a shared cache never
//!   serves one user's page to another;
//! - a `Set-Cookie` is sent only when the session changed, so other responses stay
//!   cacheable;
//! - the cookie's name is inside the signed (or encrypted) payload: a value made under
//!   one cookie name is refused under another, even with the same key;
//! - expiry ([`SessionConfig::max_age`]) is checked against the time signed into the
//!   cookie, on a clock that tests can replace ([`SessionConfig::clock`]).
//!
//! Values are JSON, signed with HMAC-SHA256 (the `cookie` crate's signed jar) or, with
//! [`SessionConfig::private`], encrypted and authenticated with AES-256-GCM (its private
//! jar). A tampered, expired or unreadable cookie gives an empty session, never an error.
//! Several keys may be given for rotation: the first signs, every one verifies.
//!
//! This module does not store anything server-side; a session is limited by what browsers
//! keep in one cookie (about 4 KB). See `docs/sessions.md`.
//!
//! # Examples
//!
//! ```
//! use zeug::sessions::SessionConfig;
//! use zeug::{test::Client, Environ, Request, Response};
//!
//! let config = SessionConfig::new([b"a secret of at least thirty-two bytes!".as_slice()]);
//! let app = move |environ: Environ| {
//!     let request = Request::new(environ);
//!     let mut session = config.session(&request);
//!     let visits = session.get::<u32>("visits").unwrap_or(0) + 1;
//!     session.insert("visits", visits);
//!     let mut response = Response::new(format!("visit {visits}"));
//!     session.save(&mut response);
//!     response
//! };
//! let client = Client::new(app);
//! assert_eq!(client.get("/").send().text(), "visit 1");
//! assert_eq!(client.get("/").send().text(), "visit 2");
//! ```

use std::cell::{Cell, OnceCell};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cookie::{Cookie, CookieJar, Key};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::wrappers::{CookieOptions, SameSite};
use crate::{Request, Response};

/// The shortest secret accepted, in bytes (keys are expanded with HKDF from it).
pub const MIN_SECRET_LEN: usize = 32;

/// The default cookie name, as Flask's.
pub const DEFAULT_COOKIE_NAME: &str = "session";

/// Cookies longer than this are refused by some browsers; saving one logs a warning.
pub const MAX_COOKIE_SIZE: usize = 4093;

/// Why a [`SessionConfig`] could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionConfigError {
    /// No key was given.
    NoKeys,
    /// A key is shorter than [`MIN_SECRET_LEN`] bytes; `index` is its position.
    KeyTooShort {
        /// Which key (0 is the signing key).
        index: usize,
        /// Its length in bytes.
        len: usize,
    },
}

impl fmt::Display for SessionConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionConfigError::NoKeys => f.write_str("a session needs at least one secret key"),
            SessionConfigError::KeyTooShort { index, len } => write!(
                f,
                "session key {index} is {len} bytes; secrets must be at least {MIN_SECRET_LEN} bytes (generate one with `openssl rand -base64 48`)"
            ),
        }
    }
}

impl std::error::Error for SessionConfigError {}

/// Where a session's "now" comes from: the system clock unless a test sets another.
type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

#[derive(Clone)]
struct Inner {
    keys: Vec<Key>,
    cookie_name: String,
    options: CookieOptions,
    private: bool,
    max_age: Option<Duration>,
    clock: Clock,
}

/// Keys and cookie settings for sessions; cheap to clone and share between threads.
///
/// Defaults: cookie `session`, path `/`, `HttpOnly`, `SameSite=Lax`, a browser-session
/// cookie (no expiry), signed (readable by the client but not forgeable).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use zeug::sessions::SessionConfig;
/// use zeug::wrappers::CookieOptions;
///
/// let config = SessionConfig::new([
///     "new secret, at least thirty-two bytes long".as_bytes(),
///     "old secret, still accepted while cookies age out".as_bytes(),
/// ])
/// .cookie_name("sid")
/// .max_age(Duration::from_secs(7 * 24 * 3600))
/// .private(true);
/// assert_eq!(config.name(), "sid");
/// ```
#[derive(Clone)]
pub struct SessionConfig {
    inner: Arc<Inner>,
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("keys", &self.inner.keys.len())
            .field("cookie_name", &self.inner.cookie_name)
            .field("private", &self.inner.private)
            .field("max_age", &self.inner.max_age)
            .finish_non_exhaustive()
    }
}

impl SessionConfig {
    /// A configuration with these secrets: the first signs new cookies, all verify.
    ///
    /// # Panics
    ///
    /// With no key or a key shorter than [`MIN_SECRET_LEN`] bytes (use
    /// [`try_new`](Self::try_new) to handle that as a value).
    pub fn new<I, K>(secrets: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: AsRef<[u8]>,
    {
        Self::try_new(secrets).unwrap_or_else(|e| panic!("invalid session configuration: {e}"))
    }

    /// Like [`new`](Self::new), returning an error instead of panicking.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::sessions::{SessionConfig, SessionConfigError};
    /// assert_eq!(
    ///     SessionConfig::try_new(["short"]).unwrap_err(),
    ///     SessionConfigError::KeyTooShort { index: 0, len: 5 }
    /// );
    /// ```
    pub fn try_new<I, K>(secrets: I) -> Result<Self, SessionConfigError>
    where
        I: IntoIterator<Item = K>,
        K: AsRef<[u8]>,
    {
        let mut keys = Vec::new();
        for (index, secret) in secrets.into_iter().enumerate() {
            let secret = secret.as_ref();
            if secret.len() < MIN_SECRET_LEN {
                return Err(SessionConfigError::KeyTooShort {
                    index,
                    len: secret.len(),
                });
            }
            keys.push(Key::derive_from(secret));
        }
        if keys.is_empty() {
            return Err(SessionConfigError::NoKeys);
        }
        Ok(SessionConfig {
            inner: Arc::new(Inner {
                keys,
                cookie_name: DEFAULT_COOKIE_NAME.to_owned(),
                options: CookieOptions::new()
                    .http_only(true)
                    .same_site(SameSite::Lax),
                private: false,
                max_age: None,
                clock: Arc::new(SystemTime::now),
            }),
        })
    }

    fn edit(mut self, change: impl FnOnce(&mut Inner)) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => change(inner),
            None => {
                let mut inner = Inner::clone(&self.inner);
                change(&mut inner);
                self.inner = Arc::new(inner);
            }
        }
        self
    }

    /// The cookie's name (default `session`).
    pub fn cookie_name(self, name: &str) -> Self {
        let name = name.to_owned();
        self.edit(|i| i.cookie_name = name)
    }

    /// The name of the session cookie.
    pub fn name(&self) -> &str {
        &self.inner.cookie_name
    }

    /// The cookie attributes (path, domain, `Secure`, `SameSite`...). `max_age` here is
    /// overridden by [`max_age`](Self::max_age) when that is set.
    pub fn cookie_options(self, options: CookieOptions) -> Self {
        self.edit(|i| i.options = options)
    }

    /// Encrypt the session (private jar) instead of only signing it, so the client cannot
    /// read it either.
    pub fn private(self, private: bool) -> Self {
        self.edit(|i| i.private = private)
    }

    /// How long a session lives: the cookie gets `Max-Age`, and a cookie older than this
    /// (by the time signed into it) is treated as empty even if the client kept it.
    pub fn max_age(self, max_age: Duration) -> Self {
        self.edit(|i| i.max_age = Some(max_age))
    }

    /// Where "now" comes from when sealing cookies and checking their age (default: the
    /// system clock). Tests use it to step past [`max_age`](Self::max_age) without sleeping.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::time::{Duration, SystemTime};
    /// use zeug::sessions::SessionConfig;
    ///
    /// let offset = Arc::new(AtomicU64::new(0));
    /// let clock = offset.clone();
    /// let config = SessionConfig::new(["0123456789abcdef0123456789abcdef"])
    ///     .max_age(Duration::from_secs(60))
    ///     .clock(move || SystemTime::now() + Duration::from_secs(clock.load(Ordering::Relaxed)));
    /// offset.store(61, Ordering::Relaxed); // a minute and a second later
    /// ```
    pub fn clock(self, now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        let clock: Clock = Arc::new(now);
        self.edit(|i| i.clock = clock)
    }

    /// The session carried by `request`. Nothing is verified or parsed until the session
    /// is first read; then a missing, tampered, expired or malformed cookie reads as an
    /// empty session.
    pub fn session(&self, request: &Request) -> Session {
        Session {
            config: self.clone(),
            raw: request
                .cookies()
                .get(&self.inner.cookie_name)
                .map(str::to_owned),
            data: OnceCell::new(),
            modified: false,
            saved: Cell::new(false),
        }
    }

    /// Verifies (or decrypts) a cookie value with any key and checks its name and age.
    fn open(&self, raw: &str) -> Option<Map<String, Value>> {
        let jar = CookieJar::new();
        let name = self.inner.cookie_name.clone();
        let cookie = Cookie::new(name, raw.to_owned());
        let plain = self.inner.keys.iter().find_map(|key| {
            if self.inner.private {
                jar.private(key).decrypt(cookie.clone())
            } else {
                jar.signed(key).verify(cookie.clone())
            }
        })?;
        let payload: Payload = serde_json::from_str(plain.value()).ok()?;
        // The signed jar's MAC covers only the value: the name inside it binds the two.
        if payload.n != self.inner.cookie_name {
            return None;
        }
        if let Some(max_age) = self.inner.max_age {
            let issued = UNIX_EPOCH + Duration::from_secs(payload.t);
            let age = (self.inner.clock)()
                .duration_since(issued)
                .unwrap_or_default();
            if age > max_age {
                return None;
            }
        }
        Some(payload.d)
    }

    /// Signs (or encrypts) a session into the cookie to send.
    fn seal(&self, data: &Map<String, Value>) -> Cookie<'static> {
        let now = (self.inner.clock)()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let payload = serde_json::to_string(&PayloadRef {
            n: &self.inner.cookie_name,
            t: now,
            d: data,
        })
        .expect("a JSON map always serializes");
        let mut options = self.inner.options.clone();
        if let Some(age) = self.inner.max_age {
            options = options.max_age(age);
        }
        let cookie = options
            .apply(Cookie::build((self.inner.cookie_name.clone(), payload)))
            .build();
        let mut jar = CookieJar::new();
        let key = &self.inner.keys[0];
        if self.inner.private {
            jar.private_mut(key).add(cookie);
        } else {
            jar.signed_mut(key).add(cookie);
        }
        jar.get(&self.inner.cookie_name)
            .cloned()
            .expect("the cookie was just added")
    }
}

/// What is signed into the cookie: its name, the time it was issued and the data.
#[derive(serde::Deserialize)]
struct Payload {
    n: String,
    t: u64,
    d: Map<String, Value>,
}

#[derive(Serialize)]
struct PayloadRef<'a> {
    n: &'a str,
    t: u64,
    d: &'a Map<String, Value>,
}

/// One request's session: a map from names to JSON values, read and written with types.
///
/// # Examples
///
/// ```
/// use zeug::sessions::SessionConfig;
/// use zeug::{test::EnvironBuilder, Request, Response};
///
/// let config = SessionConfig::new(["0123456789abcdef0123456789abcdef"]);
/// let request = Request::new(EnvironBuilder::new("GET", "/").build());
/// let mut session = config.session(&request);
/// assert!(session.is_empty());
/// session.insert("user_id", 42u64);
/// session.insert("roles", vec!["admin"]);
/// assert_eq!(session.get::<u64>("user_id"), Some(42));
/// assert_eq!(session.get::<Vec<String>>("roles").unwrap(), ["admin"]);
/// assert_eq!(session.get::<String>("user_id"), None); // wrong type
/// let mut response = Response::new("ok");
/// session.save(&mut response);
/// assert!(response.headers().contains_key("set-cookie"));
/// ```
pub struct Session {
    config: SessionConfig,
    /// The cookie as the request carried it, opened on first read.
    raw: Option<String>,
    data: OnceCell<Map<String, Value>>,
    modified: bool,
    /// Whether `save` ran since the last change, for the warning on drop.
    saved: Cell<bool>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("data", &self.data.get())
            .field("modified", &self.modified)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The data, opening the cookie on first use (which makes the response vary on it).
    fn data(&self) -> &Map<String, Value> {
        self.data.get_or_init(|| {
            self.raw
                .as_deref()
                .and_then(|raw| self.config.open(raw))
                .unwrap_or_default()
        })
    }

    fn data_mut(&mut self) -> &mut Map<String, Value> {
        self.data();
        self.data.get_mut().expect("initialised just above")
    }

    /// The value under `key` as `T`; `None` when missing or not a `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        T::deserialize(self.data().get(key)?).ok()
    }

    /// The raw JSON value under `key`.
    pub fn get_value(&self, key: &str) -> Option<&Value> {
        self.data().get(key)
    }

    /// Stores `value` under `key` (marks the session modified).
    ///
    /// # Panics
    ///
    /// When `value` cannot be represented as JSON (a map with non-string keys, a failing
    /// `Serialize` impl): a programming error.
    pub fn insert<T: Serialize>(&mut self, key: &str, value: T) {
        let value = serde_json::to_value(value)
            .unwrap_or_else(|e| panic!("session value for {key:?} is not JSON: {e}"));
        self.data_mut().insert(key.to_owned(), value);
        self.touch();
    }

    /// Removes `key`, returning its raw value (marks the session modified if it was there).
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let old = self.data_mut().remove(key);
        if old.is_some() {
            self.touch();
        }
        old
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.data().contains_key(key)
    }

    /// The keys set.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.data().keys().map(String::as_str)
    }

    /// Removes everything (logging out); saving then deletes the cookie.
    pub fn clear(&mut self) {
        let data = self.data_mut();
        let had_data = !data.is_empty();
        data.clear();
        if had_data || self.raw.is_some() {
            self.touch();
        }
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.data().is_empty()
    }

    /// Records a change (to be saved).
    fn touch(&mut self) {
        self.modified = true;
        self.saved.set(false);
    }

    /// Drops the session on purpose, changes and all (after a panicking view).
    pub(crate) fn discard(self) {
        self.saved.set(true);
    }

    /// Whether the session was read (or written) during this request: then the response
    /// depends on the cookie, and [`save`](Self::save) adds `Vary: Cookie`.
    pub fn accessed(&self) -> bool {
        self.data.get().is_some()
    }

    /// Whether the session changed since it was read.
    pub fn is_modified(&self) -> bool {
        self.modified
    }

    /// Marks the session changed, so [`save`](Self::save) re-sends it (to refresh its
    /// expiry, or after changing a value in place).
    pub fn mark_modified(&mut self) {
        self.touch();
    }

    /// Writes the session to `response`: `Vary: Cookie` if it was read, and if it changed a
    /// signed (or encrypted) cookie, or a deletion when it became empty. A session nobody
    /// looked at adds nothing, so such responses stay cacheable by shared caches.
    ///
    /// [`web::App`](crate::web::App) calls this after every view; call it yourself only
    /// when you build the app from the parts.
    pub fn save(&self, response: &mut Response) {
        self.saved.set(true);
        if self.accessed() {
            response.add_vary("Cookie");
        }
        if !self.modified {
            return;
        }
        response.add_vary("Cookie");
        let data = self.data();
        if data.is_empty() {
            if self.raw.is_some() {
                response.delete_cookie_with(
                    &self.config.inner.cookie_name,
                    self.config.inner.options.clone(),
                );
            }
            return;
        }
        let cookie = self.config.seal(data);
        let size = cookie.encoded().to_string().len();
        if size > MAX_COOKIE_SIZE {
            log::warn!(
                target: "zeug",
                "the session cookie is {size} bytes, larger than browsers keep ({MAX_COOKIE_SIZE}); it may be dropped"
            );
        }
        // The domain and path come from validated `CookieOptions`, so this cannot fail.
        if let Err(e) = response.add_cookie(&cookie) {
            log::error!(target: "zeug", "session cookie not set: {e}");
        }
    }
}

impl Drop for Session {
    /// A changed session dropped without [`Session::save`] is a lost change: say so.
    fn drop(&mut self) {
        if self.modified && !self.saved.get() && !std::thread::panicking() {
            log::warn!(
                target: "zeug",
                "a modified session was dropped without Session::save; the change is lost \
                 (web::App saves sessions for you)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test::EnvironBuilder;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn request_with(cookie: &str) -> Request {
        Request::new(
            EnvironBuilder::new("GET", "/")
                .header("cookie", cookie)
                .build(),
        )
    }

    fn cookie_pair(res: &Response) -> String {
        let h = res.headers()["set-cookie"].to_str().unwrap();
        h.split(';').next().unwrap().to_owned()
    }

    #[test]
    fn round_trip_and_tamper() {
        let config = SessionConfig::new([KEY]);
        let mut s = config.session(&request_with(""));
        s.insert("n", 1);
        let mut res = Response::new("");
        s.save(&mut res);
        let pair = cookie_pair(&res);
        assert_eq!(
            config.session(&request_with(&pair)).get::<i32>("n"),
            Some(1)
        );
        let tampered = pair.replace(r#"\"n\":1"#, r#"\"n\":2"#);
        assert_ne!(tampered, pair);
        assert!(config.session(&request_with(&tampered)).is_empty());
        for junk in ["session=", "session=%ff%fe", "session=\"\\", "session=abc"] {
            assert!(config.session(&request_with(junk)).is_empty());
        }
    }

    #[test]
    fn unchanged_sessions_write_nothing() {
        let config = SessionConfig::new([KEY]);
        let s = config.session(&request_with(""));
        let mut res = Response::new("");
        s.save(&mut res);
        assert!(!res.headers().contains_key("set-cookie"));
    }

    #[test]
    fn config_errors() {
        assert_eq!(
            SessionConfig::try_new(Vec::<&str>::new()).unwrap_err(),
            SessionConfigError::NoKeys
        );
        assert!(SessionConfig::try_new([KEY, "x"]).is_err());
    }
}
