//! HTML text helpers: [`escape_html`]. Also reachable as `zeug::utils::escape_html`.
//!
//! A leaf module: it knows nothing of requests or responses, so error pages, redirects and
//! the debugger can all use it.

/// Escapes text for HTML element content and attribute values.
///
/// # Examples
///
/// ```
/// assert_eq!(zeug::html::escape_html("<a href=\"x\">&</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
/// ```
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}
