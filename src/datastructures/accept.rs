//! [`Accept`]: a parsed `Accept`, `Accept-Language`, `Accept-Encoding` or `Accept-Charset`
//! header with quality values.

/// The most items kept from one `Accept*` header (browsers send a dozen); the rest are
/// ignored so a hostile header cannot make negotiation slow.
pub const MAX_ACCEPT_ITEMS: usize = 128;

/// A parsed `Accept*` header: values with their quality, best first.
///
/// Malformed items are skipped and a bad `q` counts as 0, so hostile headers never fail.
/// Language tags match across subtags both ways (`en` accepts `en-US`, and `de-DE` accepts
/// `de`, as RFC 4647 lookup does; Werkzeug tries that only when nothing matches exactly),
/// ignoring case and `_`/`-`.
///
/// # Examples
///
/// ```
/// use zeug::datastructures::Accept;
///
/// let accept = Accept::parse("text/html, application/json;q=0.9, */*;q=0.1");
/// assert_eq!(accept.quality("application/json"), 0.9);
/// assert_eq!(accept.quality("image/png"), 0.1);
/// assert_eq!(accept.best_match(&["application/json", "text/html"]), Some("text/html"));
/// assert_eq!(accept.best(), Some("text/html"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accept {
    values: Vec<(String, f32)>,
}

impl Accept {
    /// Parses a header value; items are kept in order of descending quality (stable, so
    /// equal qualities keep header order). An item with `q=0` is recorded as refused.
    pub fn parse(header: &str) -> Self {
        let mut values = Vec::new();
        for item in header.split(',').take(MAX_ACCEPT_ITEMS) {
            let mut parts = item.split(';');
            let value = parts.next().unwrap_or("").trim();
            if value.is_empty() || value.len() > 256 {
                continue;
            }
            let mut q = 1.0f32;
            for param in parts {
                if let Some((k, v)) = param.split_once('=') {
                    if k.trim().eq_ignore_ascii_case("q") {
                        q = v
                            .trim()
                            .parse::<f32>()
                            .ok()
                            .filter(|q| q.is_finite())
                            .unwrap_or(0.0)
                            .clamp(0.0, 1.0);
                    }
                }
            }
            values.push((value.to_owned(), q));
        }
        values.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
        Accept { values }
    }

    /// The accepted values and their qualities, best first.
    pub fn values(&self) -> impl Iterator<Item = (&str, f32)> {
        self.values.iter().map(|(v, q)| (v.as_str(), *q))
    }

    /// Whether the header listed nothing.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The quality the client gives `offer` (0 when not accepted). The most specific
    /// matching item decides: `text/html` over `text/*` over `*/*`.
    pub fn quality(&self, offer: &str) -> f32 {
        self.match_offer(offer).map_or(0.0, |(_, q)| q)
    }

    /// The most specific item matching `offer`: its specificity and quality.
    fn match_offer(&self, offer: &str) -> Option<(u8, f32)> {
        let mut best: Option<(u8, f32)> = None;
        for (value, q) in &self.values {
            if let Some(spec) = specificity(value, offer) {
                if best.map_or(true, |(s, _)| spec > s) {
                    best = Some((spec, *q));
                }
            }
        }
        best
    }

    /// Whether `offer` is acceptable (quality above 0).
    pub fn accepts(&self, offer: &str) -> bool {
        self.quality(offer) > 0.0
    }

    /// The offer the client likes best: the highest quality, then the most specific match
    /// (`text/html` over `text/*`), then the earlier offer, as Werkzeug. `None` when none is
    /// acceptable. An empty (or missing) header accepts anything, so the first offer wins.
    pub fn best_match<'a>(&self, offers: &[&'a str]) -> Option<&'a str> {
        if self.values.is_empty() {
            return offers.first().copied();
        }
        let mut best: Option<(&'a str, f32, u8)> = None;
        for offer in offers {
            if let Some((spec, q)) = self.match_offer(offer) {
                let better = best.map_or(true, |(_, bq, bs)| q > bq || (q == bq && spec > bs));
                if q > 0.0 && better {
                    best = Some((offer, q, spec));
                }
            }
        }
        best.map(|(o, _, _)| o)
    }

    /// The client's most preferred value.
    pub fn best(&self) -> Option<&str> {
        self.values
            .iter()
            .find(|(_, q)| *q > 0.0)
            .map(|(v, _)| v.as_str())
    }
}

/// How specifically `pattern` matches `offer`; `None` if it does not. Compares without
/// allocating: ASCII case is ignored and `_` equals `-` (for `en_US` / `en-US`).
fn specificity(pattern: &str, offer: &str) -> Option<u8> {
    if pattern == "*" || pattern == "*/*" {
        return Some(0);
    }
    let same = |a: &[u8], b: &[u8]| {
        a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| norm(x) == norm(y))
    };
    if same(pattern.as_bytes(), offer.as_bytes()) {
        return Some(3);
    }
    match (pattern.split_once('/'), offer.split_once('/')) {
        (Some((pt, "*")), Some((ot, _))) if pt.eq_ignore_ascii_case(ot) => return Some(1),
        (Some(_), _) | (_, Some(_)) => return None,
        _ => {}
    }
    // Languages: `en` matches `en-US`, and `en-US` matches `en`.
    let (short, long) = if pattern.len() < offer.len() {
        (pattern, offer)
    } else {
        (offer, pattern)
    };
    let (short, long) = (short.as_bytes(), long.as_bytes());
    if same(short, &long[..short.len()]) && norm(long[short.len()]) == b'-' {
        return Some(2);
    }
    None
}

fn norm(b: u8) -> u8 {
    match b {
        b'_' => b'-',
        b => b.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_headers_parse() {
        let a = Accept::parse(";;;,q=,text/html;q=abc,,*/*;q=NaN, x;q=2");
        assert_eq!(a.quality("text/html"), 0.0);
        assert_eq!(a.quality("x"), 1.0);
    }

    #[test]
    fn languages_match_by_prefix() {
        let a = Accept::parse("de-DE, en;q=0.5");
        assert_eq!(a.best_match(&["en-US", "fr"]), Some("en-US"));
        assert_eq!(a.best_match(&["fr"]), None);
        assert_eq!(a.best_match(&["de", "en"]), Some("de"));
    }

    #[test]
    fn matching_ignores_case_and_underscores() {
        let a = Accept::parse("EN_us, Text/*;q=0.5");
        assert_eq!(a.quality("en-US"), 1.0);
        assert_eq!(a.quality("en"), 1.0);
        assert_eq!(a.quality("text/HTML"), 0.5);
        assert_eq!(a.quality("e"), 0.0);
        assert_eq!(Accept::parse("ab").quality("aé"), 0.0);
        assert_eq!(Accept::parse("aé-x").quality("a\u{e9}"), 1.0);
        assert_eq!(a.quality("image/png"), 0.0);
        let many = "x, ".repeat(10_000);
        assert_eq!(Accept::parse(&many).values().count(), MAX_ACCEPT_ITEMS);
    }

    #[test]
    fn ties_go_to_the_more_specific_match_like_werkzeug() {
        let a = Accept::parse("application/json;q=0.5, text/*;q=0.5");
        assert_eq!(
            a.best_match(&["text/plain", "application/json"]),
            Some("application/json")
        );
        let a = Accept::parse("en");
        assert_eq!(a.best_match(&["en-US", "en"]), Some("en"));
        let a = Accept::parse("text/plain, text/html");
        assert_eq!(
            a.best_match(&["text/html", "text/plain"]),
            Some("text/html")
        );
    }

    #[test]
    fn specific_wins_over_wildcard() {
        let a = Accept::parse("*/*;q=0.5, text/html;q=0");
        assert_eq!(a.quality("text/html"), 0.0);
        assert_eq!(a.quality("text/plain"), 0.5);
    }
}
