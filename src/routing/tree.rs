//! The fast router's path tree: one node per path segment, reached by static segments, a
//! parameter (one whole segment) or a catch-all (the rest of the path).
//!
//! It answers the same questions `matchit` would for the routes the fast router gives it
//! (every route is whole segments, see `matcher::skeleton`), in the same order: a static
//! segment first, then the parameter, then the catch-all, backtracking when a branch leads
//! nowhere. Knowing that routes are whole segments lets it do less than a general radix
//! tree: a segment is found with one hash of its first eight bytes and its length, and the
//! parameters' spans come out of the walk, so nothing is scanned twice. Which rule a route
//! stands for, and whether converters accept the values, is the matcher's business.

use smallvec::SmallVec;

/// No node or entry.
const NONE: u32 = u32::MAX;

/// The most parameters (and catch-alls) one route may have. A map with longer routes is
/// matched by the state machine alone.
pub(crate) const MAX_PARAMS: usize = 8;

/// Byte spans of a route's parameters in the path, in order; the first `n` are set.
pub(crate) type ParamSpans = [(usize, usize); MAX_PARAMS];

/// One segment of a route.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Segment {
    /// Exactly this text (no `/`); the empty text is a trailing slash.
    Static(String),
    /// Any one non-empty segment.
    Param,
    /// The rest of the path, not empty; only last.
    CatchAll,
}

/// Why a route cannot go into the tree (the map then uses the state machine).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// A catch-all not at the end of the route.
    CatchAllNotLast,
    /// A parameter and a catch-all at the same place (matchit refuses this too: which one
    /// wins would depend on converter weights).
    ParamAndCatchAll,
    /// More than [`MAX_PARAMS`] parameters.
    TooManyParams,
}

/// A static segment in a node's table.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The segment's first eight bytes, little-endian, zero-padded.
    head: u64,
    /// Its length; [`EMPTY`] for an empty slot.
    len: u32,
    target: u32,
}

/// The length of an empty slot: no segment is this long (paths are capped far below).
const EMPTY: u32 = u32::MAX;

const EMPTY_SLOT: Slot = Slot {
    head: 0,
    len: EMPTY,
    target: NONE,
};

#[derive(Debug)]
struct Node {
    /// Open-addressed table of the static segments leading on, a power of two at least
    /// twice their number, indexed by [`slot`]: a lookup is one probe in most cases.
    slots: Box<[Slot]>,
    /// The static segments' full texts, for building and for the bytes after the first
    /// eight.
    texts: Vec<(Box<[u8]>, u32)>,
    param: u32,
    /// The entry of a catch-all route here.
    catch_all: u32,
    /// The entry of the route that ends at this node.
    entry: u32,
}

impl Node {
    fn new() -> Self {
        Node {
            slots: vec![EMPTY_SLOT; 2].into_boxed_slice(),
            texts: Vec::new(),
            param: NONE,
            catch_all: NONE,
            entry: NONE,
        }
    }

    fn rehash(&mut self) {
        let size = (self.texts.len() * 2).next_power_of_two().max(2);
        let mut slots = vec![EMPTY_SLOT; size].into_boxed_slice();
        for (text, target) in &self.texts {
            let head = head(text, 0, text.len());
            let mut s = slot(head, text.len(), size);
            while slots[s].len != EMPTY {
                s = (s + 1) & (size - 1);
            }
            slots[s] = Slot {
                head,
                len: text.len() as u32,
                target: *target,
            };
        }
        self.slots = slots;
    }

    /// The node after the static segment `bytes[start..start + len]`.
    #[inline(always)]
    fn find(&self, head: u64, bytes: &[u8], start: usize, len: usize) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut s = slot(head, len, self.slots.len());
        loop {
            let e = self.slots[s];
            if e.head == head
                && e.len as usize == len
                && (len <= 8 || self.same_text(e.target, bytes, start, len))
            {
                return Some(e.target);
            }
            if e.len == EMPTY {
                return None;
            }
            s = (s + 1) & mask;
        }
    }

    /// Whether the segment whose first eight bytes and length matched the edge to
    /// `target` has its other bytes too (segments longer than eight bytes).
    #[cold]
    fn same_text(&self, target: u32, bytes: &[u8], start: usize, len: usize) -> bool {
        self.texts
            .iter()
            .any(|(t, to)| *to == target && bytes.get(start..start + len) == Some(&t[..]))
    }
}

/// The slot of a segment in a table of `size` (a power of two) slots.
#[inline]
fn slot(head: u64, len: usize, size: usize) -> usize {
    let h = (head ^ len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> 32) as usize & (size - 1)
}

/// The low `n` bytes of a word.
const MASKS: [u64; 9] = {
    let mut m = [0u64; 9];
    let mut n = 1;
    while n < 8 {
        m[n] = (1u64 << (8 * n)) - 1;
        n += 1;
    }
    m[8] = u64::MAX;
    m
};

/// The eight bytes of `bytes` from `start`, little-endian, zero-padded past the end: one
/// unaligned load wherever the path has eight bytes from `start` (or up to its end),
/// byte by byte only in paths shorter than eight bytes.
#[inline(always)]
fn load(bytes: &[u8], start: usize) -> u64 {
    if let Some(w) = bytes.get(start..start + 8) {
        return u64::from_le_bytes(w.try_into().unwrap_or_default());
    }
    if let Some(at) = bytes.len().checked_sub(8) {
        // Fewer than eight bytes from `start`: load the last eight and shift them down.
        let w = u64::from_le_bytes(bytes[at..].try_into().unwrap_or_default());
        return w
            .checked_shr(8 * (start.saturating_sub(at)) as u32)
            .unwrap_or(0);
    }
    let mut buf = [0u8; 8];
    for (b, &x) in buf.iter_mut().zip(bytes.get(start..).unwrap_or_default()) {
        *b = x;
    }
    u64::from_le_bytes(buf)
}

/// The first eight bytes of `bytes[start..start + len]`, little-endian, zero-padded.
#[inline(always)]
fn head(bytes: &[u8], start: usize, len: usize) -> u64 {
    load(bytes, start) & MASKS[len.min(8)]
}

/// The segment of `bytes` at `start`: its length (up to the next `/` or the end) and its
/// first eight bytes ([`head`]). Short segments, the common case, take one load.
#[inline(always)]
fn segment(bytes: &[u8], start: usize) -> (usize, u64) {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let w = load(bytes, start);
    let left = bytes.len().saturating_sub(start);
    let v = w ^ (LOW * u64::from(b'/'));
    let found = v.wrapping_sub(LOW) & !v & HIGH;
    // A zero byte padding past the end is never `/`; the lowest flagged byte is exact.
    let len = if found != 0 {
        (found.trailing_zeros() / 8) as usize
    } else if left <= 8 {
        left
    } else {
        let rest = &bytes[start + 8..];
        8 + find_slash(rest).unwrap_or(rest.len())
    };
    let len = len.min(left);
    (len, w & MASKS[len.min(8)])
}

/// The first `/` in `bytes`, eight bytes at a time (segments are short: a `memchr` call
/// costs more than it saves).
#[inline]
pub(crate) fn find_slash(bytes: &[u8]) -> Option<usize> {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for c in &mut chunks {
        let v = u64::from_le_bytes(c.try_into().unwrap_or([0; 8])) ^ (LOW * u64::from(b'/'));
        let found = v.wrapping_sub(LOW) & !v & HIGH;
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'/')
        .map(|i| offset + i)
}

/// Routes of whole segments, each leading to an entry (an index the caller gives).
#[derive(Debug)]
pub(crate) struct SegmentTree {
    nodes: Vec<Node>,
}

impl Default for SegmentTree {
    fn default() -> Self {
        SegmentTree {
            nodes: vec![Node::new()],
        }
    }
}

impl SegmentTree {
    /// Adds the route `segments` (the path after its leading `/`) leading to `entry`. A
    /// route added twice keeps its first entry.
    pub(crate) fn insert(&mut self, segments: &[Segment], entry: u32) -> Result<(), Refused> {
        let params = segments
            .iter()
            .filter(|s| !matches!(s, Segment::Static(_)))
            .count();
        if params > MAX_PARAMS {
            return Err(Refused::TooManyParams);
        }
        let mut node = 0usize;
        for (i, seg) in segments.iter().enumerate() {
            node = match seg {
                Segment::Static(text) => self.static_child(node, text.as_bytes()),
                Segment::Param => {
                    if self.nodes[node].catch_all != NONE {
                        return Err(Refused::ParamAndCatchAll);
                    }
                    if self.nodes[node].param == NONE {
                        self.nodes[node].param = self.push_node();
                    }
                    self.nodes[node].param as usize
                }
                Segment::CatchAll => {
                    if i + 1 != segments.len() {
                        return Err(Refused::CatchAllNotLast);
                    }
                    let n = &mut self.nodes[node];
                    if n.param != NONE {
                        return Err(Refused::ParamAndCatchAll);
                    }
                    if n.catch_all == NONE {
                        n.catch_all = entry;
                    }
                    return Ok(());
                }
            };
        }
        let n = &mut self.nodes[node];
        if n.entry == NONE {
            n.entry = entry;
        }
        Ok(())
    }

    fn push_node(&mut self) -> u32 {
        self.nodes.push(Node::new());
        u32::try_from(self.nodes.len() - 1).expect("fewer than 2^32 route segments")
    }

    fn static_child(&mut self, node: usize, text: &[u8]) -> usize {
        if let Some(t) = self.nodes[node].find(head(text, 0, text.len()), text, 0, text.len()) {
            return t as usize;
        }
        let target = self.push_node();
        let n = &mut self.nodes[node];
        n.texts.push((text.into(), target));
        n.rehash();
        target as usize
    }

    /// The entry of the first route matching `path` (which starts with `/`), with its
    /// parameters' spans in `spans`.
    ///
    /// A loop rather than recursion: at each node the segment is tried as a static
    /// segment, then as the parameter, then the catch-all takes the rest. Taking a static
    /// segment from a node that has a parameter or catch-all too leaves a place to come
    /// back to if the static branch leads nowhere.
    pub(crate) fn at(&self, path: &str, spans: &mut ParamSpans) -> Option<u32> {
        let bytes = path.as_bytes();
        if bytes.first() != Some(&b'/') {
            return None;
        }
        // (node, segment start, spans set): resume there at the parameter.
        let mut back: SmallVec<[(u32, usize, usize); 4]> = SmallVec::new();
        let mut node_index = 0u32;
        let mut start = 1;
        let mut n = 0;
        let mut statics = true;
        loop {
            let node = self.nodes.get(node_index as usize)?;
            let (len, head) = segment(bytes, start);
            let end = start + len;
            let last = end == bytes.len();
            if statics {
                if let Some(t) = node.find(head, bytes, start, len) {
                    if last {
                        let e = self.nodes.get(t as usize)?.entry;
                        if e != NONE {
                            return Some(e);
                        }
                    } else {
                        if node.param != NONE || node.catch_all != NONE {
                            back.push((node_index, start, n));
                        }
                        node_index = t;
                        start = end + 1;
                        continue;
                    }
                }
            }
            if node.param != NONE && len > 0 && n < MAX_PARAMS {
                spans[n] = (start, end);
                if last {
                    let e = self.nodes.get(node.param as usize)?.entry;
                    if e != NONE {
                        return Some(e);
                    }
                } else {
                    node_index = node.param;
                    start = end + 1;
                    n += 1;
                    statics = true;
                    continue;
                }
            }
            if node.catch_all != NONE && start < bytes.len() && n < MAX_PARAMS {
                spans[n] = (start, bytes.len());
                return Some(node.catch_all);
            }
            (node_index, start, n) = back.pop()?;
            statics = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(s: &str) -> Vec<Segment> {
        s.trim_start_matches('/')
            .split('/')
            .map(|p| match p {
                "{}" => Segment::Param,
                "{*}" => Segment::CatchAll,
                t => Segment::Static(t.to_owned()),
            })
            .collect()
    }

    fn at(tree: &SegmentTree, path: &str) -> Option<(u32, Vec<String>)> {
        let mut spans = [(0, 0); MAX_PARAMS];
        let entry = tree.at(path, &mut spans)?;
        let n = spans.iter().take_while(|s| s.1 > 0).count();
        Some((
            entry,
            spans[..n]
                .iter()
                .map(|&(a, b)| path[a..b].to_owned())
                .collect(),
        ))
    }

    #[test]
    fn find_slash_agrees_with_position() {
        let samples: [&[u8]; 9] = [
            b"",
            b"/",
            b"abc",
            b"abcdefgh/",
            b"abcdefg/h",
            b"a/b/c",
            b"\xff\x2f",
            b"0123456789abcdef/x",
            "ééééé/é".as_bytes(),
        ];
        for s in samples {
            assert_eq!(find_slash(s), s.iter().position(|&b| b == b'/'), "{s:?}");
        }
        for len in 0..24 {
            for at in 0..len {
                let mut v = vec![b'x'; len];
                v[at] = b'/';
                assert_eq!(find_slash(&v), Some(at));
            }
            assert_eq!(find_slash(&vec![0x2e; len]), None);
        }
    }

    #[test]
    fn segment_finds_length_and_head_at_every_start() {
        let paths = [
            "/",
            "//",
            "/a",
            "/abc/",
            "/login",
            "/user/12/edit",
            "/a/b/c/d/e/f/g/h",
            "/abcdefgh/ijklmnopq/r",
            "/abcdefghijklmnopqrstuvwxyz",
            "/é/ü/ß/x",
            "/1234567/",
            "/12345678/",
        ];
        for p in paths {
            let b = p.as_bytes();
            for start in 0..=b.len() {
                let rest = &b[start..];
                let len = find_slash(rest).unwrap_or(rest.len());
                assert_eq!(
                    segment(b, start),
                    (len, head(b, start, len)),
                    "{p:?} {start}"
                );
            }
        }
    }

    #[test]
    fn head_reads_the_segment_wherever_it_lies() {
        let text = b"/abcdefghijklmnop";
        for start in 0..text.len() {
            for len in 0..=text.len() - start {
                let mut want = [0u8; 8];
                let n = len.min(8);
                want[..n].copy_from_slice(&text[start..start + n]);
                // Every shorter path that still holds the segment gives the same head.
                for cut in start + len..=text.len() {
                    assert_eq!(
                        head(&text[..cut], start, len),
                        u64::from_le_bytes(want),
                        "{start} {len} {cut}"
                    );
                }
            }
        }
    }

    #[test]
    fn statics_params_and_catch_alls_in_matchit_order() {
        let mut t = SegmentTree::default();
        let routes = [
            "/",
            "/user/",
            "/user/new",
            "/user/{}",
            "/user/{}/edit",
            "/static/{*}",
            "/a-rather-long-segment/x",
            "/a-rather-long-segmenT/y",
            "/{}/x/y",
        ];
        for (i, r) in routes.iter().enumerate() {
            t.insert(&route(r), i as u32).unwrap();
        }
        assert_eq!(at(&t, "/"), Some((0, vec![])));
        assert_eq!(at(&t, "/user/"), Some((1, vec![])));
        assert_eq!(at(&t, "/user/new"), Some((2, vec![])));
        assert_eq!(at(&t, "/user/7"), Some((3, vec!["7".into()])));
        assert_eq!(at(&t, "/user/new/edit"), Some((4, vec!["new".into()])));
        assert_eq!(at(&t, "/static/a/b.css"), Some((5, vec!["a/b.css".into()])));
        assert_eq!(at(&t, "/static/"), None);
        assert_eq!(at(&t, "/a-rather-long-segment/x"), Some((6, vec![])));
        assert_eq!(at(&t, "/a-rather-long-segmenT/y"), Some((7, vec![])));
        assert_eq!(at(&t, "/a-rather-long-segment/y"), None);
        // `user` is static, but leads nowhere with `x/y`: back to the parameter.
        assert_eq!(at(&t, "/user/x/y"), Some((8, vec!["user".into()])));
        assert_eq!(at(&t, "/user/+"), Some((3, vec!["+".into()])));
        assert_eq!(at(&t, "/user"), None);
        assert_eq!(at(&t, "/user/7/"), None);
        assert_eq!(at(&t, ""), None);
        assert_eq!(at(&t, "user"), None);
    }

    #[test]
    fn many_siblings_are_all_found() {
        let mut t = SegmentTree::default();
        let names: Vec<String> = (0..200)
            .map(|i| format!("s{i}-{}", "x".repeat(i % 13)))
            .collect();
        for (i, n) in names.iter().enumerate() {
            t.insert(&route(&format!("/{n}")), i as u32).unwrap();
        }
        for (i, n) in names.iter().enumerate() {
            assert_eq!(at(&t, &format!("/{n}")).map(|m| m.0), Some(i as u32));
            assert_eq!(at(&t, &format!("/{n}z")), None);
        }
    }

    #[test]
    fn refuses_what_matchit_refuses() {
        let mut t = SegmentTree::default();
        t.insert(&route("/a/{}"), 0).unwrap();
        assert_eq!(
            t.insert(&route("/a/{*}"), 1),
            Err(Refused::ParamAndCatchAll)
        );
        let mut t = SegmentTree::default();
        t.insert(&route("/a/{*}"), 0).unwrap();
        assert_eq!(
            t.insert(&route("/a/{}/b"), 1),
            Err(Refused::ParamAndCatchAll)
        );
        assert_eq!(
            t.insert(&route("/b/{*}/c"), 2),
            Err(Refused::CatchAllNotLast)
        );
        assert_eq!(
            t.insert(&route("/{}/{}/{}/{}/{}/{}/{}/{}/{}"), 3),
            Err(Refused::TooManyParams)
        );
    }
}
