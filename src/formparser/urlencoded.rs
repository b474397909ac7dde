//! The `application/x-www-form-urlencoded` parser behind query strings
//! ([`MultiDict::from_urlencoded`](crate::datastructures::MultiDict::from_urlencoded)),
//! form bodies ([`crate::urls::parse_urlencoded`] too) and cookie names and values.
//!
//! Its semantics are [`crate::urls::parse_urlencoded`]'s, which are
//! [`form_urlencoded::parse`]'s but for bytes that are not UTF-8: pairs split on `&`,
//! empty pairs skipped, a key without `=` has an empty value, `+` is a space, bad escapes
//! are kept as written, and bytes that are not UTF-8 stay percent-encoded (`%E9`), as in
//! Werkzeug.
//!
//! It is built for the short keys and values real requests carry. One pass splits and
//! decodes: a plain run is scanned eight bytes at a time, a key or value without escapes
//! is copied once, and one with escapes is decoded into a stack buffer. Up to 24 bytes
//! are stored inline ([`Text`]), so a form of short fields allocates only its list of
//! pairs. The module has no `unsafe`: text is checked as UTF-8 (a fast pass for ASCII)
//! before it becomes a string.

use compact_str::CompactString;

use crate::datastructures::Text;

/// The longest text [`CompactString`] stores inline: its whole size (24 bytes on 64-bit
/// targets), the last byte doubling as the length.
const INLINE: usize = std::mem::size_of::<CompactString>();

/// Parses urlencoded bytes into decoded pairs, appended to `out`.
pub(crate) fn parse_into(input: &[u8], out: &mut Vec<(CompactString, Text)>) {
    let mut pos = 0;
    while pos < input.len() {
        if input[pos] == b'&' {
            pos += 1; // an empty piece
            continue;
        }
        let (key, end) = decode_piece::<Key>(input, pos);
        if input.get(end) == Some(&b'=') {
            let (value, end) = decode_piece::<Value>(input, end + 1);
            out.push((key, Text::from_compact(value)));
            pos = end + 1;
        } else {
            out.push((key, Text::new()));
            pos = end + 1;
        }
    }
}

/// The bytes a piece of some kind stops at: its separators, and the escapes (`%`, and
/// `+` where it stands for a space) that end a plain run.
trait Special {
    /// Whether each byte is special.
    const TABLE: [bool; 256];
    /// Whether `+` is a space.
    const PLUS: bool;
    /// A word with the high bit set in (at least) the lowest byte of `w` that is
    /// special; zero when none is.
    fn mask(w: u64) -> u64;
}

/// A urlencoded key: stops at `&` and `=`.
struct Key;
/// A urlencoded value: stops at `&`; `=` is an ordinary byte.
struct Value;

impl Special for Key {
    const TABLE: [bool; 256] = table(b"&=%+");
    const PLUS: bool = true;
    fn mask(w: u64) -> u64 {
        byte_eq(w, b'&') | byte_eq(w, b'=') | byte_eq(w, b'%') | byte_eq(w, b'+')
    }
}

impl Special for Value {
    const TABLE: [bool; 256] = table(b"&%+");
    const PLUS: bool = true;
    fn mask(w: u64) -> u64 {
        byte_eq(w, b'&') | byte_eq(w, b'%') | byte_eq(w, b'+')
    }
}

const fn table(bytes: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] = true;
        i += 1;
    }
    table
}

const LOW_BITS: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGH_BITS: u64 = u64::from_ne_bytes([0x80; 8]);

/// The high bit of the lowest byte of `w` equal to `b` is set (bits above a match may be
/// set too, which is why only the lowest set bit of the result is ever read).
fn byte_eq(w: u64, b: u8) -> u64 {
    let x = w ^ (LOW_BITS * u64::from(b));
    x.wrapping_sub(LOW_BITS) & !x & HIGH_BITS
}

/// Decodes from `start` up to the next separator of `S` (or the end); returns the text
/// and the index where it stopped.
fn decode_piece<S: Special>(input: &[u8], start: usize) -> (CompactString, usize) {
    decode_piece_within::<S>(input, start, input.len())
}

/// [`decode_piece`] that stops at `end` at the latest. Only the bytes before `end` are
/// decoded.
#[inline(always)]
fn decode_piece_within<S: Special>(
    whole: &[u8],
    start: usize,
    end: usize,
) -> (CompactString, usize) {
    let input = &whole[..end];
    // `seen` collects the bytes' high bits: none set means ASCII, so UTF-8 without a check.
    let mut seen = 0u64;
    // Most pieces need no decoding: find where the plain run ends, eight bytes at a time
    // while eight remain, and take the run as it is.
    let mut i = start;
    loop {
        let Some(chunk) = input.get(i..i + 8) else {
            while let Some(&b) = input.get(i) {
                if S::TABLE[usize::from(b)] {
                    break;
                }
                seen |= u64::from(b);
                i += 1;
            }
            break;
        };
        let w = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let found = S::mask(w);
        if found != 0 {
            let plain = found.trailing_zeros() / 8;
            // Only the bytes before the special one count.
            if plain > 0 {
                seen |= w & (u64::MAX >> (64 - 8 * plain));
            }
            i += plain as usize;
            break;
        }
        seen |= w;
        i += 8;
    }
    let ascii = seen & HIGH_BITS == 0;
    let escaped = match input.get(i) {
        Some(b'%') => true,
        Some(b'+') => S::PLUS,
        _ => false,
    };
    if !escaped {
        return match whole.get(start..start + WINDOW) {
            Some(window) if ascii && i - start <= WINDOW => (inline_ascii(window, i - start), i),
            _ => (compact_text(&input[start..i], ascii), i),
        };
    }
    if i - start > INLINE {
        return decode_on_heap::<S>(input, start, i);
    }
    // An escape: decode on the stack while the output fits inline.
    let mut buf = [0u8; INLINE];
    // The plain bytes before the escape: a fixed-size copy (two moves) where there are
    // enough bytes, the ones after them being overwritten as the decoding goes.
    match whole.get(start..start + INLINE) {
        Some(ahead) => buf.copy_from_slice(ahead),
        None => buf[..i - start].copy_from_slice(&input[start..i]),
    }
    let mut seen = if ascii { 0 } else { 0x80 };
    let mut len = i - start;
    while let Some(&b) = input.get(i) {
        let out = if !S::TABLE[usize::from(b)] {
            i += 1;
            b
        } else if b == b'%' {
            i += 1;
            match (input.get(i), input.get(i + 1)) {
                (Some(&h), Some(&l))
                    if HEX_VALUE[usize::from(h)] | HEX_VALUE[usize::from(l)] < 16 =>
                {
                    i += 2;
                    HEX_VALUE[usize::from(h)] << 4 | HEX_VALUE[usize::from(l)]
                }
                _ => b'%',
            }
        } else if b == b'+' {
            i += 1;
            b' '
        } else {
            break; // a separator
        };
        let Some(slot) = buf.get_mut(len) else {
            return decode_on_heap::<S>(input, start, i);
        };
        *slot = out;
        len += 1;
        seen |= out;
    }
    if seen < 0x80 && len <= WINDOW {
        return (inline_ascii(&buf, len), i);
    }
    (compact_text(&buf[..len], seen < 0x80), i)
}

/// Decodes a piece too long to fit inline (rare) on the heap; `from` is a position
/// inside it to search for its end from.
#[cold]
fn decode_on_heap<S: Special>(input: &[u8], start: usize, from: usize) -> (CompactString, usize) {
    let end = input[from..]
        .iter()
        .position(|&b| S::TABLE[usize::from(b)] && b != b'%' && (b != b'+' || !S::PLUS))
        .map_or(input.len(), |n| from + n);
    let decoded = crate::urls::decode_component(&input[start..end], S::PLUS);
    (CompactString::from(decoded), end)
}

/// The longest ASCII text [`inline_ascii`] is given: an inline `CompactString`'s buffer
/// but its last byte, which holds the length.
const WINDOW: usize = INLINE - 1;

/// The first `len` bytes of `window`, known to be ASCII, as an inline `CompactString`.
fn inline_ascii(window: &[u8], len: usize) -> CompactString {
    debug_assert!(len <= WINDOW && window[..len].is_ascii());
    compact_text(&window[..len], true)
}

/// `bytes` as a `CompactString`; `ascii` says no byte has its high bit set (then the
/// UTF-8 check cannot fail). Bytes that are not UTF-8 stay percent-encoded, as in
/// [`crate::urls::decode_component`].
fn compact_text(bytes: &[u8], ascii: bool) -> CompactString {
    debug_assert!(!ascii || bytes.is_ascii());
    match std::str::from_utf8(bytes) {
        Ok(s) => CompactString::from(s),
        Err(_) => CompactString::from(crate::urls::quote_invalid_utf8(bytes)),
    }
}

/// Each byte's value as a hex digit, or 0xFF for a byte that is not one.
const HEX_VALUE: [u8; 256] = {
    let mut table = [0xFF; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = match i as u8 {
            b @ b'0'..=b'9' => b - b'0',
            b @ b'a'..=b'f' => b - b'a' + 10,
            b @ b'A'..=b'F' => b - b'A' + 10,
            _ => 0xFF,
        };
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(body: &[u8]) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        parse_into(body, &mut pairs);
        pairs
            .into_iter()
            .map(|(k, v)| (k.into_string(), v.into_string()))
            .collect()
    }

    fn theirs(body: &[u8]) -> Vec<(String, String)> {
        crate::urls::reference::pairs(body)
    }

    #[test]
    fn matches_form_urlencoded() {
        let cases: &[&[u8]] = &[
            b"a=1&b=2&a=3",
            b"&&a&=x&b=&c==d&",
            b"sp+ace=%20x%2",
            b"bad=%zz%4%",
            b"pct=%e2%82%AC&raw=\xe2\x82\xac&broken=%ff\xff",
            b"%",
            b"k%3Dv=1%3d2",
            b"",
            b"abcdefgh=ijklmnop&qrstuvwx=yz012345&\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9=x",
            b"01234567+=89abcdef%41&0123456\xff=x",
            b"a_rather_long_key_of_more_than_24=and_a_value_of_more_than_24_bytes%21",
        ];
        for case in cases {
            assert_eq!(
                ours(case),
                theirs(case),
                "{:?}",
                String::from_utf8_lossy(case)
            );
        }
    }

    /// Pseudo-random bodies rich in the bytes that matter: separators, escapes (valid,
    /// broken, non-ASCII), invalid UTF-8, and pieces on both sides of the 8-byte scan
    /// and the 24-byte inline limit.
    #[test]
    fn random_bodies_match_form_urlencoded() {
        let tokens: [&[u8]; 23] = [
            b"a",
            b"=",
            b"&",
            b"+",
            b"%",
            b"2",
            b"f",
            b"%41",
            b"%7f",
            b"%80",
            b"%c3%a9",
            b"%C3",
            "\u{e9}".as_bytes(),
            "\u{20ac}".as_bytes(),
            b"%2B",
            b"%26",
            b"%3D",
            b"\xff",
            b"0123456789",
            b"abcdefghijklmnopqrstuvwxyz",
            b"%zz",
            b"%4",
            b"ABCDEFG",
        ];
        let mut state = 0x2545_f491u32;
        for round in 0..30_000 {
            let mut body = Vec::new();
            for _ in 0..(state % 16) {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                body.extend_from_slice(tokens[(state % tokens.len() as u32) as usize]);
            }
            state = state.wrapping_add(round);
            assert_eq!(
                ours(&body),
                theirs(&body),
                "{:?}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    /// Strings built by copying a whole window are ordinary strings: equal, hashed,
    /// cloned, grown and converted like ones built the usual way, at every length.
    #[test]
    fn inline_ascii_strings_behave_like_any_other() {
        let window = b"abcdefghijklmnopqrstuvwxyz";
        for len in 0..=WINDOW {
            let ours = inline_ascii(window, len);
            let theirs = CompactString::from(&"abcdefghijklmnopqrstuvwxyz"[..len]);
            assert_eq!(ours, theirs);
            assert_eq!(ours.len(), len);
            assert!(!ours.is_heap_allocated());
            let mut grown = ours.clone();
            grown.push_str("0123456789");
            assert_eq!(grown.len(), len + 10);
            assert_eq!(ours.clone().into_string(), theirs.as_str());
        }
    }

    #[test]
    fn special_byte_masks_find_the_first_match() {
        for at in 0..8 {
            let mut bytes = *b"abcdefgh";
            bytes[at] = b'=';
            let w = u64::from_le_bytes(bytes);
            assert_eq!(Key::mask(w).trailing_zeros() / 8, at as u32);
            assert_eq!(Value::mask(w), 0);
        }
        // A match followed by bytes that differ from it by one.
        let w = u64::from_le_bytes(*b"%&'%$&%+");
        assert_eq!(Key::mask(w).trailing_zeros() / 8, 0);
    }
}
