//! Authentication: `/basic-auth/<user>/<passwd>`, `/hidden-basic-auth/<user>/<passwd>`,
//! `/bearer` and `/digest-auth/<qop>/<user>/<passwd>[/<algorithm>[/<stale_after>]]`.
//!
//! It owns the Digest computation (MD5, SHA-256, SHA-512; qop `auth`, `auth-int` or none)
//! and httpbin's cookie-driven `stale` and `require-cookie` games that client libraries use
//! to test their retry logic. Parsing the `Authorization` header is
//! [`Request::authorization`]'s job.

use md5::Md5;
use sha2::{Digest as _, Sha256, Sha512};
use zeug::datastructures::{AuthParams, Authorization};
use zeug::{HttpException, Request, Response};

use super::cookies::set_cookie;
use super::pyjson::{Json, jsonify};
use super::status::status_response;

/// The realm of httpbin's Digest challenges.
pub const DIGEST_REALM: &str = "me@kennethreitz.com";

fn basic_ok(req: &Request, user: &str, passwd: &str) -> bool {
    matches!(req.authorization(), Some(Authorization::Basic { username, password })
        if username == user && password == passwd)
}

/// `GET /basic-auth/<user>/<passwd>`: 200 with the user, or 401 with a Basic challenge.
pub fn basic_auth(req: &Request, user: &str, passwd: &str) -> Result<Response, HttpException> {
    if !basic_ok(req, user, passwd) {
        return Ok(status_response(401).expect("401 is a status"));
    }
    Ok(authenticated(user))
}

/// `GET /hidden-basic-auth/<user>/<passwd>`: like `/basic-auth`, but 404 instead of 401.
pub fn hidden_basic_auth(
    req: &Request,
    user: &str,
    passwd: &str,
) -> Result<Response, HttpException> {
    if !basic_ok(req, user, passwd) {
        return Ok(status_response(404).expect("404 is a status"));
    }
    Ok(authenticated(user))
}

fn authenticated(user: &str) -> Response {
    jsonify(&Json::obj([
        ("authenticated", Json::Bool(true)),
        ("user", Json::str(user)),
    ]))
}

/// `GET /bearer`: 200 with the token for `Authorization: Bearer <token>`, else 401.
pub fn bearer(req: &Request) -> Result<Response, HttpException> {
    match req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
    {
        Some(token) => Ok(jsonify(&Json::obj([
            ("authenticated", Json::Bool(true)),
            ("token", Json::str(token)),
        ]))),
        _ => Ok(Response::html("")
            .with_status(401)
            .with_header("www-authenticate", "Bearer")),
    }
}

/// The hash functions Digest authentication may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `MD5` (the default).
    Md5,
    /// `SHA-256`.
    Sha256,
    /// `SHA-512`.
    Sha512,
}

impl Algorithm {
    /// The algorithm named in a URL or credentials; anything unknown is MD5, as httpbin.
    pub fn from_name(name: Option<&str>) -> Algorithm {
        match name {
            Some("SHA-256") => Algorithm::Sha256,
            Some("SHA-512") => Algorithm::Sha512,
            _ => Algorithm::Md5,
        }
    }

    /// The name written in challenges.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha512 => "SHA-512",
        }
    }

    /// The lower-case hex digest of `data`.
    pub fn hash(self, data: &[u8]) -> String {
        match self {
            Algorithm::Md5 => hex::encode(Md5::digest(data)),
            Algorithm::Sha256 => hex::encode(Sha256::digest(data)),
            Algorithm::Sha512 => hex::encode(Sha512::digest(data)),
        }
    }
}

/// The `response` a client must send (RFC 7616 §3.4.1), from its Digest parameters, the
/// password, and the request's method, URI and body; `None` when the parameters are
/// incomplete or name an unknown qop.
pub fn digest_response(
    params: &AuthParams,
    password: &str,
    method: &str,
    uri: &str,
    body: &[u8],
) -> Option<String> {
    let get = |k: &str| params.get(k);
    let alg = Algorithm::from_name(get("algorithm"));
    let ha1 = alg.hash(
        format!(
            "{}:{}:{password}",
            get("username").unwrap_or(""),
            get("realm").unwrap_or("")
        )
        .as_bytes(),
    );
    let qop = get("qop");
    let ha2 = match qop {
        None | Some("auth") => alg.hash(format!("{method}:{uri}").as_bytes()),
        Some("auth-int") => alg.hash(format!("{method}:{uri}:{}", alg.hash(body)).as_bytes()),
        Some(_) => return None,
    };
    let nonce = get("nonce");
    match qop {
        None => Some(alg.hash(format!("{ha1}:{}:{ha2}", nonce.unwrap_or("")).as_bytes())),
        Some(qop) => Some(
            alg.hash(
                format!(
                    "{ha1}:{}:{}:{}:{qop}:{ha2}",
                    nonce?,
                    get("nc")?,
                    get("cnonce")?
                )
                .as_bytes(),
            ),
        ),
    }
}

/// A `401` with a fresh Digest challenge.
fn challenge(req: &Request, qop: Option<&str>, alg: Algorithm, stale: bool) -> Response {
    let mut random = [0u8; 20];
    let _ = getrandom::getrandom(&mut random);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let mut seed = format!("{}:{now}:", req.remote_addr().unwrap_or("")).into_bytes();
    seed.extend_from_slice(&random[..10]);
    let nonce = alg.hash(&seed);
    let opaque = alg.hash(&random[10..]);
    let qop = qop.unwrap_or("auth, auth-int");
    let header = format!(
        "Digest realm=\"{DIGEST_REALM}\", nonce=\"{nonce}\", opaque=\"{opaque}\", qop=\"{qop}\", algorithm={}, stale={}",
        alg.name(),
        if stale { "True" } else { "False" }
    );
    // `qop` comes from the URL: a value that is not header text is the client's mistake.
    match http::HeaderValue::try_from(header) {
        Ok(header) => Response::html("")
            .with_status(401)
            .with_header("www-authenticate", header),
        Err(_) => HttpException::bad_request().into_response(),
    }
}

/// `GET /digest-auth/<qop>/<user>/<passwd>[/<algorithm>[/<stale_after>]]`.
///
/// `qop` is `auth`, `auth-int` or anything else for "either"; `algorithm` is `MD5`,
/// `SHA-256` or `SHA-512`; `stale_after` is how many successful requests a nonce survives
/// (`never` by default). `?require-cookie=1` insists that the client returns the cookie
/// set with the challenge.
pub fn digest_auth(
    req: &Request,
    qop: &str,
    user: &str,
    passwd: &str,
    algorithm: &str,
    stale_after: &str,
) -> Result<Response, HttpException> {
    let require_cookie = req
        .args()
        .get("require-cookie")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "t" | "true"));
    let alg = Algorithm::from_name(Some(algorithm));
    let qop = matches!(qop, "auth" | "auth-int").then_some(qop);
    let secure = req.is_secure();
    let params = match req.authorization() {
        Some(Authorization::Digest(params))
            if !(require_cookie && req.header("cookie").is_none()) =>
        {
            params
        }
        _ => {
            let mut res = challenge(req, qop, alg, false);
            set_cookie(&mut res, "stale_after", stale_after, secure);
            set_cookie(&mut res, "fake", "fake_value", secure);
            return Ok(res);
        }
    };
    if require_cookie && req.cookies().get("fake") != Some("fake_value") {
        let mut res = jsonify(&Json::obj([(
            "errors",
            Json::Arr(vec![Json::str("missing cookie set on challenge")]),
        )]))
        .with_status(403);
        set_cookie(&mut res, "fake", "fake_value", secure);
        return Ok(res);
    }
    let get = |k: &str| params.get(k);
    let current_nonce = get("nonce").unwrap_or("");
    let stale_after_cookie = req.cookies().get("stale_after");
    let repeated_nonce = req.cookies().get("last_nonce") == Some(current_nonce)
        && req.cookies().contains_key("last_nonce");
    if repeated_nonce || stale_after_cookie == Some("0") {
        let mut res = challenge(req, qop, alg, true);
        set_cookie(&mut res, "stale_after", stale_after, secure);
        set_cookie(&mut res, "last_nonce", current_nonce, secure);
        set_cookie(&mut res, "fake", "fake_value", secure);
        return Ok(res);
    }
    let mut uri = format!("{}{}", req.script_root(), req.path());
    if !req.query_string().is_empty() {
        uri.push('?');
        uri.push_str(req.query_string());
    }
    let expected = digest_response(params, passwd, req.method().as_str(), &uri, req.get_data()?);
    let ok = get("username") == Some(user)
        && expected.is_some()
        && get("response") == expected.as_deref();
    if !ok {
        let mut res = challenge(req, qop, alg, false);
        set_cookie(&mut res, "stale_after", stale_after, secure);
        set_cookie(&mut res, "last_nonce", current_nonce, secure);
        set_cookie(&mut res, "fake", "fake_value", secure);
        return Ok(res);
    }
    let mut res = authenticated(user);
    set_cookie(&mut res, "fake", "fake_value", secure);
    if let Some(value) = stale_after_cookie.filter(|v| !v.is_empty()) {
        let next = value
            .trim()
            .parse::<i64>()
            .map(|n| (n - 1).to_string())
            .unwrap_or_else(|_| "never".to_owned());
        set_cookie(&mut res, "stale_after", &next, secure);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_2617_example_response() {
        // RFC 2617 §3.5: Mufasa / "Circle Of Life".
        let params = AuthParams::parse(
            r#"username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b""#,
        );
        assert_eq!(
            digest_response(&params, "Circle Of Life", "GET", "/dir/index.html", b"").as_deref(),
            Some("6629fae49393a05397450978507c4ef1")
        );
    }
}
