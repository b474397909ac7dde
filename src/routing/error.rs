//! Routing errors: [`RuleError`] (a malformed map, found when it is built), [`RoutingError`]
//! (a request that does not match: 404, 405 or a 308 redirect, each an
//! [`HttpException`]) and [`BuildError`] (a URL that cannot be built).

use std::fmt;

use http::{Method, StatusCode};

use crate::{HttpException, Response};

/// What is wrong with a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleErrorKind {
    /// The path does not start with `/`.
    NoLeadingSlash,
    /// The rule string is malformed (unclosed `<`, a bad variable, `{id}`/`:id` syntax).
    Syntax(String),
    /// A converter name the map does not know.
    UnknownConverter(String),
    /// A converter's arguments are wrong.
    BadConverterArguments {
        /// The converter.
        converter: String,
        /// What is wrong.
        message: String,
    },
    /// A variable name appears twice.
    DuplicateVariable(String),
    /// A method name is not a valid HTTP token.
    InvalidMethod(String),
    /// A default for a variable of the rule cannot be written by its converter.
    BadDefault(String),
    /// A `redirect_to` template names a value the rule does not have.
    UnknownRedirectVariable(String),
    /// An alias rule has no canonical (non-alias) rule for its endpoint.
    AliasWithoutCanonical,
    /// The same rule (same domain, path pattern and overlapping methods) appears twice.
    Duplicate,
}

/// A rule the map refused; says which rule and what is wrong.
///
/// # Examples
///
/// ```
/// use zeug::routing::{Map, Rule};
///
/// let err = Map::try_new([Rule::new("/users/<int:id", "user")]).unwrap_err();
/// assert_eq!(err.rule(), "/users/<int:id");
/// assert!(err.to_string().contains("never closed"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    rule: String,
    kind: RuleErrorKind,
}

impl RuleError {
    pub(crate) fn new(rule: &str, kind: RuleErrorKind) -> Self {
        RuleError {
            rule: rule.to_owned(),
            kind,
        }
    }

    /// The rule's path pattern.
    pub fn rule(&self) -> &str {
        &self.rule
    }

    /// What is wrong.
    pub fn kind(&self) -> &RuleErrorKind {
        &self.kind
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid rule {:?}: ", self.rule)?;
        match &self.kind {
            RuleErrorKind::NoLeadingSlash => f.write_str("a rule must start with '/'"),
            RuleErrorKind::Syntax(m) => f.write_str(m),
            RuleErrorKind::UnknownConverter(c) => write!(
                f,
                "unknown converter '{c}' (known: string, int, float, path, uuid, any, and those registered with MapBuilder::converter)"
            ),
            RuleErrorKind::BadConverterArguments { converter, message } => {
                write!(f, "bad arguments for converter '{converter}': {message}")
            }
            RuleErrorKind::DuplicateVariable(n) => write!(f, "variable '{n}' is used twice"),
            RuleErrorKind::InvalidMethod(m) => write!(f, "{m:?} is not a valid HTTP method"),
            RuleErrorKind::BadDefault(n) => {
                write!(
                    f,
                    "the default for '{n}' cannot be written by its converter"
                )
            }
            RuleErrorKind::UnknownRedirectVariable(n) => {
                write!(f, "redirect_to names '<{n}>', which the rule does not have")
            }
            RuleErrorKind::AliasWithoutCanonical => {
                f.write_str("an alias rule needs a non-alias rule with the same endpoint")
            }
            RuleErrorKind::Duplicate => {
                f.write_str("the same rule (domain, path and methods) is already in the map")
            }
        }
    }
}

impl std::error::Error for RuleError {}

/// Why a request did not match. Converts into an [`HttpException`] (404, 405 with `Allow`,
/// 308 with `Location`), so `?` works in views.
///
/// # Examples
///
/// ```
/// use zeug::routing::{Map, Method, Rule};
/// use zeug::HttpException;
///
/// let map = Map::new([Rule::new("/items/", "items").methods(["GET"])]);
/// let a = map.bind("example.com", "");
/// let e: HttpException = a.match_("/nope", &Method::GET).unwrap_err().into();
/// assert_eq!(e.status(), 404);
/// let e: HttpException = a.match_("/items/", &Method::POST).unwrap_err().into();
/// assert_eq!(e.status(), 405);
/// assert_eq!(e.headers()["allow"], "GET, HEAD");
/// let e: HttpException = a.match_("/items", &Method::GET).unwrap_err().into();
/// assert_eq!(e.status(), 308);
/// assert_eq!(e.headers()["location"], "http://example.com/items/");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RoutingError {
    /// No rule matches (404).
    NotFound,
    /// Rules match the path, but not with this method (405).
    MethodNotAllowed {
        /// The methods that would match, sorted.
        allowed: Vec<Method>,
    },
    /// The request should go to another URL (308): a missing trailing slash, merged
    /// slashes, an alias, `redirect_to` or `redirect_defaults`.
    RequestRedirect {
        /// The absolute URL, query string kept.
        location: String,
    },
}

impl RoutingError {
    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            RoutingError::NotFound => StatusCode::NOT_FOUND,
            RoutingError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            RoutingError::RequestRedirect { .. } => StatusCode::PERMANENT_REDIRECT,
        }
    }

    /// The redirect target, for [`RoutingError::RequestRedirect`].
    pub fn redirect_location(&self) -> Option<&str> {
        match self {
            RoutingError::RequestRedirect { location } => Some(location),
            _ => None,
        }
    }

    /// The response: an error page, or for a redirect the same page [`crate::redirect`]
    /// makes.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::RoutingError;
    /// let res = RoutingError::RequestRedirect { location: "http://x/a/".into() }.into_response();
    /// assert_eq!(res.status(), 308);
    /// assert_eq!(res.location(), Some("http://x/a/"));
    /// ```
    pub fn into_response(self) -> Response {
        match self {
            RoutingError::RequestRedirect { location } => crate::utils::redirect(&location, 308),
            other => HttpException::from(other).into_response(),
        }
    }
}

impl fmt::Display for RoutingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoutingError::NotFound => f.write_str("404 Not Found"),
            RoutingError::MethodNotAllowed { allowed } => {
                let names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
                write!(f, "405 Method Not Allowed (allowed: {})", names.join(", "))
            }
            RoutingError::RequestRedirect { location } => {
                write!(f, "308 Permanent Redirect to {location}")
            }
        }
    }
}

impl std::error::Error for RoutingError {}

impl From<RoutingError> for HttpException {
    fn from(e: RoutingError) -> Self {
        match e {
            RoutingError::NotFound => HttpException::not_found(),
            RoutingError::MethodNotAllowed { allowed } => {
                HttpException::method_not_allowed(&allowed)
            }
            RoutingError::RequestRedirect { location } => {
                let encoded = crate::utils::iri_to_uri(&location);
                let e =
                    HttpException::new(StatusCode::PERMANENT_REDIRECT).with_description(format!(
                        "The URL has moved to {location}. You should be redirected automatically."
                    ));
                // `iri_to_uri` leaves only URL characters, which are valid header text.
                match http::HeaderValue::try_from(encoded) {
                    Ok(v) => e.with_header(http::header::LOCATION, v),
                    Err(_) => e,
                }
            }
        }
    }
}

impl From<RoutingError> for Response {
    fn from(e: RoutingError) -> Self {
        e.into_response()
    }
}

/// A URL could not be built: no rule for the endpoint accepts these values and method.
/// The message says what was missing and suggests the closest endpoint, as Werkzeug does.
///
/// # Examples
///
/// ```
/// use zeug::routing::{Map, Rule};
///
/// let map = Map::new([Rule::new("/user/<int:id>", "user_show")]);
/// let a = map.bind("localhost", "");
/// let e = a.build(&"user_show", &()).unwrap_err();
/// assert!(e.to_string().contains("Did you forget to specify values [\"id\"]?"), "{e}");
/// let e = a.build(&"user_shwo", &[("id", 1)]).unwrap_err();
/// assert!(e.to_string().contains("Did you mean \"user_show\" instead?"), "{e}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    pub(crate) endpoint: String,
    pub(crate) method: Option<String>,
    pub(crate) values: Vec<String>,
    pub(crate) suggestion: Option<String>,
}

impl BuildError {
    /// The endpoint asked for (its `Debug` form).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The hint appended to the message, if any.
    pub fn suggestion(&self) -> Option<&str> {
        self.suggestion.as_deref()
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Could not build url for endpoint {}", self.endpoint)?;
        if let Some(m) = &self.method {
            write!(f, " ({m:?})")?;
        }
        if !self.values.is_empty() {
            write!(f, " with values {:?}", self.values)?;
        }
        f.write_str(".")?;
        if let Some(s) = &self.suggestion {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

impl std::error::Error for BuildError {}

impl From<BuildError> for HttpException {
    /// A URL that cannot be built is the application's bug: a 500.
    fn from(e: BuildError) -> Self {
        log::error!("{e}");
        HttpException::internal_server_error()
    }
}
