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
    /// Whether a header was parsed (an empty one accepts nothing; a missing one anything).
    sent: bool,
}

impl Accept {
    /// Parses a header value; items are kept in order of descending quality (stable, so
    /// equal qualities keep header order). An item with `q=0` is recorded as refused; an
    /// item whose `q` is not a number from 0 to 1 is dropped, as Werkzeug does.
    ///
    /// Media-type parameters other than `q` are kept (`text/html; level=1`) and take part
    /// in matching: such an item matches only an offer with the same parameters (names
    /// and values compared without case, in any order). An item without parameters also
    /// matches an offer that has some, less specifically (Werkzeug would not match it).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::datastructures::Accept;
    /// let a = Accept::parse("text/html;level=1;q=0.5, text/html;q=0.9, */*;q=7");
    /// assert_eq!(a.values().collect::<Vec<_>>(), [("text/html", 0.9), ("text/html; level=1", 0.5)]);
    /// assert_eq!(a.quality("text/html; level=1"), 0.5);
    /// assert_eq!(a.quality("text/html"), 0.9);
    /// // A header that was sent but lists nothing accepts nothing (a missing one, anything).
    /// assert_eq!(Accept::parse("").best_match(&["text/html"]), None);
    /// assert_eq!(Accept::default().best_match(&["text/html"]), Some("text/html"));
    /// ```
    pub fn parse(header: &str) -> Self {
        let mut values = Vec::new();
        'items: for item in header.split(',').take(MAX_ACCEPT_ITEMS) {
            let mut parts = item.split(';');
            let value = parts.next().unwrap_or("").trim();
            if value.is_empty() || value.len() > 256 || value.contains('=') {
                continue;
            }
            let is_media = value.contains('/');
            let mut q = 1.0f32;
            let mut kept = String::new();
            for param in parts {
                let Some((k, v)) = param.split_once('=') else {
                    continue;
                };
                let (k, v) = (k.trim(), v.trim());
                if k.eq_ignore_ascii_case("q") {
                    match v.parse::<f32>() {
                        Ok(parsed) if (0.0..=1.0).contains(&parsed) => q = parsed,
                        _ => continue 'items,
                    }
                } else if is_media && !k.is_empty() && kept.len() < 256 {
                    kept.push_str("; ");
                    kept.push_str(k);
                    kept.push('=');
                    kept.push_str(v);
                }
            }
            let mut value = value.to_owned();
            value.push_str(&kept);
            values.push((value, q));
        }
        values.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
        Accept { values, sent: true }
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
                if best.is_none_or(|(s, _)| spec > s) {
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
    /// acceptable. A missing header ([`Accept::default`]) accepts anything, so the first
    /// offer wins; a header that was sent but lists nothing valid (`""`, `",,"`) accepts
    /// nothing, as in Werkzeug.
    pub fn best_match<'a>(&self, offers: &[&'a str]) -> Option<&'a str> {
        if self.values.is_empty() && !self.sent {
            return offers.first().copied();
        }
        let mut best: Option<(&'a str, f32, u8)> = None;
        for offer in offers {
            if let Some((spec, q)) = self.match_offer(offer) {
                let better = best.is_none_or(|(_, bq, bs)| q > bq || (q == bq && spec > bs));
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

/// How specifically `pattern` matches `offer`; `None` if it does not. Media-type
/// parameters are compared by [`params_match`]; the rest without allocating: ASCII case is
/// ignored and `_` equals `-` (for `en_US` / `en-US`).
fn specificity(pattern: &str, offer: &str) -> Option<u8> {
    if pattern.contains(';') || offer.contains(';') {
        let (pattern, pattern_params) = pattern.split_once(';').unwrap_or((pattern, ""));
        let (offer, offer_params) = offer.split_once(';').unwrap_or((offer, ""));
        let (pattern, offer) = (pattern.trim(), offer.trim());
        let spec = specificity(pattern, offer)?;
        // Wildcards ignore parameters, as Werkzeug.
        if spec < 3 {
            return Some(spec);
        }
        if params_match(pattern_params, offer_params) {
            return Some(4);
        }
        // A plain item accepts the offer whatever its parameters, less specifically.
        return pattern_params.trim().is_empty().then_some(2);
    }
    if pattern == "*" || pattern == "*/*" {
        return Some(0);
    }
    let same = |a: &[u8], b: &[u8]| {
        a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| norm(x) == norm(y))
    };
    if same(pattern.as_bytes(), offer.as_bytes()) {
        return Some(4);
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

/// Whether two `;`-separated parameter lists are the same set of `name=value` pairs,
/// ignoring case, order, spaces and quotes.
fn params_match(a: &str, b: &str) -> bool {
    fn normalise(list: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = list
            .split(';')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| {
                (
                    k.trim().to_ascii_lowercase(),
                    v.trim().trim_matches('"').to_ascii_lowercase(),
                )
            })
            .filter(|(k, _)| !k.is_empty() && k != "q")
            .collect();
        out.sort();
        out
    }
    normalise(a) == normalise(b)
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
        let a = Accept::parse(";;;,q=,text/html;q=abc,,*/*;q=NaN, x;q=2, y;q=-1, z;q=0.5");
        assert_eq!(a.quality("text/html"), 0.0);
        // Items with an invalid `q` are dropped, as Werkzeug does.
        assert_eq!(a.values().collect::<Vec<_>>(), [("z", 0.5)]);
        assert_eq!(a.best_match(&["x", "z"]), Some("z"));
        for empty in ["", ",,,", " ; "] {
            assert_eq!(Accept::parse(empty).best_match(&["text/html"]), None);
        }
        assert_eq!(Accept::default().best_match(&["a", "b"]), Some("a"));
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

    #[test]
    fn media_type_parameters_take_part_like_werkzeug() {
        let a = Accept::parse("text/html;q=0.9, text/html;level=1;q=0.5");
        assert_eq!(a.quality("text/html"), 0.9);
        assert_eq!(a.quality("text/html;level=1"), 0.5);
        assert_eq!(a.quality("text/html; LEVEL=\"1\""), 0.5);
        assert_eq!(
            a.best_match(&["text/html;level=1"]),
            Some("text/html;level=1")
        );
        let a = Accept::parse("text/html;level=1");
        assert_eq!(a.quality("text/html"), 0.0);
        assert_eq!(a.best_match(&["text/html"]), None);
        let a = Accept::parse("text/html;a=1;b=2, text/*;q=0.5");
        assert_eq!(a.quality("text/html;b=2;a=1"), 1.0);
        assert_eq!(a.quality("text/html"), 0.5);
        assert_eq!(a.quality("text/html;a=2"), 0.5);
        let a = Accept::parse("*/*;level=1");
        assert_eq!(a.quality("text/html"), 1.0);
        // Lenient where Werkzeug is strict: a plain item accepts an offer with a charset.
        let a = Accept::parse("text/html, */*;q=0.1");
        assert_eq!(a.quality("text/html; charset=utf-8"), 1.0);
        assert_eq!(
            a.best_match(&["application/json", "text/html; charset=utf-8"]),
            Some("text/html; charset=utf-8")
        );
        // Parameters on non-media values are not kept.
        assert_eq!(Accept::parse("en;level=1").quality("en"), 1.0);
    }
}
