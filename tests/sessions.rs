//! Signed-cookie sessions through the test client: round trips, writes only on change,
//! `Vary: Cookie` on read, names bound into the signature, tampering, expiry on an injected
//! clock, key rotation and private (encrypted) cookies.
#![cfg(feature = "sessions")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use zeug::sessions::SessionConfig;
use zeug::test::Client;
use zeug::{Environ, Request, Response};

const NEW_KEY: &str = "the new secret key, thirty-two bytes or more";
const OLD_KEY: &str = "the old secret key, thirty-two bytes or more";

/// `/login?user=x` stores a user, `/logout` clears, `/count` counts, `/static` never
/// looks at the session, anything else reports the user.
fn app(config: SessionConfig) -> impl Fn(Environ) -> Response + Send + Sync + 'static {
    move |environ: Environ| {
        let request = Request::new(environ);
        let mut session = config.session(&request);
        let mut response = match request.path() {
            "/login" => {
                let user = request.args().get("user").unwrap_or("anon").to_owned();
                session.insert("user", &user);
                session.insert("roles", ["reader", "writer"]);
                Response::new(format!("hello {user}"))
            }
            "/logout" => {
                session.clear();
                Response::new("bye")
            }
            "/static" => Response::new("the same for everyone"),
            "/count" => {
                let n = session.get::<u64>("n").unwrap_or(0) + 1;
                session.insert("n", n);
                Response::new(n.to_string())
            }
            _ => Response::new(
                session
                    .get::<String>("user")
                    .unwrap_or_else(|| "nobody".into()),
            ),
        };
        session.save(&mut response);
        response
    }
}

#[test]
fn round_trip_and_typed_values() {
    let client = Client::new(app(SessionConfig::new([NEW_KEY])));
    assert_eq!(client.get("/").send().text(), "nobody");
    let res = client.get("/login?user=ann").send();
    let header = res.header("set-cookie").unwrap();
    assert!(header.starts_with("session="));
    assert!(header.contains("HttpOnly") && header.contains("SameSite=Lax"));
    assert_eq!(res.header("vary"), Some("Cookie"));
    assert_eq!(client.get("/").send().text(), "ann");
    assert_eq!(client.get("/count").send().text(), "1");
    assert_eq!(client.get("/count").send().text(), "2");
}

#[test]
fn unchanged_sessions_send_no_cookie() {
    let client = Client::new(app(SessionConfig::new([NEW_KEY])));
    client.get("/login?user=ann").send();
    let res = client.get("/").send();
    assert!(res.header("set-cookie").is_none());
}

#[test]
fn clearing_deletes_the_cookie() {
    let client = Client::new(app(SessionConfig::new([NEW_KEY])));
    client.get("/login?user=ann").send();
    let res = client.get("/logout").send();
    assert!(res.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert!(client.get_cookie("session").is_none());
    assert_eq!(client.get("/").send().text(), "nobody");
}

#[test]
fn tampered_cookies_give_an_empty_session() {
    let client = Client::new(app(SessionConfig::new([NEW_KEY])));
    client.get("/login?user=ann").send();
    let value = client.get_cookie("session").unwrap();
    assert!(value.contains("\"user\":\"ann\""));
    client.set_cookie("session", &value.replace("ann", "root"));
    let res = client.get("/").send();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "nobody");
    for junk in ["", "x", "%%%", "{\"d\":{}}", &"A".repeat(5000)] {
        client.set_cookie("session", junk);
        assert_eq!(client.get("/").send().text(), "nobody", "{junk:?}");
    }
}

#[test]
fn keys_rotate() {
    let old = Client::new(app(SessionConfig::new([OLD_KEY])));
    old.get("/login?user=ann").send();
    let cookie = old.get_cookie("session").unwrap();

    // The new deployment signs with the new key and still accepts the old one.
    let rotated = Client::new(app(SessionConfig::new([NEW_KEY, OLD_KEY])));
    rotated.set_cookie("session", &cookie);
    assert_eq!(rotated.get("/").send().text(), "ann");
    // Once re-saved, the cookie is signed with the new key only.
    rotated.get("/count").send();
    let resigned = rotated.get_cookie("session").unwrap();
    let new_only = Client::new(app(SessionConfig::new([NEW_KEY])));
    new_only.set_cookie("session", &resigned);
    assert_eq!(new_only.get("/").send().text(), "ann");
    // A deployment that dropped the old key refuses old cookies.
    new_only.set_cookie("session", &cookie);
    assert_eq!(new_only.get("/").send().text(), "nobody");
}

#[test]
fn expired_sessions_are_empty() {
    // A clock the test moves forward, so expiry needs no sleeping.
    let elapsed = Arc::new(AtomicU64::new(0));
    let start = SystemTime::now();
    let clock = elapsed.clone();
    let config = SessionConfig::new([NEW_KEY])
        .max_age(Duration::from_secs(60))
        .clock(move || start + Duration::from_secs(clock.load(Ordering::SeqCst)));
    let client = Client::new(app(config));
    let res = client.get("/login?user=ann").send();
    assert!(res.header("set-cookie").unwrap().contains("Max-Age=60"));
    let cookie = client.get_cookie("session").unwrap();
    elapsed.store(59, Ordering::SeqCst);
    assert_eq!(client.get("/").send().text(), "ann");
    elapsed.store(61, Ordering::SeqCst);
    // Even a client that kept the cookie past its Max-Age gets an empty session.
    client.set_cookie("session", &cookie);
    assert_eq!(client.get("/").send().text(), "nobody");
}

#[test]
fn reading_the_session_varies_on_cookie() {
    let client = Client::new(app(SessionConfig::new([NEW_KEY])));
    client.get("/login?user=ann").send();
    // A page that shows the user depends on the cookie, though it changed nothing.
    let res = client.get("/").send();
    assert_eq!(res.text(), "ann");
    assert_eq!(res.header("vary"), Some("Cookie"));
    assert!(res.header("set-cookie").is_none());
    // Reading an absent session is reading too: "nobody" is for cookie-less clients only.
    let fresh = Client::new(app(SessionConfig::new([NEW_KEY])));
    assert_eq!(fresh.get("/").send().header("vary"), Some("Cookie"));
}

#[test]
fn sessions_are_opened_only_when_read() {
    let client = Client::new(app(SessionConfig::new([NEW_KEY])));
    client.get("/login?user=ann").send();
    // `/static` never touches the session: no Vary, no cookie, still cacheable.
    let res = client.get("/static").send();
    assert!(res.header("vary").is_none());
    assert!(res.header("set-cookie").is_none());

    let config = SessionConfig::new([NEW_KEY]);
    let request = zeug::Request::new(
        zeug::test::EnvironBuilder::new("GET", "/")
            .header("cookie", "session=not-even-signed")
            .build(),
    );
    let session = config.session(&request);
    assert!(!session.accessed());
    assert!(session.is_empty());
    assert!(session.accessed());
}

#[test]
fn a_cookie_signed_under_one_name_is_refused_under_another() {
    let sid = Client::new(app(SessionConfig::new([NEW_KEY]).cookie_name("sid")));
    sid.get("/login?user=admin").send();
    let value = sid.get_cookie("sid").unwrap();
    // Same key, other cookie name: the value does not verify there.
    let other = Client::new(app(SessionConfig::new([NEW_KEY])));
    other.set_cookie("session", &value);
    assert_eq!(other.get("/").send().text(), "nobody");
    // Under its own name it does.
    let back = Client::new(app(SessionConfig::new([NEW_KEY]).cookie_name("sid")));
    back.set_cookie("sid", &value);
    assert_eq!(back.get("/").send().text(), "admin");
}

#[test]
fn private_sessions_are_unreadable_and_unforgeable() {
    let config = SessionConfig::new([NEW_KEY]).private(true);
    let client = Client::new(app(config));
    client.get("/login?user=ann").send();
    let value = client.get_cookie("session").unwrap();
    assert!(!value.contains("ann"));
    assert_eq!(client.get("/").send().text(), "ann");
    // A signed-only deployment with the same key cannot read it, and vice versa.
    let signed = Client::new(app(SessionConfig::new([NEW_KEY])));
    signed.set_cookie("session", &value);
    assert_eq!(signed.get("/").send().text(), "nobody");
}

#[test]
fn short_keys_are_refused_at_start_up() {
    assert!(SessionConfig::try_new(["too short"]).is_err());
    let result = std::panic::catch_unwind(|| SessionConfig::new(["too short"]));
    assert!(result.is_err());
}

#[test]
fn web_app_saves_the_session_without_being_asked() {
    use zeug::web::{App, Ctx};
    use zeug::{HttpException, Map, Rule};

    fn count(ctx: &mut Ctx<&'static str>, _: &'static str) -> Result<Response, HttpException> {
        let n = ctx.session().get::<u32>("n").unwrap_or(0) + 1;
        ctx.session().insert("n", n); // no save() anywhere
        Ok(Response::new(n.to_string()))
    }
    let app = App::new(Map::new([Rule::new("/", "count")]), count)
        .sessions(SessionConfig::new([NEW_KEY]));
    let client = Client::new(app);
    assert_eq!(client.get("/").send().text(), "1");
    let res = client.get("/").send();
    assert_eq!(res.text(), "2");
    assert_eq!(res.header("vary"), Some("Cookie"));
}
