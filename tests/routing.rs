//! Routing across modules: rules, converters, priorities, redirects, hosts and building.
//! Expected values marked "Werkzeug" were produced by running the same case through
//! `werkzeug.routing` 3.1 (`pip install werkzeug`).

mod common;

use zeug::routing::{
    BuildOptions, EndpointPrefix, Map, MapAdapter, Method, Refusal, RoutingError, Rule,
    RuleErrorKind, Subdomain, Submount, Value, Values,
};
use zeug::test::{Client, EnvironBuilder};
use zeug::{Environ, HttpException, Request, Response};

type Ep = &'static str;

fn m(map: &Map<Ep>, path: &str) -> Result<(Ep, Vec<(String, String)>), String> {
    m_method(map.bind("example.com", ""), path, "GET")
}

fn m_method(
    a: MapAdapter<'_, Ep>,
    path: &str,
    method: &str,
) -> Result<(Ep, Vec<(String, String)>), String> {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    match a.match_(path, &method) {
        Ok((ep, values)) => Ok((
            ep,
            values
                .iter()
                .map(|(k, v)| (k.to_owned(), format!("{v:?}")))
                .collect(),
        )),
        Err(RoutingError::RequestRedirect { location }) => Err(format!("redirect {location}")),
        Err(RoutingError::MethodNotAllowed { allowed }) => Err(format!(
            "405 {}",
            allowed
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(",")
        )),
        Err(e) => Err(e.status().as_u16().to_string()),
    }
}

fn ep(r: Result<(Ep, Vec<(String, String)>), String>) -> String {
    match r {
        Ok((e, _)) => e.to_owned(),
        Err(e) => e,
    }
}

#[test]
fn shortly_rules() {
    // Werkzeug: '/abc++' is short_link_details with 'abc+', '/+' and '/a+b' follow links.
    let map = Map::new([
        Rule::new("/", "new_url"),
        Rule::new("/<short_id>", "follow_short_link"),
        Rule::new("/<short_id>+", "short_link_details"),
    ]);
    let a = map.bind("example.com", "");
    let get = |p: &str| a.match_(p, &Method::GET).unwrap();
    assert_eq!(get("/").0, "new_url");
    assert_eq!(get("/abc").0, "follow_short_link");
    assert_eq!(get("/abc").1.get::<&str>("short_id"), Some("abc"));
    assert_eq!(get("/abc+").0, "short_link_details");
    assert_eq!(get("/abc+").1.get::<&str>("short_id"), Some("abc"));
    assert_eq!(get("/abc++").1.get::<&str>("short_id"), Some("abc+"));
    assert_eq!(get("/+").0, "follow_short_link");
    assert_eq!(get("/a+b").0, "follow_short_link");
    assert_eq!(
        a.build(&"short_link_details", &[("short_id", "x y")])
            .unwrap(),
        "/x%20y+"
    );
}

#[test]
fn branch_and_leaf_slashes() {
    // Werkzeug: strict branch redirects, leaf with a slash is 404, non-strict accepts both.
    let map = Map::new([
        Rule::new("/foo/", "foo"),
        Rule::new("/bar", "bar"),
        Rule::new("/baz/", "baz").strict_slashes(false),
        Rule::new("/qux", "qux").strict_slashes(false),
    ]);
    assert_eq!(ep(m(&map, "/foo")), "redirect http://example.com/foo/");
    assert_eq!(ep(m(&map, "/foo/")), "foo");
    assert_eq!(ep(m(&map, "/bar")), "bar");
    assert_eq!(ep(m(&map, "/bar/")), "404");
    assert_eq!(ep(m(&map, "/baz")), "baz");
    assert_eq!(ep(m(&map, "/baz/")), "baz");
    assert_eq!(ep(m(&map, "/qux")), "qux");
    assert_eq!(ep(m(&map, "/qux/")), "qux");
    let a = map.bind("example.com", "").with_query_string("a=1&b=2");
    assert_eq!(
        a.match_("/foo", &Method::GET)
            .unwrap_err()
            .redirect_location(),
        Some("http://example.com/foo/?a=1&b=2")
    );
    // The map-wide default.
    let map = Map::builder()
        .strict_slashes(false)
        .build([Rule::new("/foo/", "foo")]);
    assert_eq!(ep(m(&map, "/foo")), "foo");
}

#[test]
fn merge_slashes() {
    // Werkzeug: all of these, including the leading '//', as below.
    let map = Map::new([
        Rule::new("/a/b", "ab"),
        Rule::new("/c/<path:p>", "c"),
        Rule::new("/d/e", "de").merge_slashes(false),
        Rule::new("/f/", "f"),
    ]);
    assert_eq!(ep(m(&map, "//a//b")), "redirect http://example.com/a/b");
    assert_eq!(ep(m(&map, "/a//b")), "redirect http://example.com/a/b");
    assert_eq!(ep(m(&map, "/c//x//y")), "redirect http://example.com/c/x/y");
    assert_eq!(ep(m(&map, "/d//e")), "404");
    assert_eq!(ep(m(&map, "/f")), "redirect http://example.com/f/");
    assert_eq!(ep(m(&map, "//f")), "redirect http://example.com/f/");
    assert_eq!(ep(m(&map, "/f//")), "redirect http://example.com/f/");
    assert_eq!(ep(m(&map, "/a/b/")), "404");
    let map = Map::builder()
        .merge_slashes(false)
        .build([Rule::new("/a/b", "ab")]);
    assert_eq!(ep(m(&map, "/a//b")), "404");
}

#[test]
fn priorities_static_then_light_converters() {
    // Werkzeug: matchit alone refuses /page/<int:id> next to /page/<name>.
    let map = Map::new([
        Rule::new("/page/<name>", "name"),
        Rule::new("/page/<int:id>", "id"),
        Rule::new("/page/new", "new"),
        Rule::new("/page/<float:f>", "float"),
    ]);
    assert_eq!(
        m(&map, "/page/3").unwrap(),
        ("id", vec![("id".into(), "Int(3)".into())])
    );
    assert_eq!(ep(m(&map, "/page/new")), "new");
    assert_eq!(ep(m(&map, "/page/x")), "name");
    assert_eq!(
        m(&map, "/page/3.5").unwrap(),
        ("float", vec![("f".into(), "Float(3.5)".into())])
    );
    // Leading zeros are an int; a sign is not (without signed=True).
    assert_eq!(
        m(&map, "/page/007").unwrap(),
        ("id", vec![("id".into(), "Int(7)".into())])
    );
    assert_eq!(
        m(&map, "/page/-1").unwrap(),
        ("name", vec![("name".into(), "Str(\"-1\")".into())])
    );
}

#[test]
fn path_converter_is_greedy_to_the_end_and_lazy_before_static_text() {
    // Werkzeug: the same answers for every path here.
    let map = Map::new([
        Rule::new("/<path:p>/edit", "edit"),
        Rule::new("/<path:p>", "page"),
        Rule::new("/files/<path:f>", "files"),
        Rule::new("/x/<path:a>/y/<path:b>", "xy"),
    ]);
    let v = |p: &str| m(&map, p).unwrap();
    assert_eq!(
        v("/a/b/edit"),
        ("edit", vec![("p".into(), "Str(\"a/b\")".into())])
    );
    assert_eq!(
        v("/a/edit/edit"),
        ("edit", vec![("p".into(), "Str(\"a/edit\")".into())])
    );
    assert_eq!(
        v("/files/a/b"),
        ("files", vec![("f".into(), "Str(\"a/b\")".into())])
    );
    assert_eq!(
        v("/files/"),
        ("page", vec![("p".into(), "Str(\"files/\")".into())])
    );
    assert_eq!(
        v("/x/1/y/2/y/3"),
        (
            "xy",
            vec![
                ("a".into(), "Str(\"1\")".into()),
                ("b".into(), "Str(\"2/y/3\")".into())
            ]
        )
    );
    assert_eq!(
        v("/a//b"),
        ("page", vec![("p".into(), "Str(\"a//b\")".into())])
    );
    assert_eq!(v("/edit").0, "page");
}

#[test]
fn a_segment_variable_before_a_path_never_spans_a_slash() {
    // Werkzeug: `<a>` is `[^/]+` even in the part a `path` variable makes.
    let map = Map::new([Rule::new("/<a>-<path:b>", "ab")]);
    let values = |p: &str| m(&map, p).unwrap().1;
    assert_eq!(ep(m(&map, "/x/y-z")), "404");
    assert_eq!(values("/x-y/z")[0], ("a".into(), "Str(\"x\")".into()));
    assert_eq!(values("/x-y-z")[0], ("a".into(), "Str(\"x-y\")".into()));
}

#[test]
fn mixed_segments() {
    // Werkzeug: greedy `<a>` takes "x-y"; `page-<int:n>` has more static text and wins.
    let map = Map::new([
        Rule::new("/<a>-<b>", "ab"),
        Rule::new("/<int:x>.<int:y>", "xy"),
        Rule::new("/page-<int:n>", "pn"),
    ]);
    assert_eq!(
        m(&map, "/x-y-z").unwrap(),
        (
            "ab",
            vec![
                ("a".into(), "Str(\"x-y\")".into()),
                ("b".into(), "Str(\"z\")".into())
            ]
        )
    );
    assert_eq!(ep(m(&map, "/1.2")), "xy");
    assert_eq!(ep(m(&map, "/page-3")), "pn");
    assert_eq!(ep(m(&map, "/page-x")), "ab");
}

#[test]
fn converters_edge_cases() {
    // Werkzeug: each line below.
    let map = Map::new([
        Rule::new("/i/<int(fixed_digits=3):n>", "fd"),
        Rule::new("/s/<int(signed=True):n>", "s"),
        Rule::new("/m/<int(min=2,max=5):n>", "m"),
        Rule::new("/f/<float:x>", "f"),
        Rule::new("/fs/<float(signed=True, min=-2.5):x>", "fs"),
        Rule::new("/u/<uuid:u>", "u"),
        Rule::new("/a/<any(x, y, \"z w\"):v>", "a"),
        Rule::new("/l/<string(length=2):lang>", "lang"),
        Rule::new("/r/<string(minlength=2, maxlength=3):r>", "range"),
    ]);
    assert_eq!(ep(m(&map, "/i/007")), "fd");
    assert_eq!(ep(m(&map, "/i/7")), "404");
    assert_eq!(ep(m(&map, "/i/0007")), "404");
    assert_eq!(m(&map, "/s/-3").unwrap().1[0].1, "Int(-3)");
    assert_eq!(ep(m(&map, "/s/3")), "s");
    assert_eq!(ep(m(&map, "/m/1")), "404");
    assert_eq!(ep(m(&map, "/m/5")), "m");
    assert_eq!(ep(m(&map, "/m/6")), "404");
    assert_eq!(ep(m(&map, "/f/1.5")), "f");
    assert_eq!(ep(m(&map, "/f/1")), "404");
    assert_eq!(ep(m(&map, "/f/-1.5")), "404");
    assert_eq!(m(&map, "/f/01.50").unwrap().1[0].1, "Float(1.5)");
    assert_eq!(m(&map, "/fs/-1.5").unwrap().1[0].1, "Float(-1.5)");
    assert_eq!(ep(m(&map, "/fs/-3.0")), "404");
    let (_, values) = map
        .bind("x", "")
        .match_("/u/A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", &Method::GET)
        .unwrap();
    assert_eq!(
        values.get::<uuid::Uuid>("u").unwrap().to_string(),
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    );
    assert_eq!(ep(m(&map, "/u/a0eebc999c0b4ef8bb6d6bb9bd380a11")), "404");
    assert_eq!(ep(m(&map, "/a/x")), "a");
    assert_eq!(ep(m(&map, "/a/z w")), "a");
    assert_eq!(ep(m(&map, "/a/q")), "404");
    assert_eq!(ep(m(&map, "/l/de")), "lang");
    assert_eq!(ep(m(&map, "/l/deu")), "404");
    assert_eq!(ep(m(&map, "/r/a")), "404");
    assert_eq!(ep(m(&map, "/r/abc")), "range");
    // Building: Werkzeug gives /i/007 /s/-3 /f/1.0 /f/0.1.
    let a = map.bind("x", "");
    assert_eq!(a.build(&"fd", &[("n", 7)]).unwrap(), "/i/007");
    assert_eq!(a.build(&"s", &[("n", -3)]).unwrap(), "/s/-3");
    assert_eq!(a.build(&"f", &[("x", 1)]).unwrap(), "/f/1.0");
    assert_eq!(a.build(&"f", &[("x", 0.1)]).unwrap(), "/f/0.1");
    assert!(a.build(&"a", &[("v", "q")]).is_err());
    assert_eq!(a.build(&"a", &[("v", "z w")]).unwrap(), "/a/z%20w");
}

#[test]
fn typed_values() {
    let map = Map::new([Rule::new("/blog/<int:year>/<slug>", "post")]);
    let (_, values) = map
        .bind("x", "")
        .match_("/blog/2024/hello", &Method::GET)
        .unwrap();
    assert_eq!(values.get::<i64>("year"), Some(2024));
    assert_eq!(values.get::<u16>("year"), Some(2024));
    assert_eq!(values.get::<&str>("slug"), Some("hello"));
    assert_eq!(values.get::<i64>("slug"), None);
    assert_eq!(values.get::<i64>("missing"), None);
}

#[test]
fn methods_and_405() {
    // Werkzeug: GET /user/new falls through to /user/<name>; PUT lists every method seen.
    let map = Map::new([
        Rule::new("/items", "list").methods(["GET"]),
        Rule::new("/items", "create").methods(["POST"]),
        Rule::new("/user/new", "new").methods(["POST"]),
        Rule::new("/user/<name>", "show").methods(["GET"]),
    ]);
    let a = || map.bind("x", "");
    assert_eq!(ep(m_method(a(), "/items", "GET")), "list");
    assert_eq!(ep(m_method(a(), "/items", "HEAD")), "list");
    assert_eq!(ep(m_method(a(), "/items", "POST")), "create");
    assert_eq!(ep(m_method(a(), "/items", "PUT")), "405 GET,HEAD,POST");
    assert_eq!(ep(m_method(a(), "/user/new", "GET")), "show");
    assert_eq!(ep(m_method(a(), "/user/new", "POST")), "new");
    assert_eq!(ep(m_method(a(), "/user/new", "PUT")), "405 GET,HEAD,POST");
    assert_eq!(ep(m_method(a(), "/items", "get")), "list");
    assert_eq!(
        a().allowed_methods("/items"),
        [Method::GET, Method::HEAD, Method::POST]
    );
    assert!(a().allowed_methods("/nothing").is_empty());
    let e: HttpException = a().match_("/items", &Method::PUT).unwrap_err().into();
    assert_eq!(e.status(), 405);
    assert_eq!(e.headers()["allow"], "GET, HEAD, POST");
}

#[test]
fn methods_mixing_standard_and_extension_methods() {
    // Werkzeug keeps a rule's methods as a set of upper-case names, whatever they are.
    let map = Map::new([
        Rule::new("/dav/<path:p>", "dav").methods(["GET", "propfind", "MKCOL"]),
        Rule::new("/dav/<path:p>", "purge").methods(["PURGE", "DELETE"]),
    ]);
    let a = || map.bind("x", "");
    assert_eq!(ep(m_method(a(), "/dav/a/b", "GET")), "dav");
    assert_eq!(ep(m_method(a(), "/dav/a/b", "HEAD")), "dav");
    assert_eq!(ep(m_method(a(), "/dav/a/b", "PROPFIND")), "dav");
    assert_eq!(ep(m_method(a(), "/dav/a/b", "propfind")), "dav");
    assert_eq!(ep(m_method(a(), "/dav/a/b", "MkCol")), "dav");
    assert_eq!(ep(m_method(a(), "/dav/a/b", "PURGE")), "purge");
    assert_eq!(ep(m_method(a(), "/dav/a/b", "DELETE")), "purge");
    assert_eq!(
        ep(m_method(a(), "/dav/a/b", "POST")),
        "405 DELETE,GET,HEAD,MKCOL,PROPFIND,PURGE"
    );
    assert_eq!(
        ep(m_method(a(), "/dav/a/b", "PATCH")),
        "405 DELETE,GET,HEAD,MKCOL,PROPFIND,PURGE"
    );
}

#[test]
fn defaults_and_redirect_defaults() {
    // Werkzeug: /users/page/1 redirects to /users/; building picks the rule by values.
    let map = Map::new([
        Rule::new("/users/", "users").default("page", 1),
        Rule::new("/users/page/<int:page>", "users"),
    ]);
    let a = map.bind("example.com", "");
    let (_, v) = a.match_("/users/", &Method::GET).unwrap();
    assert_eq!(v.get::<i64>("page"), Some(1));
    assert_eq!(
        ep(m(&map, "/users/page/1")),
        "redirect http://example.com/users/"
    );
    assert_eq!(m(&map, "/users/page/2").unwrap().1[0].1, "Int(2)");
    assert_eq!(a.build(&"users", &[("page", 1)]).unwrap(), "/users/");
    assert_eq!(a.build(&"users", &[("page", 2)]).unwrap(), "/users/page/2");
    assert_eq!(a.build(&"users", &()).unwrap(), "/users/");
    // Werkzeug: /users/page/2?x=a+b&y=1&y=2
    assert_eq!(
        a.build(
            &"users",
            &[("page", "2"), ("x", "a b"), ("y", "1"), ("y", "2")]
        )
        .unwrap(),
        "/users/page/2?x=a+b&y=1&y=2"
    );
    let map = Map::builder().redirect_defaults(false).build([
        Rule::new("/users/", "users").default("page", 1),
        Rule::new("/users/page/<int:page>", "users"),
    ]);
    assert_eq!(ep(m(&map, "/users/page/1")), "users");
}

#[test]
fn a_bound_server_name_is_lowered_like_werkzeugs() {
    let map = Map::new([Rule::new("/a/", "a")]);
    let a = map.bind("Example.COM", "");
    assert_eq!(a.server_name(), "example.com");
    let url = a.build_with(&"a", &(), &BuildOptions::new().force_external(true));
    assert_eq!(url.unwrap(), "http://example.com/a/");
    let err = a.match_("/a", &Method::GET).unwrap_err();
    assert_eq!(err.redirect_location(), Some("http://example.com/a/"));
    let hosts = Map::builder()
        .host_matching(true)
        .build([Rule::new("/", "home").host("example.com")]);
    assert_eq!(
        ep_of(hosts.bind("EXAMPLE.com", "").match_("/", &Method::GET)),
        "\"home\""
    );
}

#[test]
fn alias_and_redirect_to() {
    // Werkzeug (script name /app, query x=1): the results below.
    let map = Map::new([
        Rule::new("/old/<int:id>", "old").redirect_to("/new/<id>"),
        Rule::new("/new/<int:id>", "new"),
        Rule::new("/about", "about"),
        Rule::new("/about-us", "about").alias(true),
        Rule::new("/rel", "rel").redirect_to("somewhere/else"),
        Rule::new("/fn/<int:id>", "fn").redirect_to_fn(|a, v| {
            a.build(&"new", &[("id", v.get::<i64>("id").unwrap() * 2)])
                .unwrap()
        }),
    ]);
    let a = map.bind("example.com", "/app").with_query_string("x=1");
    let loc = |p: &str| {
        a.match_(p, &Method::GET)
            .unwrap_err()
            .redirect_location()
            .unwrap()
            .to_owned()
    };
    assert_eq!(loc("/old/3"), "http://example.com/new/3");
    assert_eq!(loc("/old/007"), "http://example.com/new/7");
    assert_eq!(loc("/about-us"), "http://example.com/app/about?x=1");
    assert_eq!(loc("/rel"), "http://example.com/app/somewhere/else");
    assert_eq!(loc("/fn/2"), "http://example.com/app/new/4");
    // Building never picks the alias.
    assert_eq!(a.build(&"about", &()).unwrap(), "/app/about");
    assert_eq!(
        Map::try_new([Rule::new("/a", "a").alias(true)])
            .unwrap_err()
            .kind(),
        &RuleErrorKind::AliasWithoutCanonical
    );
}

#[test]
fn host_matching() {
    // Werkzeug: the same matches and URLs.
    let map = Map::builder().host_matching(true).build([
        Rule::new("/", "www").host("www.example.com"),
        Rule::new("/", "user").host("<user>.example.com"),
        Rule::new("/x", "x").host("other.org"),
    ]);
    assert!(map.is_host_matching());
    let mm = |host: &str| ep(m_method(map.bind(host, ""), "/", "GET"));
    assert_eq!(mm("www.example.com"), "www");
    assert_eq!(mm("alice.example.com"), "user");
    assert_eq!(mm("other.org"), "404");
    assert_eq!(mm("nope.net"), "404");
    let a = map.bind("www.example.com", "");
    assert_eq!(
        a.build(&"user", &[("user", "bob")]).unwrap(),
        "http://bob.example.com/"
    );
    assert_eq!(a.build(&"www", &()).unwrap(), "/");
    assert_eq!(a.build(&"x", &()).unwrap(), "http://other.org/x");
    assert_eq!(
        a.build_with(&"www", &(), &BuildOptions::new().force_external(true))
            .unwrap(),
        "http://www.example.com/"
    );
}

#[test]
fn subdomains() {
    // Werkzeug: the same matches and URLs.
    let rules = [Rule::new("/", "home")]
        .into_iter()
        .chain(Subdomain::new(
            "<user>",
            [Rule::new("/", "user_home"), Rule::new("/about", "about")],
        ))
        .chain(Subdomain::new("api", [Rule::new("/v1", "api")]));
    let map = Map::new(rules);
    let mm = |sub: &str, p: &str| {
        ep(m_method(
            map.bind_with_subdomain("example.com", "", sub),
            p,
            "GET",
        ))
    };
    assert_eq!(mm("", "/"), "home");
    assert_eq!(mm("", "/v1"), "404");
    assert_eq!(mm("alice", "/"), "user_home");
    assert_eq!(mm("api", "/"), "user_home");
    assert_eq!(mm("api", "/v1"), "api");
    let a = map.bind_with_subdomain("example.com", "", "alice");
    assert_eq!(a.build(&"home", &()).unwrap(), "http://example.com/");
    assert_eq!(a.build(&"user_home", &[("user", "alice")]).unwrap(), "/");
    assert_eq!(
        a.build(&"user_home", &[("user", "bob")]).unwrap(),
        "http://bob.example.com/"
    );
    assert_eq!(a.build(&"api", &()).unwrap(), "http://api.example.com/v1");

    // From an environ, with the configured server name.
    let env = EnvironBuilder::new("GET", "http://bob.example.com/about").build();
    let a = map.bind_to_environ_with(&env, Some("example.com"), None);
    assert_eq!(a.subdomain(), Some("bob"));
    let (e, v) = a.match_("/about", &Method::GET).unwrap();
    assert_eq!((e, v.get::<&str>("user")), ("about", Some("bob")));
    let env = EnvironBuilder::new("GET", "http://elsewhere.org/").build();
    let a = map.bind_to_environ_with(&env, Some("example.com"), None);
    assert_eq!(a.subdomain(), Some("<invalid>"));
}

#[test]
fn factories_nest() {
    let map: Map<String> = Map::new([Rule::new("/", "index".to_string())].into_iter().chain(
        EndpointPrefix::new(
            "blog/",
            Submount::new(
                "/blog/",
                [
                    Rule::new("/", "index".to_string()),
                    Rule::new("/entry/<slug>", "show".to_string()),
                ],
            ),
        ),
    ));
    let a = map.bind("x", "");
    assert_eq!(a.match_("/blog/", &Method::GET).unwrap().0, "blog/index");
    assert_eq!(
        a.match_("/blog/entry/hi", &Method::GET).unwrap().0,
        "blog/show"
    );
    assert_eq!(
        a.build(&"blog/show".to_string(), &[("slug", "hi")])
            .unwrap(),
        "/blog/entry/hi"
    );
}

#[test]
fn build_only_and_building() {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    enum V {
        Static,
        Page,
        Item,
    }
    let map = Map::new([
        Rule::new("/static/<path:filename>", V::Static).build_only(true),
        Rule::new("/p/<path:p>", V::Page),
        Rule::new("/item/<int:id>", V::Item).methods(["GET"]),
        Rule::new("/item", V::Item).methods(["POST"]),
    ]);
    let a = map.bind("example.com", "/app/");
    assert_eq!(ep_of(a.match_("/static/x.css", &Method::GET)), "404");
    assert_eq!(
        a.build(&V::Static, &[("filename", "css/a b.css")]).unwrap(),
        "/app/static/css/a%20b.css"
    );
    assert_eq!(
        a.build(&V::Page, &[("p", "a b/c?d")]).unwrap(),
        "/app/p/a%20b/c%3Fd"
    );
    // The rule is chosen by method and values.
    assert_eq!(a.build(&V::Item, &[("id", 3)]).unwrap(), "/app/item/3");
    assert_eq!(
        a.build_with(&V::Item, &(), &BuildOptions::new().method(Method::POST))
            .unwrap(),
        "/app/item"
    );
    assert_eq!(
        a.build_with(
            &V::Item,
            &[("id", 3)],
            &BuildOptions::new().force_external(true)
        )
        .unwrap(),
        "http://example.com/app/item/3"
    );
    assert_eq!(
        a.build_with(
            &V::Item,
            &[("id", 3)],
            &BuildOptions::new().force_external(true).url_scheme("https")
        )
        .unwrap(),
        "https://example.com/app/item/3"
    );
    assert_eq!(
        a.build_with(
            &V::Item,
            &[("id", "3"), ("x", "1")],
            &BuildOptions::new().append_unknown(false)
        )
        .unwrap(),
        "/app/item/3"
    );
}

fn ep_of<E: std::fmt::Debug>(r: Result<(E, zeug::routing::Values), RoutingError>) -> String {
    match r {
        Ok((e, _)) => format!("{e:?}"),
        Err(e) => e.status().as_u16().to_string(),
    }
}

#[test]
fn build_encoding_like_werkzeug_except_slashes_in_segments() {
    // Werkzeug writes a '/' inside a `string` value as is; zeug encodes it (%2F) so the
    // value stays one segment. Everything else matches Werkzeug's output.
    let map = Map::new([
        Rule::new("/s/<name>", "s"),
        Rule::new("/p/<path:p>", "p"),
        Rule::new("/ü/<name>", "u"),
    ]);
    let a = map.bind("x", "");
    assert_eq!(
        a.build(&"s", &[("name", "a b/c?d#é")]).unwrap(),
        "/s/a%20b%2Fc%3Fd%23%C3%A9"
    );
    assert_eq!(
        a.build(&"p", &[("p", "a b/c?d")]).unwrap(),
        "/p/a%20b/c%3Fd"
    );
    assert_eq!(
        a.build(&"u", &[("name", "x"), ("q", "a&b=c d/e")]).unwrap(),
        "/%C3%BC/x?q=a%26b%3Dc+d/e"
    );
    // Matching is on the decoded path.
    assert_eq!(
        a.match_("/s/a b", &Method::GET)
            .unwrap()
            .1
            .get::<&str>("name"),
        Some("a b")
    );
    assert_eq!(a.match_("/ü/x", &Method::GET).unwrap().0, "u");
}

#[test]
fn build_errors_explain() {
    let map = Map::new([
        Rule::new("/user/<int:id>", "user_show"),
        Rule::new("/items", "items").methods(["POST"]),
    ]);
    let a = map.bind("x", "");
    let e = a.build(&"user_show", &()).unwrap_err();
    assert_eq!(
        e.suggestion(),
        Some("Did you forget to specify values [\"id\"]?")
    );
    let e = a.build(&"user_shwo", &[("id", 1)]).unwrap_err();
    assert_eq!(e.suggestion(), Some("Did you mean \"user_show\" instead?"));
    let e = a
        .build_with(&"items", &(), &BuildOptions::new().method(Method::GET))
        .unwrap_err();
    assert_eq!(
        e.suggestion(),
        Some("Did you mean to use methods [\"POST\"]?")
    );
    assert!(
        e.to_string()
            .starts_with("Could not build url for endpoint \"items\" (\"GET\").")
    );
    let e = a.build(&"zzz", &()).unwrap_err();
    assert_eq!(e.suggestion(), None);
    let e = a.build(&"user_show", &[("id", "abc")]).unwrap_err();
    assert!(e.to_string().contains("with values [\"id\"]"));
    assert_eq!(HttpException::from(e).status(), 500);
}

#[test]
fn malformed_rules_fail_with_the_rule_named() {
    let bad: &[(&str, &str)] = &[
        ("/users/<int:id", "never closed"),
        ("users", "must start with '/'"),
        ("/<nope:x>", "unknown converter 'nope'"),
        ("/<int(max='x'):x>", "bad arguments for converter 'int'"),
        ("/<int(bogus=1):x>", "has no argument 'bogus'"),
        ("/<any():x>", "at least one item"),
        ("/<a>/<int:a>", "variable 'a' is used twice"),
        ("/users/{id}", "'{id}' looks like another router's syntax"),
        ("/users/:id", "':id' looks like another router's syntax"),
        ("/files/*rest", "'*rest' looks like another router's syntax"),
        ("/<1x>", "malformed variable"),
        ("/<int:>", "malformed variable"),
        ("/<int(3:x>", "missing their ')'"),
    ];
    for (rule, msg) in bad {
        let err = Map::try_new([Rule::new(*rule, "e")]).unwrap_err();
        assert_eq!(err.rule(), *rule);
        let text = err.to_string();
        assert!(text.contains(msg), "{rule}: {text}");
        assert!(text.contains(rule), "{rule}: {text}");
    }
    let err = Map::try_new([Rule::new("/x", "e").methods(["GE T"])]).unwrap_err();
    assert!(matches!(err.kind(), RuleErrorKind::InvalidMethod(_)));
    let err = Map::try_new([Rule::new("/x", "e").redirect_to("/y/<id>")]).unwrap_err();
    assert!(err.to_string().contains("'<id>'"));
}

#[test]
fn duplicate_rules_are_an_error() {
    let err =
        Map::try_new([Rule::new("/a/<int:x>", "a"), Rule::new("/a/<int:y>", "b")]).unwrap_err();
    assert_eq!(err.kind(), &RuleErrorKind::Duplicate);
    assert_eq!(err.rule(), "/a/<int:y>");
    // Same path, different methods: fine. Overlapping methods: not.
    assert!(
        Map::try_new([
            Rule::new("/a", "a").methods(["GET"]),
            Rule::new("/a", "b").methods(["POST"]),
        ])
        .is_ok()
    );
    assert!(
        Map::try_new([
            Rule::new("/a", "a").methods(["GET"]),
            Rule::new("/a", "b").methods(["GET", "POST"]),
        ])
        .is_err()
    );
    // Different subdomains: fine.
    assert!(Map::try_new([Rule::new("/a", "a"), Rule::new("/a", "b").subdomain("api")]).is_ok());
}

#[test]
#[should_panic(expected = "invalid rule \"/<int:id\"")]
fn map_new_panics_with_the_rule() {
    let _ = Map::new([Rule::new("/<int:id", "x")]);
}

#[test]
fn custom_converter() {
    use zeug::routing::Converter;
    struct Slug {
        max: usize,
    }
    impl Slug {
        fn fits(&self, text: &str) -> bool {
            !text.is_empty()
                && text.len() <= self.max
                && text
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        }
    }
    impl Converter for Slug {
        fn to_value(&self, text: &str) -> Result<Value, Refusal> {
            match self.fits(text) {
                true => Ok(Value::Str(text.into())),
                false => Err(Refusal::Mismatch),
            }
        }
        fn to_url(&self, value: &Value, out: &mut String) -> bool {
            match value.as_str() {
                Some(s) if self.fits(s) => {
                    out.push_str(s);
                    true
                }
                _ => false,
            }
        }
        fn weight(&self) -> u32 {
            60
        }
    }
    let map = Map::builder()
        .converter("slug", |args| {
            args.expect(&["max"], 1)?;
            let max = match args.arg("max", 0) {
                Some(zeug::routing::ArgValue::Int(n)) if *n > 0 => *n as usize,
                None => 50,
                Some(v) => return Err(format!("max must be a positive integer, got {v}")),
            };
            Ok(Slug { max })
        })
        .build([
            Rule::new("/<slug(max=5):s>", "slug"),
            Rule::new("/<other>", "other"),
        ]);
    assert_eq!(ep(m(&map, "/ab-c")), "slug");
    assert_eq!(ep(m(&map, "/AB")), "other");
    assert_eq!(ep(m(&map, "/abcdef")), "other");
    let a = map.bind("x", "");
    assert_eq!(a.build(&"slug", &[("s", "ok")]).unwrap(), "/ok");
    let err = Map::builder()
        .converter("slug", |_| Ok(Slug { max: 1 }))
        .try_build([Rule::new("/<sluggish:s>", "x")])
        .unwrap_err();
    assert!(matches!(err.kind(), RuleErrorKind::UnknownConverter(_)));
}

#[test]
fn custom_converter_can_replace_int_and_default() {
    // Matching has a shortcut for `<int:x>` and `<x>` without arguments: a converter
    // registered under those names must still be the one used.
    struct Hex;
    impl zeug::routing::Converter for Hex {
        fn to_value(&self, text: &str) -> Result<Value, Refusal> {
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Refusal::Mismatch);
            }
            let n = i64::from_str_radix(text, 16).map_err(|_| Refusal::Invalid)?;
            Ok(Value::Int(n))
        }
        fn to_url(&self, value: &Value, out: &mut String) -> bool {
            match value {
                Value::Int(n) => {
                    out.push_str(&format!("{n:x}"));
                    true
                }
                _ => false,
            }
        }
    }
    struct Upper;
    impl zeug::routing::Converter for Upper {
        fn to_value(&self, text: &str) -> Result<Value, Refusal> {
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(Refusal::Mismatch);
            }
            Ok(Value::Str(text.to_lowercase().as_str().into()))
        }
        fn to_url(&self, value: &Value, out: &mut String) -> bool {
            out.push_str(&value.to_string().to_uppercase());
            true
        }
    }
    let map = Map::builder()
        .converter("int", |_| Ok(Hex))
        .converter("default", |_| Ok(Upper))
        .build([Rule::new("/n/<int:n>", "n"), Rule::new("/w/<w>", "w")]);
    let a = map.bind("x", "");
    let (e, v) = a.match_("/n/ff", &Method::GET).unwrap();
    assert_eq!((e, v.get::<i64>("n")), ("n", Some(255)));
    let (e, v) = a.match_("/w/ABC", &Method::GET).unwrap();
    assert_eq!((e, v.get::<&str>("w")), ("w", Some("abc")));
    assert_eq!(
        a.match_("/w/abc", &Method::GET).unwrap_err(),
        RoutingError::NotFound
    );
    // And the built-ins, with and without arguments, through the shortcut.
    let map = Map::new([
        Rule::new("/n/<int:n>", "n"),
        Rule::new("/m/<int(max=5):n>", "m"),
        Rule::new("/w/<w>", "w"),
        Rule::new("/s/<string(length=2):s>", "s"),
    ]);
    let a = map.bind("x", "");
    assert_eq!(
        a.match_("/n/007", &Method::GET).unwrap().1.get::<i64>("n"),
        Some(7)
    );
    assert_eq!(
        a.match_("/n/-1", &Method::GET).unwrap_err(),
        RoutingError::NotFound
    );
    assert_eq!(
        a.match_("/n/99999999999999999999", &Method::GET)
            .unwrap_err(),
        RoutingError::NotFound
    );
    assert_eq!(
        a.match_("/m/6", &Method::GET).unwrap_err(),
        RoutingError::NotFound
    );
    assert_eq!(
        a.match_("/w/a b", &Method::GET).unwrap().1.get::<&str>("w"),
        Some("a b")
    );
    assert!(a.match_("/s/abc", &Method::GET).is_err());
    assert_eq!(a.match_("/s/ab", &Method::GET).unwrap().0, "s");
}

#[test]
fn routing_errors_are_http_exceptions() {
    let map = Map::new([Rule::new("/a/", "a")]);
    fn view(map: &Map<Ep>, req: &Request) -> Result<Response, HttpException> {
        let a = map.bind_to_environ(req.environ());
        let (e, _) = a.match_(req.path(), req.method())?;
        Ok(Response::new(e))
    }
    let req = Request::new(EnvironBuilder::new("GET", "/a?x=1").build());
    let e = view(&map, &req).unwrap_err();
    assert_eq!(e.status(), 308);
    assert_eq!(e.headers()["location"], "http://localhost/a/?x=1");
    let res = map
        .bind_to_environ(req.environ())
        .match_("/a", &Method::GET)
        .unwrap_err()
        .into_response();
    assert_eq!(res.status(), 308);
    assert!(res.body_text().unwrap().contains("http://localhost/a/?x=1"));
}

#[test]
fn dispatch_and_url_for_in_an_app() {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    enum View {
        Index,
        Show,
    }
    struct App {
        map: Map<View>,
    }
    impl zeug::Application for App {
        fn call(&self, environ: Environ) -> Response {
            let request = Request::new(environ);
            let urls = self.map.bind_to_environ(request.environ());
            urls.dispatch(
                request.path(),
                request.method(),
                |view, values| -> Result<Response, HttpException> {
                    match view {
                        View::Index => {
                            let link = self.map.url_for(&request, &View::Show, &[("id", 7)])?;
                            Ok(Response::new(link))
                        }
                        View::Show => Ok(Response::new(format!(
                            "item {}",
                            values.get::<i64>("id").unwrap()
                        ))),
                    }
                },
            )
        }
    }
    let client = Client::new(App {
        map: Map::new([
            Rule::new("/", View::Index),
            Rule::new("/items/<int:id>/", View::Show),
        ]),
    });
    assert_eq!(client.get("/").send().text(), "/items/7/");
    assert_eq!(client.get("/items/7/").send().text(), "item 7");
    let res = client.get("/items/7?x=1").send();
    assert_eq!(res.status(), 308);
    assert_eq!(
        res.header("location"),
        Some("http://localhost/items/7/?x=1")
    );
    assert_eq!(client.get("/nope").send().status(), 404);
}

#[test]
fn bind_to_environ_reads_host_and_script_name() {
    let map = Map::new([Rule::new("/a", "a")]);
    let env = EnvironBuilder::new("GET", "https://Example.COM:443/a")
        .script_name("/app")
        .build();
    let a = map.bind_to_environ(&env);
    assert_eq!(a.server_name(), "example.com");
    assert_eq!(a.url_scheme(), "https");
    assert_eq!(
        a.build_with(&"a", &(), &BuildOptions::new().force_external(true))
            .unwrap(),
        "https://example.com/app/a"
    );
    let env = EnvironBuilder::new("GET", "http://example.com:8080/a").build();
    assert_eq!(map.bind_to_environ(&env).server_name(), "example.com:8080");
}

#[test]
fn map_is_send_sync_and_adapter_is_cheap() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Map<Ep>>();
    let map = std::sync::Arc::new(Map::new([Rule::new("/<int:n>", "n")]));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let map = map.clone();
            std::thread::spawn(move || {
                let a = map.bind("x", "");
                a.match_(&format!("/{i}"), &Method::GET)
                    .unwrap()
                    .1
                    .get::<i64>("n")
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), Some(i as i64));
    }
}

#[test]
fn hostile_paths_do_not_panic() {
    let map = Map::new([
        Rule::new("/", "i"),
        Rule::new("/<a>-<b>-<c>", "abc"),
        Rule::new("/<path:p>/edit", "e"),
        Rule::new("/x/<int:n>", "n"),
    ]);
    let a = map.bind("x", "");
    let long = format!("/{}", "-".repeat(2000));
    // Several variables in one segment backtrack; the check budget bounds the work on a
    // segment that can never match (`<int:c>` at the end of all dashes).
    let backtracking = Map::new([Rule::new("/<a>-<b>-<int:c>", "x")]);
    let b = backtracking.bind("x", "");
    assert_eq!(
        b.match_(&format!("/{}", "-".repeat(3000)), &Method::GET)
            .unwrap_err(),
        RoutingError::NotFound
    );
    assert_eq!(b.match_("/a-b-3", &Method::GET).unwrap().0, "x");
    for p in [
        "",
        "/",
        "//",
        "///",
        "/x/99999999999999999999999",
        "/\u{0}",
        "/é/ü",
        &long,
        "/x/%",
        "/a/../b",
    ] {
        let _ = a.match_(p, &Method::GET);
        let _ = a.allowed_methods(p);
    }
}

#[test]
fn fast_path_and_state_machine_agree_on_the_workload() {
    // Every path of the benchmark workload, matched by both engines.
    let rules = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/data/routing/rules.txt"
    ))
    .unwrap();
    let paths = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/data/routing/paths.txt"
    ))
    .unwrap();
    let map: Map<String> = Map::new(rules.lines().filter(|l| !l.trim().is_empty()).map(|l| {
        let mut it = l.split_whitespace();
        let (path, endpoint, methods) =
            (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
        Rule::new(path, endpoint.to_owned()).methods(methods.split(','))
    }));
    let a = map.bind("localhost", "");
    for line in paths.lines().filter(|l| !l.trim().is_empty()) {
        let mut it = line.split_whitespace();
        let (method, path, want) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let (got, values) = a.match_(path, &method).unwrap();
        assert_eq!(got, want, "{path}");
        let built = a
            .build_with(&got, &values, &BuildOptions::new().method(method.clone()))
            .unwrap();
        assert_eq!(built, path, "{path}");
    }
}

/// The map of `tests/fixtures/routing_werkzeug.py`, rule for rule.
fn werkzeug_map() -> Map<Ep> {
    Map::new([
        Rule::new("/", "index"),
        Rule::new("/<short_id>", "follow"),
        Rule::new("/<short_id>+", "details"),
        Rule::new("/page/<int:id>", "page_id"),
        Rule::new("/page/<name>", "page_name"),
        Rule::new("/page/new", "page_new").methods(["POST"]),
        Rule::new("/page/<float:f>", "page_float"),
        Rule::new("/f/<int(fixed_digits=3, max=500):n>", "fixed"),
        Rule::new("/s/<int(signed=True):n>", "signed"),
        Rule::new("/blog/", "blog"),
        Rule::new("/blog/<int:year>/", "year"),
        Rule::new("/blog/<int:year>/<slug>", "post").methods(["GET", "PUT"]),
        Rule::new("/files/<path:p>", "files"),
        Rule::new("/u/<uuid:u>", "uuid"),
        Rule::new("/a/<any(x, y, 'z w'):v>", "any"),
        Rule::new("/x-<a>.<int:b>", "mixed"),
        Rule::new("/loose", "loose").strict_slashes(false),
        Rule::new("/loose-branch/", "loose_branch").strict_slashes(false),
        Rule::new("/users/", "users").default("page", 1),
        Rule::new("/users/page/<int:page>", "users"),
        Rule::new("/l/<string(length=2):lang>", "lang"),
        Rule::new("/w/<path:p>/edit", "wiki_edit"),
        Rule::new("/w/<path:p>", "wiki"),
        Rule::new("/api/items", "items").methods(["GET"]),
        Rule::new("/api/items", "items_new").methods(["POST"]),
        Rule::new("/api/items/<int:id>", "item").methods(["GET", "DELETE"]),
        Rule::new("/old/<int:id>", "old").redirect_to("/page/<id>"),
        Rule::new("/about", "about"),
        Rule::new("/about-us", "about").alias(true),
        Rule::new("/nomerge/a", "nomerge").merge_slashes(false),
    ])
}

fn werkzeug_style(r: Result<(Ep, zeug::routing::Values), RoutingError>) -> String {
    match r {
        Ok((ep, values)) => {
            let mut items: Vec<(String, String)> = values
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::Int(i) => format!("i:{i}"),
                        Value::Float(x) => format!("f:{x:?}"),
                        Value::Uuid(u) => format!("u:{}", u.hyphenated()),
                        Value::Str(s) => format!("s:{s}"),
                        other => format!("?:{other}"),
                    };
                    (k.to_owned(), v)
                })
                .collect();
            items.sort();
            std::iter::once(ep.to_owned())
                .chain(items.into_iter().map(|(k, v)| format!("{k}={v}")))
                .collect::<Vec<_>>()
                .join(" ")
        }
        Err(RoutingError::RequestRedirect { location }) => format!("redirect {location}"),
        Err(RoutingError::MethodNotAllowed { allowed }) => format!(
            "405 {}",
            allowed
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(",")
        ),
        Err(e) => e.status().as_u16().to_string(),
    }
}

#[test]
fn differential_against_werkzeug() {
    // 8586 requests answered by Werkzeug 3.1 (tests/fixtures/routing_werkzeug.py); zeug
    // must give the same endpoint and values, redirect, 405 or 404 for each.
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/routing_werkzeug.txt"
    ))
    .unwrap();
    let map = werkzeug_map();
    let adapter = map.bind("example.com", "");
    let mut mismatches = Vec::new();
    let mut n = 0;
    for line in fixture.lines().filter(|l| !l.is_empty()) {
        let mut it = line.splitn(3, '\t');
        let (method, path, want) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let matched = adapter.match_(path, &method);
        if let Ok((endpoint, values)) = &matched {
            // Building from a match's `Values` and from the same pairs must agree.
            let pairs: Vec<(&str, Value)> = values.iter().map(|(k, v)| (k, v.clone())).collect();
            let options = BuildOptions::new().method(method.clone());
            let from_values = adapter.build_with(endpoint, values, &options);
            let from_pairs = adapter.build_with(endpoint, &pairs, &options);
            if from_values != from_pairs {
                mismatches.push(format!(
                    "(build back) {method} {path:?}: {from_values:?} from values, \
                     {from_pairs:?} from pairs"
                ));
            }
        }
        let got = werkzeug_style(matched);
        n += 1;
        // The one deliberate difference: Python's ints are unbounded, zeug's `int` is an
        // i64, so a 20-digit number is refused by the converter (a 404) where Werkzeug
        // matches or redirects with it.
        let big = "99999999999999999999";
        let bigint = want.contains(&format!("i:{big}"))
            || (want.starts_with("redirect") && want.contains(big));
        if bigint && got == "404" {
            continue;
        }
        if got != want {
            mismatches.push(format!(
                "{method} {path:?}: zeug {got:?}, Werkzeug {want:?}"
            ));
        }
    }
    assert!(n > 8000);
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first ones:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn random_paths_never_panic_and_build_back() {
    // A fuzz run without nightly: paths from an alphabet that hits every rule kind,
    // slashes, pluses, digits, dots and non-ASCII.
    let mut rng = common::TestRng::seed_from_u64(0x2ee6);
    let map = werkzeug_map();
    let adapter = map.bind("example.com", "");
    let pieces = [
        "/",
        "/",
        "/",
        "page",
        "blog",
        "files",
        "users",
        "u",
        "a",
        "f",
        "x-",
        "new",
        "3",
        "007",
        "1.5",
        "+",
        ".",
        "-",
        "abc",
        "z w",
        "é",
        "2024",
        "edit",
        "loose",
        "x",
        "y",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    ];
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::HEAD,
    ];
    for _ in 0..20_000 {
        let n = rng.gen_range(0..8);
        let mut path = String::new();
        if rng.gen_bool(0.9) {
            path.push('/');
        }
        for _ in 0..n {
            path.push_str(pieces[rng.gen_range(0..pieces.len())]);
        }
        let method = &methods[rng.gen_range(0..methods.len())];
        if let Ok((endpoint, values)) = adapter.match_(&path, method) {
            // A match builds back (to the path, or to its canonical form).
            let options = BuildOptions::new().method(method.clone());
            let built = adapter.build_with(&endpoint, &values, &options);
            assert!(built.is_ok(), "{method} {path:?}: {built:?}");
        }
    }
}

fn parse_typed(v: &str) -> Value {
    let (kind, text) = v.split_once(':').unwrap();
    match kind {
        "i" => Value::Int(text.parse().unwrap()),
        "f" => Value::Float(text.parse().unwrap()),
        "u" => Value::Uuid(text.parse().unwrap()),
        _ => Value::Str(text.into()),
    }
}

#[test]
fn differential_building_against_werkzeug() {
    // 5152 builds answered by Werkzeug 3.1 (`routing_werkzeug.py --build`): every endpoint
    // of the map with many value sets, methods and force_external.
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/routing_werkzeug_build.txt"
    ))
    .unwrap();
    let map = werkzeug_map();
    let adapter = map.bind("example.com", "");
    let endpoints: Vec<Ep> = map.rules().map(|r| *r.endpoint()).collect();
    let mut mismatches = Vec::new();
    let mut n = 0;
    for line in fixture.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let endpoint = *endpoints.iter().find(|e| **e == f[1]).unwrap();
        let values: Vec<(String, Value)> = f[2]
            .split('|')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_owned(), parse_typed(v))
            })
            .collect();
        let mut options = BuildOptions::new().force_external(f[4] == "1");
        if f[3] != "-" {
            options = options.method(Method::from_bytes(f[3].as_bytes()).unwrap());
        }
        let got = adapter
            .build_with(&endpoint, &values, &options)
            .unwrap_or_else(|_| "error".to_owned());
        n += 1;
        // `build_into` appends the same URL, or leaves the buffer alone on an error.
        let mut buf = String::from("<a href=");
        let into = adapter.build_into(&mut buf, &endpoint, &values, &options);
        let want_buf = match into {
            Ok(()) => format!("<a href={got}"),
            Err(_) => "<a href=".to_owned(),
        };
        if buf != want_buf || into.is_err() != (got == "error") {
            mismatches.push(format!("{line}: build_into wrote {buf:?}"));
        }
        // The same pairs as `Values` (when no name repeats) build the same URL.
        let mut names: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        if names.len() == values.len() {
            let as_values: Values = values.iter().cloned().collect();
            let from_values = adapter
                .build_with(&endpoint, &as_values, &options)
                .unwrap_or_else(|_| "error".to_owned());
            if from_values != got {
                mismatches.push(format!("{line}: from Values {from_values:?}, {got:?}"));
            }
        }
        // Two deliberate differences:
        // - Werkzeug's `any` writes its value unescaped (`/a/z w`, not a valid URL);
        //   zeug percent-encodes it like every other value.
        // - A value given as text equal to a default's text ("1" for 1) counts as that
        //   default in zeug (so `&[("page", "1")]` works); Python compares "1" != 1.
        let any_space =
            f[1] == "any" && f[5].contains("z w") && got == f[5].replace("z w", "z%20w");
        let text_default = f[2] == "page=s:1" && got.ends_with("/users/");
        if got != f[5] && !any_space && !text_default {
            mismatches.push(format!("{line}: zeug {got:?}"));
        }
    }
    assert!(n > 5000);
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first ones:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn match_request_matches_the_bound_request() {
    let map = Map::new([
        Rule::new("/show/<int:id>", "show").methods(["GET"]),
        Rule::new("/items/", "items"),
    ]);
    let env = EnvironBuilder::new("GET", "/show/7").build();
    let (endpoint, values) = map.bind_to_environ(&env).match_request().unwrap();
    assert_eq!((endpoint, values.get::<i64>("id")), ("show", Some(7)));
    // The bound method counts: a POST to a GET-only rule is a 405.
    let env = EnvironBuilder::new("POST", "/show/7").build();
    assert_eq!(
        map.bind_to_environ(&env).match_request().unwrap_err(),
        RoutingError::MethodNotAllowed {
            allowed: vec![Method::GET, Method::HEAD]
        }
    );
    // Redirects keep the request's query string, as with `match_`.
    let env = EnvironBuilder::new("GET", "/items?page=2").build();
    assert_eq!(
        map.bind_to_environ(&env)
            .match_request()
            .unwrap_err()
            .redirect_location(),
        Some("http://localhost/items/?page=2")
    );
    // Mounted below a script name, the path below it is matched.
    let env = EnvironBuilder::new("GET", "/show/3")
        .script_name("/app")
        .build();
    assert_eq!(map.bind_to_environ(&env).match_request().unwrap().0, "show");
    // `bind` has no request: it matches `/` unless given a path.
    let a = map.bind("example.com", "");
    assert_eq!(a.match_request().unwrap_err(), RoutingError::NotFound);
    assert_eq!(
        a.with_path_info("/show/1").match_request().unwrap().0,
        "show"
    );
}

#[test]
fn values_parse_into_structs_and_fail_as_500() {
    #[derive(serde::Deserialize)]
    struct Show {
        id: u32,
        slug: String,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Wrong {
        id: String,
        title: String,
    }
    fn view(request: &Request) -> Result<Response, HttpException> {
        let map = Map::new([Rule::new("/show/<int:id>/<slug>", "show")]);
        let (_, values) = map.bind_to_environ(request.environ()).match_request()?;
        if request.args().get("wrong").is_some() {
            let wrong: Wrong = values.parse()?;
            return Ok(Response::new(format!("{wrong:?}")));
        }
        let Show { id, slug } = values.parse()?;
        Ok(Response::new(format!("{id} {slug}")))
    }
    let client = Client::new(|env: Environ| view(&Request::new(env)));
    let ok = client.get("/show/7/hi").send();
    assert_eq!((ok.status().as_u16(), ok.text()), (200, "7 hi".to_owned()));
    assert_eq!(client.get("/show/x/hi").send().status(), 404);
    // A struct that does not fit the rule is the server's bug: 500, no detail leaked.
    let res = client.get("/show/7/hi?wrong=1").send();
    assert_eq!(res.status(), 500);
    assert!(!res.text().contains("missing field"));
}

#[test]
fn builds_from_serialize_structs_and_mixed_pairs() {
    #[derive(serde::Serialize)]
    struct Post<'a> {
        year: i32,
        slug: &'a str,
        page: Option<u32>,
    }
    let map = Map::new([Rule::new("/blog/<int:year>/<slug>", "post")]);
    let a = map.bind("example.com", "");
    let values = Values::from_serialize(&Post {
        year: 2024,
        slug: "a b",
        page: Some(2),
    })
    .unwrap();
    assert_eq!(
        a.build(&"post", &values).unwrap(),
        "/blog/2024/a%20b?page=2"
    );
    // Mixed types: a tuple of pairs, `Value`s named with `.into()`, or a first `Value`.
    assert_eq!(
        a.build(&"post", &(("year", 2024), ("slug", "x"))).unwrap(),
        "/blog/2024/x"
    );
    let mixed = Values::from([("year", 2024.into()), ("slug", "x".into())]);
    assert_eq!(a.build(&"post", &mixed).unwrap(), "/blog/2024/x");
    assert_eq!(
        a.build(&"post", &[("year", Value::from(1)), ("slug", "y".into())])
            .unwrap(),
        "/blog/1/y"
    );
    // The int converter refuses text that is not a number.
    assert!(a.build(&"post", &(("year", "x"), ("slug", "y"))).is_err());
}

#[test]
fn relative_redirect_to_resolves_dot_segments() {
    // Werkzeug 3.1.9: `../c` from the application root is `/c`, not `/../c`.
    let map = Map::new([
        Rule::new("/deep/a/b", "old").redirect_to("../c"),
        Rule::new("/x/<int:n>", "x").redirect_to("./v/<n>/../q"),
    ]);
    let redirect = |script: &str, path: &str| {
        map.bind("example.com", script)
            .match_(path, &Method::GET)
            .unwrap_err()
            .redirect_location()
            .map(str::to_owned)
    };
    assert_eq!(
        redirect("", "/deep/a/b").as_deref(),
        Some("http://example.com/c")
    );
    assert_eq!(
        redirect("/app", "/deep/a/b").as_deref(),
        Some("http://example.com/c")
    );
    assert_eq!(
        redirect("/app", "/x/3").as_deref(),
        Some("http://example.com/app/v/q")
    );
}

// Converters, values and building, one public piece at a time.

mod pieces {
    use serde::{Deserialize, Serialize};
    use uuid::Uuid;
    use zeug::HttpException;
    use zeug::routing::{
        AnyConverter, BuildOptions, Converter, ConverterArgs, FloatConverter, IntConverter, Map,
        Method, PathConverter, Refusal, Rule, StringConverter, UuidConverter, Value, Values,
    };

    #[test]
    fn typed_access() {
        let mut v = Values::new();
        v.insert("n", 5);
        v.insert("f", 1.5);
        v.insert("s", "7");
        let id = Uuid::nil();
        v.insert("u", id);
        assert_eq!(v.get::<u8>("n"), Some(5));
        assert_eq!(v.get::<f64>("n"), Some(5.0));
        assert_eq!(v.get::<f64>("f"), Some(1.5));
        assert_eq!(v.get::<i64>("s"), Some(7));
        assert_eq!(v.get::<String>("n").as_deref(), Some("5"));
        assert_eq!(v.get::<Uuid>("u"), Some(id));
        assert_eq!(v.get::<bool>("n"), None);
        v.insert("n", 6);
        assert_eq!(v.len(), 4);
        assert_eq!(v.remove("n"), Some(Value::Int(6)));
        assert!(!v.contains("n"));
    }

    #[test]
    fn parses_into_structs_strictly() {
        #[derive(Deserialize, Debug, PartialEq)]
        enum Kind {
            #[serde(rename = "a")]
            A,
            #[serde(rename = "b")]
            B,
        }
        #[derive(Deserialize, Debug, PartialEq)]
        struct All {
            id: u8,
            name: String,
            kind: Kind,
            ratio: f64,
            page: Option<u32>,
            missing: Option<u32>,
        }
        let mut v = Values::new();
        v.insert("id", 7);
        v.insert("name", "x y");
        v.insert("kind", "b");
        v.insert("ratio", 2);
        v.insert("page", "3");
        v.insert("extra", true);
        let all: All = v.parse().unwrap();
        assert_eq!(
            all,
            All {
                id: 7,
                name: "x y".into(),
                kind: Kind::B,
                ratio: 2.0,
                page: Some(3),
                missing: None
            }
        );
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Small {
            id: u8,
        }
        v.insert("id", 700);
        let e = v.parse::<Small>().unwrap_err();
        assert!(e.to_string().contains("expected a u8"), "{e}");
        v.insert("kind", "c");
        assert!(v.parse::<All>().is_err());
        v.insert("id", Value::custom(1));
        assert!(v.parse::<Small>().is_err());
        assert_eq!(
            HttpException::from(v.parse::<Small>().unwrap_err()).status(),
            500
        );
    }

    #[test]
    fn serializes_flat_values() {
        #[derive(Serialize)]
        struct Args<'a> {
            id: u64,
            name: &'a str,
            skip: Option<i32>,
            flag: bool,
        }
        let v = Values::from_serialize(&Args {
            id: 3,
            name: "a b&c",
            skip: None,
            flag: true,
        })
        .unwrap();
        let pairs: Vec<(&str, String)> = v.iter().map(|(k, v)| (k, v.to_string())).collect();
        let expected = [("id", "3"), ("name", "a b&c"), ("flag", "true")];
        assert_eq!(pairs, expected.map(|(k, v)| (k, v.to_owned())));
        let pairs = Values::from_serialize(&[("a", 1), ("b", 2)]).unwrap();
        assert_eq!(pairs.get::<i64>("b"), Some(2));
        assert!(Values::from_serialize(&3).is_err());
        #[derive(Serialize)]
        struct Nested {
            inner: Vec<i32>,
        }
        assert!(Values::from_serialize(&Nested { inner: vec![1] }).is_err());
    }

    #[test]
    fn uuid_shapes() {
        let u = UuidConverter;
        assert!(u.matches("a8098c1a-f86e-11da-bd1a-00112444be1e"));
        assert!(u.matches("A8098C1A-F86E-11DA-BD1A-00112444BE1E"));
        assert!(!u.matches("a8098c1a-f86e-11da-bd1a-00112444be1"));
        assert!(!u.matches("a8098c1af-86e-11da-bd1a-00112444be1e"));
        assert!(!u.matches("a8098c1a-f86e-11da-bd1a-00112444be1g"));
        assert!(!u.matches("a8098c1a-f86e-11da-bd1a-00112444bé1"));
    }

    /// Whether a text has the converter's shape: `to_value` does not refuse it as a
    /// mismatch (it may still be an invalid value).
    trait Shape {
        fn matches(&self, text: &str) -> bool;
    }

    impl<C: Converter + ?Sized> Shape for C {
        fn matches(&self, text: &str) -> bool {
            !matches!(self.to_value(text), Err(Refusal::Mismatch))
        }
    }

    fn make(name: &str, args: &str) -> Result<Box<dyn Converter>, String> {
        let args = ConverterArgs::parse(args)?;
        Ok(match name {
            "string" | "default" => Box::new(StringConverter::from_args(&args)?),
            "int" => Box::new(IntConverter::from_args(&args)?),
            "float" => Box::new(FloatConverter::from_args(&args)?),
            "uuid" => Box::new(UuidConverter::from_args(&args)?),
            "any" => Box::new(AnyConverter::from_args(&args)?),
            "path" => Box::new(PathConverter::from_args(&args)?),
            _ => return Err(format!("unknown converter {name}")),
        })
    }

    fn url(c: &dyn Converter, v: impl Into<Value>) -> Option<String> {
        let mut s = String::new();
        c.to_url(&v.into(), &mut s).then_some(s)
    }

    #[test]
    fn string_lengths() {
        let c = make("string", "length=2").unwrap();
        assert!(c.matches("de") && !c.matches("d") && !c.matches("deu"));
        assert!(c.matches("éà"));
        let c = make("string", "minlength=2, maxlength=3").unwrap();
        assert!(!c.matches("a") && c.matches("ab") && c.matches("abc") && !c.matches("abcd"));
        let c = make("default", "").unwrap();
        assert!(!c.matches("") && c.matches("x"));
        assert!(make("string", "maxlength=1, minlength=2").is_err());
        assert!(make("string", "bogus=1").is_err());
        assert!(make("string", "minlength='x'").is_err());
    }

    #[test]
    fn int_like_werkzeug() {
        let c = make("int", "").unwrap();
        assert!(c.matches("007") && !c.matches("-1") && !c.matches("1.0") && !c.matches(""));
        assert_eq!(c.to_value("007"), Ok(Value::Int(7)));
        assert_eq!(c.to_value("99999999999999999999"), Err(Refusal::Invalid));
        let c = make("int", "fixed_digits=4").unwrap();
        assert_eq!(c.to_value("123"), Err(Refusal::Invalid));
        assert_eq!(c.to_value("0123"), Ok(Value::Int(123)));
        assert_eq!(url(&*c, 5).as_deref(), Some("0005"));
        let plain = make("int", "signed=True").unwrap();
        for n in [0, 7, -7, 1234567890, i64::MIN, i64::MAX] {
            assert_eq!(url(&*plain, n), Some(n.to_string()));
        }
        let c = make("int", "signed=True, min=-3, max=3").unwrap();
        assert!(c.matches("-2"));
        assert_eq!(c.to_value("-4"), Err(Refusal::Invalid));
        assert_eq!(c.to_value("-3"), Ok(Value::Int(-3)));
        let c = make("int", "3, signed=True").unwrap();
        assert_eq!(url(&*c, -5).as_deref(), Some("-05"));
        assert_eq!(url(&*c, "x"), None);
        assert!(make("int", "signed=1").is_err());
    }

    #[test]
    fn float_like_werkzeug() {
        let c = make("float", "").unwrap();
        assert!(c.matches("1.5") && !c.matches("1") && !c.matches(".5") && !c.matches("1."));
        assert!(!c.matches("-1.5") && !c.matches("1e5") && !c.matches("inf"));
        assert_eq!(url(&*c, 1.0).as_deref(), Some("1.0"));
        assert_eq!(url(&*c, 2).as_deref(), Some("2.0"));
        let c = make("float", "signed=True, max=0.5").unwrap();
        assert!(c.matches("-1.5"));
        assert_eq!(c.to_value("0.75"), Err(Refusal::Invalid));
        assert_eq!(url(&*c, f64::NAN), None);
    }

    #[test]
    fn uuid_any_path() {
        let c = make("uuid", "").unwrap();
        assert!(c.matches("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"));
        assert!(!c.matches("a0eebc999c0b4ef8bb6d6bb9bd380a11"));
        assert!(!c.matches("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g"));
        let c = make("any", "about, 'foo,bar'").unwrap();
        assert!(c.matches("foo,bar") && c.matches("about") && !c.matches("foo"));
        assert_eq!(url(&*c, "nope"), None);
        assert!(make("any", "").is_err());
        let c = make("path", "").unwrap();
        assert!(c.matches("a/b") && !c.matches("/a") && !c.matches(""));
        assert!(!c.part_isolating());
        assert!(make("path", "x=1").is_err());
    }

    #[test]
    fn builds_by_standard_and_other_methods() {
        let map = Map::new([
            Rule::new("/purge/<int:id>", "x").methods(["PURGE"]),
            Rule::new("/get/<int:id>", "x").methods(["GET", "PROPFIND"]),
            Rule::new("/any/<int:id>", "y"),
        ]);
        let a = map.bind("localhost", "");
        let with = |m: &str| {
            let options = BuildOptions::new().method(Method::from_bytes(m.as_bytes()).unwrap());
            a.build_with(&"x", &[("id", 1)], &options).ok()
        };
        assert_eq!(with("PURGE").as_deref(), Some("/purge/1"));
        assert_eq!(with("PROPFIND").as_deref(), Some("/get/1"));
        assert_eq!(with("GET").as_deref(), Some("/get/1"));
        assert_eq!(with("HEAD").as_deref(), Some("/get/1"));
        assert_eq!(with("POST"), None);
        assert_eq!(with("MKCOL"), None);
        let options = BuildOptions::new().method(Method::from_bytes(b"MKCOL").unwrap());
        assert_eq!(
            a.build_with(&"y", &[("id", -7)], &options).as_deref(),
            Ok("/any/-7")
        );
    }

    #[test]
    fn query_encoding_like_werkzeug() {
        let map = Map::new([Rule::new("/", "i")]);
        let url = map
            .bind("h", "")
            .build(&"i", &[("q", "a b&c=d/e:f+g")])
            .unwrap();
        assert_eq!(url, "/?q=a+b%26c%3Dd/e:f%2Bg");
    }

    #[test]
    fn redirect_to_resolves_like_werkzeug() {
        // (script name, target, Werkzeug 3.1.9's location for a rule redirecting there)
        let cases = [
            ("", "../c", "http://example.com/c"),
            ("", "c", "http://example.com/c"),
            ("", "https://o/p", "https://o/p"),
            ("", "//o/a/../p", "http://o/a/../p"),
            ("", "?q=1", "http://example.com/?q=1"),
            ("", "#f", "http://example.com/#f"),
            ("", "..", "http://example.com/"),
            ("", "../../..", "http://example.com/"),
            ("", "mailto:x@y", "mailto:x@y"),
            ("", "/é/../ü", "http://example.com/ü"),
            ("/app", "../c", "http://example.com/c"),
            ("/app", "c", "http://example.com/app/c"),
            ("/app", "/x", "http://example.com/x"),
            ("/app", "?q=1", "http://example.com/app/?q=1"),
            ("/app", ".", "http://example.com/app/"),
            ("/app", "./", "http://example.com/app/"),
            ("/app", "a/./b/../c", "http://example.com/app/a/c"),
            ("/app", "/a//../b", "http://example.com/a/b"),
            ("/app", "c?x=/../y#z", "http://example.com/app/c?x=/../y#z"),
            ("/app", "HTTPS://o/./p", "HTTPS://o/./p"),
            ("/app/x", "../c", "http://example.com/app/c"),
            ("/app/x", "..", "http://example.com/app/"),
            ("/app/x", "../c/", "http://example.com/app/c/"),
            ("/app/x", "../../..", "http://example.com/"),
        ];
        for (script, target, expected) in cases {
            let map = Map::new([Rule::new("/deep/a/b", "old").redirect_to(target)]);
            let err = map
                .bind("example.com", script)
                .match_("/deep/a/b", &Method::GET);
            let location = err.unwrap_err().redirect_location().map(str::to_owned);
            assert_eq!(location.as_deref(), Some(expected), "{script:?} {target:?}");
        }
    }

    #[test]
    fn parses_converter_arguments() {
        let a =
            ConverterArgs::parse(r#"about, "foo,bar", 'x y', n=2, f=0.5, b=True, z=None"#).unwrap();
        assert_eq!(
            a.positional(),
            &[
                zeug::routing::ArgValue::Str("about".into()),
                zeug::routing::ArgValue::Str("foo,bar".into()),
                zeug::routing::ArgValue::Str("x y".into())
            ]
        );
        assert_eq!(a.get("n"), Some(&zeug::routing::ArgValue::Int(2)));
        assert_eq!(a.get("f"), Some(&zeug::routing::ArgValue::Float(0.5)));
        assert_eq!(a.get("b"), Some(&zeug::routing::ArgValue::Bool(true)));
        assert_eq!(a.get("z"), Some(&zeug::routing::ArgValue::None));
        assert!(ConverterArgs::parse("a=1, 2").is_err());
        assert!(ConverterArgs::parse("a=1, a=2").is_err());
        assert!(ConverterArgs::parse("'open").is_err());
        assert!(ConverterArgs::parse("a b").is_err());
        assert_eq!(ConverterArgs::parse("").unwrap(), ConverterArgs::default());
    }

    #[test]
    fn rejects_bad_variables() {
        let refused = |rule: &str| Map::try_new([Rule::new(rule, ())]).unwrap_err().to_string();
        assert!(refused("/<int:id").contains("never closed"));
        assert!(refused("/<a/b>").contains("never closed"));
        for rule in [
            "/<1a>",
            "/<int:>",
            "/<int(3:x>",
            "/<int x>",
            "/{id}",
            "/:id",
            "/*rest",
        ] {
            assert!(Map::try_new([Rule::new(rule, ())]).is_err(), "{rule}");
        }
        assert!(refused("/{id}").contains("another router's syntax"));
        assert!(Map::try_new([Rule::new("/a:b/{", ())]).is_ok());
    }
}
