//! [`Client`], its [`RequestBuilder`] and [`TestResponse`].

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Application, Response};

use super::EnvironBuilder;

/// Calls an application in-process, as a server would, without a socket.
///
/// # Examples
///
/// ```
/// use zeug::{test::Client, Environ, Response};
///
/// let client = Client::new(|env: Environ| Response::new(format!("{} {}", env.method, env.path_info)));
/// let res = client.post("/items").form(&[("name", "x")]).send();
/// assert_eq!(res.status(), 200);
/// assert_eq!(res.text(), "POST /items");
/// ```
#[derive(Clone)]
pub struct Client {
    app: Arc<dyn Application>,
}

impl Client {
    /// A client for `app`.
    pub fn new(app: impl Application) -> Self {
        Client { app: Arc::new(app) }
    }

    /// Starts a request with any method.
    pub fn request(&self, method: &str, url: &str) -> RequestBuilder<'_> {
        RequestBuilder {
            client: self,
            env: EnvironBuilder::new(method, url),
        }
    }

    /// Starts a GET request.
    pub fn get(&self, url: &str) -> RequestBuilder<'_> {
        self.request("GET", url)
    }

    /// Starts a POST request.
    pub fn post(&self, url: &str) -> RequestBuilder<'_> {
        self.request("POST", url)
    }

    /// Starts a PUT request.
    pub fn put(&self, url: &str) -> RequestBuilder<'_> {
        self.request("PUT", url)
    }

    /// Starts a PATCH request.
    pub fn patch(&self, url: &str) -> RequestBuilder<'_> {
        self.request("PATCH", url)
    }

    /// Starts a DELETE request.
    pub fn delete(&self, url: &str) -> RequestBuilder<'_> {
        self.request("DELETE", url)
    }

    /// Starts a HEAD request.
    pub fn head(&self, url: &str) -> RequestBuilder<'_> {
        self.request("HEAD", url)
    }

    /// Starts an OPTIONS request.
    pub fn options(&self, url: &str) -> RequestBuilder<'_> {
        self.request("OPTIONS", url)
    }

    fn run(&self, env: EnvironBuilder) -> TestResponse {
        let environ = env.build();
        let is_head = environ.method == http::Method::HEAD;
        let response = self.app.call(environ);
        TestResponse::collect(response, is_head)
    }
}

/// A request being built by a [`Client`]; finish it with [`send`](Self::send).
pub struct RequestBuilder<'c> {
    client: &'c Client,
    env: EnvironBuilder,
}

impl RequestBuilder<'_> {
    /// Adds query arguments.
    pub fn query<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        self.env = self.env.query(pairs);
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.env = self.env.header(name, value);
        self
    }

    /// Sends a urlencoded form.
    pub fn form<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        self.env = self.env.form(pairs);
        self
    }

    /// Sends a JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        self.env = self.env.json(value);
        self
    }

    /// Sends a raw body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.env = self.env.body(body);
        self
    }

    /// Sends the request and collects the whole response.
    pub fn send(self) -> TestResponse {
        self.client.run(self.env)
    }
}

/// A response collected by the test client: status, headers and the whole body.
#[derive(Debug)]
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl TestResponse {
    fn collect(response: Response, is_head: bool) -> Self {
        let (status, headers, body) = response.into_parts();
        let body = if is_head {
            Bytes::new()
        } else {
            body.into_bytes()
                .unwrap_or_else(|e| panic!("the response body failed while being read: {e}"))
        };
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The body bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON; panics with the body when it is not valid JSON for `T`.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response body is not the expected JSON ({e}): {}",
                self.text()
            )
        })
    }

    /// The mimetype without parameters.
    pub fn mimetype(&self) -> String {
        self.header("content-type")
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default()
    }
}
