//! Matching on a [`MapAdapter`]: `match_request`, `match_`, `match_rule`, `test`,
//! `allowed_methods` and `dispatch`. The `matchit` router answers first; the state machine
//! answers what it leaves (see `matcher`); the redirect cases after a match are
//! `redirect`'s.

use http::Method;

use super::adapter::MapAdapter;
use super::error::RoutingError;
use super::map::Endpoint;
use super::matcher::SmResult;
use super::redirect::merge_slashes;
use super::rule::{Rule, standard_bit};
use super::values::Values;
use crate::Response;

impl<'a, E: Endpoint> MapAdapter<'a, E> {
    /// Matches the bound request: its path and method when the adapter came from
    /// [`Map::bind_to_environ`](super::Map::bind_to_environ), as Werkzeug's
    /// `adapter.match()` with no arguments. Use [`match_`](Self::match_) to match another
    /// path or method.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Map, Rule};
    /// use zeug::test::EnvironBuilder;
    /// use zeug::{HttpException, Request, Response};
    ///
    /// fn view(map: &Map<&'static str>, request: &Request) -> Result<Response, HttpException> {
    ///     let (endpoint, values) = map.bind_to_environ(request.environ()).match_request()?;
    ///     let id: i64 = values.get("id").unwrap_or(0);
    ///     Ok(Response::new(format!("{endpoint} {id}")))
    /// }
    ///
    /// let map = Map::new([Rule::new("/show/<int:id>", "show").methods(["GET"])]);
    /// let get = Request::new(EnvironBuilder::new("GET", "/show/7").build());
    /// assert_eq!(view(&map, &get).unwrap().body_text().unwrap(), "show 7");
    /// let post = Request::new(EnvironBuilder::new("POST", "/show/7").build());
    /// assert_eq!(view(&map, &post).unwrap_err().status(), 405);
    /// ```
    pub fn match_request(&self) -> Result<(E, Values), RoutingError> {
        self.match_(self.path_info, &self.default_method)
    }

    /// Matches a (decoded) path and method: the endpoint and the typed values, or why not
    /// (404, 405 with the allowed methods, or a 308 redirect).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Map, Method, Rule, RoutingError};
    /// let map = Map::new([
    ///     Rule::new("/page/<int:id>", "by_id"),
    ///     Rule::new("/page/<name>", "by_name"),
    /// ]);
    /// let a = map.bind("localhost", "");
    /// assert_eq!(a.match_("/page/3", &Method::GET).unwrap().0, "by_id");
    /// assert_eq!(a.match_("/page/x", &Method::GET).unwrap().0, "by_name");
    /// assert_eq!(a.match_("/pages", &Method::GET).unwrap_err(), RoutingError::NotFound);
    /// ```
    pub fn match_(&self, path: &str, method: &Method) -> Result<(E, Values), RoutingError> {
        let mut values = Values::new();
        let idx = self.match_index(path, method, &mut values)?;
        Ok((self.map.rules[idx].rule.endpoint.clone(), values))
    }

    /// Like [`match_`](Self::match_) but returns the matched [`Rule`].
    pub fn match_rule(
        &self,
        path: &str,
        method: &Method,
    ) -> Result<(&'a Rule<E>, Values), RoutingError> {
        let mut values = Values::new();
        let idx = self.match_index(path, method, &mut values)?;
        Ok((&self.map.rules[idx].rule, values))
    }

    /// Whether `path` matches (a redirect counts as a match), as Werkzeug's `test`.
    pub fn test(&self, path: &str, method: &Method) -> bool {
        matches!(
            self.match_(path, method),
            Ok(_) | Err(RoutingError::RequestRedirect { .. })
        )
    }

    /// The methods rules accept for `path`; empty when nothing matches or when a rule
    /// for the path accepts every method (as Werkzeug's `allowed_methods`).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Map, Method, Rule};
    /// let map = Map::new([
    ///     Rule::new("/items", "list").methods(["GET"]),
    ///     Rule::new("/items", "create").methods(["POST"]),
    /// ]);
    /// let a = map.bind("localhost", "");
    /// assert_eq!(a.allowed_methods("/items"), [Method::GET, Method::HEAD, Method::POST]);
    /// ```
    pub fn allowed_methods(&self, path: &str) -> Vec<Method> {
        let probe = Method::from_bytes(b"--").expect("a valid token");
        match self.match_(path, &probe) {
            Err(RoutingError::MethodNotAllowed { allowed }) => allowed,
            _ => Vec::new(),
        }
    }

    /// Matches `path` and `method` and calls `view` with the endpoint and values; routing
    /// errors become their responses (redirect pages for redirects), and so do errors the
    /// view returns. Werkzeug's `MapAdapter.dispatch`.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Map, Method, Rule};
    /// use zeug::{HttpException, Response};
    ///
    /// let map = Map::new([Rule::new("/hi/<name>", "hi")]);
    /// let a = map.bind("localhost", "");
    /// let view = |_, values: zeug::routing::Values| -> Result<Response, HttpException> {
    ///     Ok(Response::new(format!("hi {}", values.get::<&str>("name").unwrap())))
    /// };
    /// assert_eq!(a.dispatch("/hi/you", &Method::GET, view).body_text().unwrap(), "hi you");
    /// assert_eq!(a.dispatch("/nope", &Method::GET, view).status(), 404);
    /// ```
    pub fn dispatch<R: Into<Response>>(
        &self,
        path: &str,
        method: &Method,
        view: impl FnOnce(E, Values) -> R,
    ) -> Response {
        match self.match_(path, method) {
            Ok((endpoint, values)) => view(endpoint, values).into(),
            Err(e) => e.into_response(),
        }
    }

    /// The index of the rule matching `path_info` and `method`, its values in `values`.
    fn match_index(
        &self,
        path_info: &str,
        method: &Method,
        values: &mut Values,
    ) -> Result<usize, RoutingError> {
        // Werkzeug upper-cases the method (only an extension method can have lower case).
        let upper;
        let method = if standard_bit(method).is_none()
            && method.as_str().bytes().any(|b| b.is_ascii_lowercase())
        {
            upper = Method::from_bytes(method.as_str().to_ascii_uppercase().as_bytes())
                .unwrap_or_else(|_| method.clone());
            &upper
        } else {
            method
        };
        // Werkzeug matches `"/" + path_info.lstrip("/")`.
        let owned;
        let path: &str = if path_info.is_empty() {
            ""
        } else if path_info.starts_with('/') && !path_info[1..].starts_with('/') {
            path_info
        } else {
            owned = format!("/{}", path_info.trim_start_matches('/'));
            &owned
        };
        if let Some(router) = self.router {
            match router.lookup(&self.map.rules, path, method, values) {
                Some(r) if !self.map.finishes[r] => return Ok(r),
                Some(r) => return self.finish(r, values, method),
                None => values.truncate(0),
            }
        }
        self.match_state_machine(self.domain(), path, method, values)
    }

    /// [`match_index`](Self::match_index) by the state machine, with Werkzeug's errors and
    /// slash redirects.
    fn match_state_machine(
        &self,
        domain: &str,
        path: &str,
        method: &Method,
        values: &mut Values,
    ) -> Result<usize, RoutingError> {
        let map = self.map;
        let mut have = Vec::new();
        let no_match = |mut have: Vec<Method>| {
            if have.is_empty() {
                RoutingError::NotFound
            } else {
                have.sort_by(|a, b| a.as_str().cmp(b.as_str()));
                RoutingError::MethodNotAllowed { allowed: have }
            }
        };
        match map
            .matcher
            .sm
            .match_path(&map.rules, domain, path, method, &mut have)
        {
            SmResult::Match(r, texts) => {
                for (var, text) in map.rules[r].vars.iter().zip(&texts) {
                    match var.converter.to_value(text) {
                        Ok(v) => values.push(var.name, v),
                        Err(_) => return Err(no_match(have)),
                    }
                }
                self.finish(r, values, method)
            }
            SmResult::SlashRequired => Err(self.redirect_to_path(&format!("{path}/"))),
            SmResult::NoMatch => {
                if !path.contains("//") {
                    return Err(no_match(have));
                }
                let merged = merge_slashes(path);
                match map
                    .matcher
                    .sm
                    .match_path(&map.rules, domain, &merged, method, &mut have)
                {
                    SmResult::Match(r, _) if map.rules[r].merge_slashes => {
                        Err(self.redirect_to_path(&merged))
                    }
                    SmResult::SlashRequired => Err(self.redirect_to_path(&format!("{merged}/"))),
                    _ => Err(no_match(have)),
                }
            }
        }
    }
}
