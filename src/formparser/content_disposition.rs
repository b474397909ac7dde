//! Parsing a part's `Content-Disposition` header: `form-data; name="f"; filename="a.txt"`,
//! quoted strings with escapes (backslash escapes and the `%22`/`%0D`/`%0A` that browsers
//! send for `"`, CR and LF), and the full Windows paths that old Internet Explorers sent as
//! file names. RFC 2231/5987 extended values (`filename*=UTF-8''%E2%82%AC.txt`) and
//! continuations are decoded by [`crate::rfc2231`], which the public header parsers share.
//!
//! It does not validate the disposition type: browsers only send `form-data`.

use std::borrow::Cow;

use crate::rfc2231::Params;
pub(crate) use crate::rfc2231::{Charset, header_text};

/// The `name` and `filename` of a part.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Disposition {
    pub name: Option<String>,
    pub filename: Option<String>,
}

/// Parses a raw `Content-Disposition` value; malformed parameters are skipped, never an error.
pub(crate) fn parse(value: &[u8]) -> Disposition {
    // The common case, `form-data; name="a"; filename="b"`, in one pass without a list.
    let mut name: Option<Cow<'_, [u8]>> = None;
    let mut filename: Option<Cow<'_, [u8]>> = None;
    let mut extended = false;
    for_each_param(value, |key, v| {
        if key.contains(&b'*') {
            extended = true;
        } else if key.eq_ignore_ascii_case(b"name") {
            name.get_or_insert(v);
        } else if key.eq_ignore_ascii_case(b"filename") {
            filename.get_or_insert(v);
        }
    });
    if !extended {
        return Disposition {
            name: name.map(|v| header_text(&v).into_owned()),
            filename: filename.map(|v| bare_name(header_text(&v).into_owned())),
        };
    }
    let mut items = Vec::new();
    for_each_param(value, |key, v| items.push((key, v)));
    let params = Params::new(items);
    let name = params.resolve(b"name");
    let filename = params.resolve(b"filename").map(bare_name);
    Disposition { name, filename }
}

fn bare_name(f: String) -> String {
    match bare_windows_name(&f) {
        Some(bare) => bare.to_owned(),
        None => f,
    }
}

/// Calls `f(key, value)` for each parameter after the disposition type; quoted values
/// have their escapes (`\"`, `\\` and the form-data escapes `%22`, `%0D`, `%0A`) resolved (only then is the value copied).
fn for_each_param<'a>(value: &'a [u8], mut f: impl FnMut(&'a [u8], Cow<'a, [u8]>)) {
    let Some(first) = memchr::memchr(b';', value) else {
        return;
    };
    let n = value.len();
    let mut i = first + 1;
    while i < n {
        while i < n && (value[i] == b';' || value[i].is_ascii_whitespace()) {
            i += 1;
        }
        let key_start = i;
        while i < n && value[i] != b'=' && value[i] != b';' {
            i += 1;
        }
        let key = value[key_start..i].trim_ascii();
        if i >= n || value[i] == b';' {
            continue; // a parameter without a value
        }
        i += 1; // '='
        while i < n && (value[i] == b' ' || value[i] == b'\t') {
            i += 1;
        }
        let v: Cow<'a, [u8]> = if i < n && value[i] == b'"' {
            i += 1;
            let start = i;
            let mut owned: Option<Vec<u8>> = None;
            while i < n && value[i] != b'"' {
                if value[i] == b'\\' && i + 1 < n && matches!(value[i + 1], b'"' | b'\\') {
                    owned
                        .get_or_insert_with(|| value[start..i].to_vec())
                        .push(value[i + 1]);
                    i += 2;
                } else if let Some(byte) = form_data_escape(&value[i..]) {
                    owned
                        .get_or_insert_with(|| value[start..i].to_vec())
                        .push(byte);
                    i += 3;
                } else {
                    if let Some(o) = owned.as_mut() {
                        o.push(value[i]);
                    }
                    i += 1;
                }
            }
            let stop = i.min(n);
            i += 1; // closing quote (or past the end)
            while i < n && value[i] != b';' {
                i += 1;
            }
            match owned {
                Some(o) => Cow::Owned(o),
                None => Cow::Borrowed(&value[start..stop]),
            }
        } else {
            let start = i;
            while i < n && value[i] != b';' {
                i += 1;
            }
            Cow::Borrowed(value[start..i].trim_ascii())
        };
        if !key.is_empty() {
            f(key, v);
        }
    }
}

/// The HTML standard's multipart/form-data encoding: browsers send `"`, CR and LF in a
/// field name or file name as `%22`, `%0D` and `%0A` (a literal `%` is sent as is). These
/// three escapes, and only these, are decoded inside quoted values; `%25` and other
/// escapes stay literal. Werkzeug 3.1 decodes `%22` the same way but keeps `%0D`/`%0A`
/// as text; zeug decodes them so that a name round-trips through a browser (and through
/// zeug's own test client, which encodes the same way).
fn form_data_escape(s: &[u8]) -> Option<u8> {
    match s {
        [b'%', b'2', b'2', ..] => Some(b'"'),
        [b'%', b'0', b'D' | b'd', ..] => Some(b'\r'),
        [b'%', b'0', b'A' | b'a', ..] => Some(b'\n'),
        _ => None,
    }
}

/// `C:\dir\a.txt` or `\\server\share\a.txt` (what IE sent) → `a.txt`. Other names,
/// including relative paths from directory uploads, are left alone.
fn bare_windows_name(name: &str) -> Option<&str> {
    let b = name.as_bytes();
    let is_drive = b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\';
    if is_drive || name.starts_with('\\') {
        name.rsplit('\\').next()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: &str) -> Disposition {
        parse(v.as_bytes())
    }

    #[test]
    fn plain_and_quoted() {
        assert_eq!(
            d(r#"form-data; name="a"; filename="b.txt""#),
            Disposition {
                name: Some("a".into()),
                filename: Some("b.txt".into())
            }
        );
        assert_eq!(d("form-data; name=token").name.as_deref(), Some("token"));
        assert_eq!(
            d(r#"form-data; name="say \"hi\"; now""#).name.as_deref(),
            Some(r#"say "hi"; now"#)
        );
        assert_eq!(d("form-data").name, None);
        assert_eq!(
            d(r#"form-data; name="unterminated"#).name.as_deref(),
            Some("unterminated")
        );
        assert_eq!(d("form-data; ; =x; name").name, None);
    }

    #[test]
    fn extended_filenames() {
        let x =
            d("form-data; name=f; filename=\"euro.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt");
        assert_eq!(x.filename.as_deref(), Some("€ rates.txt"));
        let x = d("form-data; name=f; filename*=iso-8859-1'en'%A3%20rates.txt");
        assert_eq!(x.filename.as_deref(), Some("£ rates.txt"));
        let x = d(
            "form-data; name=f; filename*0*=UTF-8''%E2%82%AC; filename*1=\" a\"; filename*2*=%2Etxt",
        );
        assert_eq!(x.filename.as_deref(), Some("€ a.txt"));
        let x = d("form-data; name=f; filename=\"\u{fc}ml\u{e4}ut.txt\"");
        assert_eq!(x.filename.as_deref(), Some("ümläut.txt"));
        let latin1 = parse(b"form-data; name=f; filename=\"\xfc.txt\"");
        assert_eq!(latin1.filename.as_deref(), Some("ü.txt"));
    }

    #[test]
    fn windows_paths_become_bare_names() {
        let x = d(
            r#"form-data; name="f"; filename="C:\Documents and Settings\me\My Documents\report.doc""#,
        );
        assert_eq!(x.filename.as_deref(), Some("report.doc"));
        let x = d(r#"form-data; name="f"; filename="\\server\share\notes.txt""#);
        assert_eq!(x.filename.as_deref(), Some("notes.txt"));
        let x = d(r#"form-data; name="f"; filename="photos/2024/a.jpg""#);
        assert_eq!(x.filename.as_deref(), Some("photos/2024/a.jpg"));
        assert_eq!(
            d(r#"form-data; name="f"; filename="""#).filename.as_deref(),
            Some("")
        );
    }

    #[test]
    fn browser_percent_escapes_are_decoded_in_quoted_values() {
        // What Chrome and Firefox send for a field `a"b` and a file `x"y<CR><LF>.txt`.
        let x = d(r#"form-data; name="a%22b"; filename="x%22y%0D%0A.txt""#);
        assert_eq!(x.name.as_deref(), Some("a\"b"));
        assert_eq!(x.filename.as_deref(), Some("x\"y\r\n.txt"));
        // Lower-case hex, escapes next to backslash escapes, at the very end.
        let x = d(r#"form-data; name="%0d%0a\"%22"; filename="%22""#);
        assert_eq!(x.name.as_deref(), Some("\r\n\"\""));
        assert_eq!(x.filename.as_deref(), Some("\""));
        // Only those three: a literal `%`, `%25`, `%20` and a cut-off `%2` stay as sent.
        let x = d(r#"form-data; name="100%25 %20 %"; filename="50%.txt%2""#);
        assert_eq!(x.name.as_deref(), Some("100%25 %20 %"));
        assert_eq!(x.filename.as_deref(), Some("50%.txt%2"));
        // Unquoted values are taken literally (as Werkzeug does); continuations decode.
        assert_eq!(d("form-data; name=a%22b").name.as_deref(), Some("a%22b"));
        let x = d(r#"form-data; name=f; filename*0="a%22"; filename*1="b.txt""#);
        assert_eq!(x.filename.as_deref(), Some("a\"b.txt"));
        // An escaped Windows path still becomes its bare name.
        let x = d(r#"form-data; name="f"; filename="C:\\dir\\x%22y.txt""#);
        assert_eq!(x.filename.as_deref(), Some("x\"y.txt"));
    }
}
