//! Paths from untrusted input: [`safe_join`] (a URL path below a trusted directory) and
//! [`secure_filename`] (a client's file name made safe to store).
//!
//! This module owns the lexical checks only. It does not open files or follow symlinks:
//! serving is [`crate::utils::send_from_directory`] and [`crate::middleware::SharedData`].

use std::path::{Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

/// Names Windows treats as devices in every directory, whatever the extension
/// (`aux.txt` is the `AUX` device). Compared upper-cased, after NFKD (so `LPT¹` is `LPT1`).
const WINDOWS_DEVICE_NAMES: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM1", "COM2", "COM3", "COM4", "COM5",
    "COM6", "COM7", "COM8", "COM9", "COM¹", "COM²", "COM³", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5",
    "LPT6", "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³",
];

/// Whether `segment` names a Windows device: its part before the first `.`, without
/// surrounding spaces, is one of the reserved names (`CON`, `aux.txt`, `nul .tar.gz`,
/// `COM1`, `LPT¹`…).
///
/// # Examples
///
/// ```
/// use zeug::security::is_windows_device_name;
///
/// assert!(is_windows_device_name("aux.txt"));
/// assert!(is_windows_device_name("Con"));
/// assert!(!is_windows_device_name("console.log"));
/// ```
pub fn is_windows_device_name(segment: &str) -> bool {
    let stem = segment.split('.').next().unwrap_or("").trim();
    if stem.len() < 3 || stem.len() > 8 {
        return false;
    }
    if stem.is_ascii() {
        return WINDOWS_DEVICE_NAMES
            .iter()
            .any(|name| name.eq_ignore_ascii_case(stem));
    }
    // Superscript digits (`LPT¹`) and other compatibility forms.
    let upper: String = stem.to_uppercase();
    let folded: String = upper.nfkd().collect();
    WINDOWS_DEVICE_NAMES
        .iter()
        .any(|name| *name == upper || *name == folded)
}

/// Joins an untrusted, `/`-separated path (from a URL) below a trusted `base` directory,
/// or returns `None` when it could name anything outside it or anything dangerous.
///
/// The check is lexical, like Werkzeug's `safe_join`, and the same on every platform, so
/// an app tested on Linux is safe on Windows too. Refused:
///
/// - a path that climbs out of `base` (`..`, `a/../../b`); `..` that stays inside is
///   resolved (`a/../b` is `b`);
/// - absolute paths (`/etc/passwd`) and drive paths (`C:/x`, `c:x`);
/// - backslashes, NUL and other control characters;
/// - encoded separators and dots that a second decoding would turn into a traversal
///   (`%2f`, `%5c`, `%00`, `%2e%2e`); the input is expected to be decoded once already;
/// - Windows device names in any segment (`CON`, `aux.txt`, `sub/nul`, `COM1`, `LPT1`).
///
/// Empty segments and `.` are skipped, so `a//b/./c` is `a/b/c`. An empty path is `base`.
///
/// # Examples
///
/// ```
/// use std::path::Path;
/// use zeug::security::safe_join;
///
/// assert_eq!(safe_join("/srv/static", "css/site.css"), Some(Path::new("/srv/static/css/site.css").into()));
/// assert_eq!(safe_join("/srv/static", "../secret"), None);
/// assert_eq!(safe_join("/srv/static", "/etc/passwd"), None);
/// assert_eq!(safe_join("/srv/static", "sub/aux.txt"), None);
/// ```
pub fn safe_join(base: impl AsRef<Path>, untrusted: &str) -> Option<PathBuf> {
    let segments = safe_segments(untrusted)?;
    let mut path = base.as_ref().to_path_buf();
    if path.as_os_str().is_empty() {
        path.push(".");
    }
    for segment in segments {
        path.push(segment);
    }
    Some(path)
}

/// The normalised segments of an untrusted path, or `None` if it is refused.
fn safe_segments(untrusted: &str) -> Option<Vec<&str>> {
    let bytes = untrusted.as_bytes();
    if bytes.first() == Some(&b'/')
        || bytes.iter().any(|&b| b == b'\\' || b < 0x20 || b == 0x7f)
        || (!untrusted.is_ascii() && untrusted.chars().any(|c| c.is_control() || c == '\u{FEFF}'))
    {
        return None;
    }
    if memchr::memchr(b'%', bytes).is_some() && has_encoded_traversal(bytes) {
        return None;
    }
    let mut out: Vec<&str> = Vec::new();
    for (i, segment) in untrusted.split('/').enumerate() {
        match segment {
            "" | "." => continue,
            ".." => {
                out.pop()?;
                continue;
            }
            _ => {}
        }
        if i == 0 && is_drive(segment) {
            return None;
        }
        // Windows ignores trailing dots and spaces: `secret.txt.` opens `secret.txt`, and
        // `.. ` is `..`. Refuse such names rather than guess what they mean.
        if segment.ends_with(['.', ' ']) || is_windows_device_name(segment) {
            return None;
        }
        out.push(segment);
    }
    Some(out)
}

/// Whether `bytes` holds percent-encodings that a second decoding would turn into a
/// separator, a NUL or a `..` segment: `%2f`, `%5c`, `%00`, `%2e%2e`, `%2e.`, `.%2e`.
fn has_encoded_traversal(bytes: &[u8]) -> bool {
    let has = |needle: &[u8]| {
        bytes
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    has(b"%2f") || has(b"%5c") || has(b"%00") || has(b"%2e%2e") || has(b"%2e.") || has(b".%2e")
}

/// `C:` / `c:anything`: a Windows drive (absolute or drive-relative).
fn is_drive(segment: &str) -> bool {
    let b = segment.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// Makes a client-supplied file name safe to store: ASCII only, no path separators, no
/// leading dots or underscores, only `[A-Za-z0-9_.-]`, and never a Windows device name.
///
/// It behaves like Werkzeug's `secure_filename` as it runs on Windows (both `/` and `\`
/// separate, device names get a leading `_`), on every platform: accented letters are
/// folded to ASCII (NFKD), other non-ASCII characters dropped, runs of whitespace and
/// separators become one `_`. The result may be empty: choose a name yourself then.
///
/// # Examples
///
/// ```
/// use zeug::security::secure_filename;
///
/// assert_eq!(secure_filename("My cool movie.mov"), "My_cool_movie.mov");
/// assert_eq!(secure_filename("../../../etc/passwd"), "etc_passwd");
/// assert_eq!(secure_filename("i contain cool ümläuts.txt"), "i_contain_cool_umlauts.txt");
/// assert_eq!(secure_filename("aux.txt"), "_aux.txt");
/// assert_eq!(secure_filename("日本語"), "");
/// ```
pub fn secure_filename(filename: &str) -> String {
    // Werkzeug: NFKD, drop non-ASCII, separators to spaces, split on whitespace, join the
    // words with `_`, then drop characters outside `[A-Za-z0-9_.-]`. Done in one pass: a
    // word made only of dropped characters still gets its `_` (`a ( b` is `a__b`).
    fn push_folded(c: char, out: &mut String, in_word: &mut bool, any_word: &mut bool) {
        if !c.is_ascii() {
            return;
        }
        // Python's `str.split()` whitespace, restricted to ASCII, and the separators.
        if matches!(
            c,
            ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c' | '\x1c'..='\x1f' | '/' | '\\'
        ) {
            *in_word = false;
            return;
        }
        if !*in_word {
            if *any_word {
                out.push('_');
            }
            *in_word = true;
            *any_word = true;
        }
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
            out.push(c);
        }
    }
    let mut out = String::with_capacity(filename.len());
    let (mut in_word, mut any_word) = (false, false);
    for c in filename.chars() {
        if c.is_ascii() {
            push_folded(c, &mut out, &mut in_word, &mut any_word);
        } else {
            // NFKD one character at a time gives the same ASCII as NFKD of the whole string:
            // canonical reordering only moves combining marks, which are dropped anyway.
            unicode_normalization::char::decompose_compatible(c, |d| {
                push_folded(d, &mut out, &mut in_word, &mut any_word)
            });
        }
    }
    let name = out.trim_matches(['.', '_']);
    if !name.is_empty() && is_windows_device_name(name) {
        format!("_{name}")
    } else if name.len() == out.len() {
        out
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_plain_paths() {
        assert_eq!(
            safe_join("/b", "a/./b//c.txt"),
            Some(PathBuf::from("/b/a/b/c.txt"))
        );
        assert_eq!(safe_join("/b", ""), Some(PathBuf::from("/b")));
        assert_eq!(safe_join("", "x"), Some(PathBuf::from("./x")));
        assert_eq!(safe_join("/b", "a/../c"), Some(PathBuf::from("/b/c")));
        assert_eq!(
            safe_join("/b", "ünï côdé.txt"),
            Some(PathBuf::from("/b/ünï côdé.txt"))
        );
        assert_eq!(
            safe_join("/b", "a..b/.hidden"),
            Some(PathBuf::from("/b/a..b/.hidden"))
        );
    }

    #[test]
    fn refuses_escapes() {
        for bad in [
            "..",
            "../x",
            "a/../../x",
            "/etc/passwd",
            "//etc/passwd",
            "a\\..\\..\\x",
            "\\windows",
            "C:/windows",
            "c:x",
            "a\0b",
            "a\nb",
            "%2e%2e/x",
            "..%2fx",
            "a%2F..%2F..%2Fx",
            "a%5cb",
            "%00",
            "CON",
            "aux.txt",
            "sub/nul",
            "COM1",
            "lpt1.log",
            "sub/PRN.tar.gz",
            "LPT¹",
            "secret.txt.",
            "x/.. ",
        ] {
            assert_eq!(safe_join("/b", bad), None, "{bad:?} must be refused");
        }
    }

    #[test]
    fn device_names_need_the_whole_stem() {
        assert!(!is_windows_device_name("console"));
        assert!(!is_windows_device_name("com10"));
        assert!(!is_windows_device_name("lpt0"));
        assert!(is_windows_device_name("nul .txt"));
    }

    #[test]
    fn secure_filename_matches_werkzeug_basics() {
        assert_eq!(secure_filename("__filename__"), "filename");
        assert_eq!(
            secure_filename("C:\\Users\\me\\evil.exe"),
            "C_Users_me_evil.exe"
        );
        assert_eq!(secure_filename("LPT¹"), "_LPT1");
        assert_eq!(secure_filename("..."), "");
    }
}
