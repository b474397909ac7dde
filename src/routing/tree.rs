//! The fast router's path tree: one node per path segment, reached by static segments, a
//! parameter (one whole segment) or a catch-all (the rest of the path).
//!
//! It answers the same questions `matchit` would for the routes the fast router gives it
//! (every route is whole segments, see `matcher::skeleton`), in the same order: a static
//! segment first, then the parameter, then the catch-all, backtracking when a branch leads
//! nowhere. Knowing that routes are whole segments lets it do less than a general radix
//! tree:
//!
//! - a static segment is compared against the path's next eight bytes, loaded once, under
//!   a mask, and the byte after it must end the segment: nothing is scanned for the `/`
//!   unless a parameter needs its length;
//! - a node with many static segments indexes them by their first byte;
//! - a chain of static segments with nothing else on the way (`/api/v1`) is one edge;
//! - the parameters' spans come out of the walk, so the matcher does not scan them again.
//!
//! Which rule a route stands for, and whether converters accept the values, is the
//! matcher's business.

use smallvec::SmallVec;

/// No node or entry.
const NONE: u32 = u32::MAX;

/// The most parameters (and catch-alls) one route may have. A map with longer routes is
/// matched by the state machine alone.
pub(crate) const MAX_PARAMS: usize = 8;

/// Byte spans of a route's parameters in the path, in order. Offsets are `u32` (paths
/// are far shorter; [`SegmentTree::at`] refuses longer ones) to keep this one cache line.
pub(crate) type ParamSpans = [(u32, u32); MAX_PARAMS];

/// Nodes with more static edges than this index them by first byte.
const SCAN_EDGES: usize = 6;

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

/// A node as routes are added: one per segment.
#[derive(Debug, Default)]
struct RawNode {
    statics: Vec<(Vec<u8>, usize)>,
    param: Option<usize>,
    catch_all: Option<u32>,
    entry: Option<u32>,
}

/// Routes of whole segments being added; [`finish`](TreeBuilder::finish) makes the tree.
#[derive(Debug)]
pub(crate) struct TreeBuilder {
    raw: Vec<RawNode>,
}

impl Default for TreeBuilder {
    fn default() -> Self {
        TreeBuilder {
            raw: vec![RawNode::default()],
        }
    }
}

impl TreeBuilder {
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
                Segment::Static(text) => {
                    let text = text.as_bytes();
                    match self.raw[node].statics.iter().find(|(t, _)| t == text) {
                        Some(&(_, child)) => child,
                        None => {
                            let child = self.push_node();
                            self.raw[node].statics.push((text.to_vec(), child));
                            child
                        }
                    }
                }
                Segment::Param => {
                    if self.raw[node].catch_all.is_some() {
                        return Err(Refused::ParamAndCatchAll);
                    }
                    match self.raw[node].param {
                        Some(child) => child,
                        None => {
                            let child = self.push_node();
                            self.raw[node].param = Some(child);
                            child
                        }
                    }
                }
                Segment::CatchAll => {
                    if i + 1 != segments.len() {
                        return Err(Refused::CatchAllNotLast);
                    }
                    let n = &mut self.raw[node];
                    if n.param.is_some() {
                        return Err(Refused::ParamAndCatchAll);
                    }
                    n.catch_all.get_or_insert(entry);
                    return Ok(());
                }
            };
        }
        self.raw[node].entry.get_or_insert(entry);
        Ok(())
    }

    fn push_node(&mut self) -> usize {
        self.raw.push(RawNode::default());
        self.raw.len() - 1
    }

    /// The tree for matching. Node indices stay those of the raw nodes; the ones inside a
    /// joined chain are left unreachable.
    pub(crate) fn finish(self) -> SegmentTree {
        let raw = &self.raw;
        let index = |i: Option<usize>| i.map_or(NONE, |i| i as u32);
        let nodes = raw
            .iter()
            .map(|r| {
                let mut empty = NONE;
                let mut edges = Vec::new();
                for (text, child) in &r.statics {
                    if text.is_empty() {
                        empty = *child as u32;
                        continue;
                    }
                    // Join the chain of nodes with one static segment and nothing else.
                    let mut text = text.clone();
                    let mut target = *child;
                    loop {
                        let c = &raw[target];
                        match c.statics.as_slice() {
                            [(next, grandchild)]
                                if !next.is_empty()
                                    && c.param.is_none()
                                    && c.catch_all.is_none()
                                    && c.entry.is_none() =>
                            {
                                text.push(b'/');
                                text.extend_from_slice(next);
                                target = *grandchild;
                            }
                            _ => break,
                        }
                    }
                    edges.push(Edge::new(&text, target as u32));
                }
                edges.sort_by_key(|e| e.first);
                let by_first = (edges.len() > SCAN_EDGES).then(|| {
                    let mut table = vec![0u16; 256].into_boxed_slice();
                    for (i, e) in edges.iter().enumerate().rev() {
                        table[usize::from(e.first)] = u16::try_from(i + 1).unwrap_or(0);
                    }
                    table
                });
                Node {
                    edges,
                    by_first,
                    empty,
                    param: index(r.param),
                    catch_all: r.catch_all.unwrap_or(NONE),
                    entry: r.entry.unwrap_or(NONE),
                }
            })
            .collect();
        SegmentTree { nodes }
    }
}

/// A static edge: one segment, or a chain of them joined by `/`.
#[derive(Debug)]
struct Edge {
    /// The text's first eight bytes, little-endian, zero-padded, and the mask of those
    /// that are text.
    head: u64,
    mask: u64,
    len: usize,
    first: u8,
    /// The bytes after the first eight.
    tail: Box<[u8]>,
    target: u32,
}

impl Edge {
    fn new(text: &[u8], target: u32) -> Edge {
        Edge {
            head: load(text, 0),
            mask: MASKS[text.len().min(8)],
            len: text.len(),
            first: text.first().copied().unwrap_or(0),
            tail: text.get(8..).unwrap_or_default().into(),
            target,
        }
    }

    /// Whether the path has this edge's text at `start` (`word` is its eight bytes from
    /// there), followed by the end of the segment.
    #[inline(always)]
    fn matches(&self, word: u64, bytes: &[u8], start: usize) -> bool {
        let end = start + self.len;
        word & self.mask == self.head
            && (end == bytes.len() || bytes.get(end) == Some(&b'/'))
            && (self.len <= 8 || bytes.get(start + 8..end) == Some(&self.tail[..]))
    }
}

#[derive(Debug)]
struct Node {
    /// Sorted by first byte.
    edges: Vec<Edge>,
    /// For nodes with many edges: 1 + the index of the first edge starting with a byte
    /// (0: none). Past 65,535 edges at one node the rest are not indexed, and paths
    /// through them are left to the state machine.
    by_first: Option<Box<[u16]>>,
    /// The node after an empty segment (a trailing slash).
    empty: u32,
    param: u32,
    /// The entry of a catch-all route here.
    catch_all: u32,
    /// The entry of the route that ends at this node.
    entry: u32,
}

impl Node {
    /// The static edge the path takes at `start` (`word` is its eight bytes from there):
    /// the node it leads to and the length of its text.
    #[inline(always)]
    fn find(&self, word: u64, bytes: &[u8], start: usize) -> Option<(u32, usize)> {
        let Some(&first) = bytes.get(start).filter(|&&b| b != b'/') else {
            return (self.empty != NONE).then_some((self.empty, 0));
        };
        match &self.by_first {
            None => self
                .edges
                .iter()
                .find(|e| e.matches(word, bytes, start))
                .map(|e| (e.target, e.len)),
            Some(table) => {
                let at = usize::from(table[usize::from(first)]).checked_sub(1)?;
                self.edges[at..]
                    .iter()
                    .take_while(|e| e.first == first)
                    .find(|e| e.matches(word, bytes, start))
                    .map(|e| (e.target, e.len))
            }
        }
    }
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
/// unaligned load wherever the path has eight bytes from `start` (or up to its end), two
/// or three small ones in paths shorter than eight bytes.
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
    // A path shorter than eight bytes: two overlapping loads of four, or three of one.
    let rest = bytes.get(start..).unwrap_or_default();
    let r = rest.len();
    let word32 = |at: usize| {
        u64::from(u32::from_le_bytes(
            rest[at..at + 4].try_into().unwrap_or_default(),
        ))
    };
    match r {
        0 => 0,
        1..=3 => {
            u64::from(rest[0])
                | u64::from(rest[r / 2]) << (8 * (r / 2))
                | u64::from(rest[r - 1]) << (8 * (r - 1))
        }
        _ => word32(0) | word32(r - 4) << (8 * (r - 4)),
    }
}

/// The length of the segment at `start` (up to the next `/` or the end), `word` being
/// its eight bytes from there: short segments, the common case, need no more loads.
#[inline(always)]
fn segment_len(word: u64, bytes: &[u8], start: usize) -> usize {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let left = bytes.len().saturating_sub(start);
    let v = word ^ (LOW * u64::from(b'/'));
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
    len.min(left)
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

impl SegmentTree {
    /// The entry of the first route matching `path` (which starts with `/`), with its
    /// parameters' spans in `spans`.
    ///
    /// A loop rather than recursion: at each node the segment is tried as a static
    /// segment, then as the parameter, then the catch-all takes the rest. Taking a static
    /// edge from a node that has a parameter or catch-all too leaves a place to come back
    /// to if the static branch leads nowhere.
    #[inline(always)]
    pub(crate) fn at(&self, path: &str, spans: &mut ParamSpans) -> Option<u32> {
        let bytes = path.as_bytes();
        if bytes.first() != Some(&b'/') || u32::try_from(bytes.len()).is_err() {
            return None;
        }
        // (node, segment start, spans set): resume there at the parameter.
        let mut back: SmallVec<[(&Node, usize, usize); 4]> = SmallVec::new();
        let mut node = self.nodes.first()?;
        let mut start = 1;
        let mut n = 0;
        let mut statics = true;
        loop {
            let word = load(bytes, start);
            if statics {
                if let Some((t, len)) = node.find(word, bytes, start) {
                    let next = self.nodes.get(t as usize)?;
                    let end = start + len;
                    if end == bytes.len() {
                        if next.entry != NONE {
                            return Some(next.entry);
                        }
                    } else {
                        if node.param != NONE || node.catch_all != NONE {
                            back.push((node, start, n));
                        }
                        node = next;
                        start = end + 1;
                        continue;
                    }
                }
            }
            if node.param != NONE && n < MAX_PARAMS {
                let len = segment_len(word, bytes, start);
                let end = start + len;
                if len > 0 {
                    spans[n] = (start as u32, end as u32);
                    let next = self.nodes.get(node.param as usize)?;
                    if end == bytes.len() {
                        if next.entry != NONE {
                            return Some(next.entry);
                        }
                    } else {
                        node = next;
                        start = end + 1;
                        n += 1;
                        statics = true;
                        continue;
                    }
                }
            }
            if node.catch_all != NONE && start < bytes.len() && n < MAX_PARAMS {
                spans[n] = (start as u32, bytes.len() as u32);
                return Some(node.catch_all);
            }
            (node, start, n) = back.pop()?;
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

    fn tree(routes: &[&str]) -> SegmentTree {
        let mut b = TreeBuilder::default();
        for (i, r) in routes.iter().enumerate() {
            b.insert(&route(r), i as u32).unwrap();
        }
        b.finish()
    }

    /// The entry and the parameters' texts; `routes` says how many parameters it has.
    fn at(tree: &SegmentTree, routes: &[&str], path: &str) -> Option<(u32, Vec<String>)> {
        let mut spans = [(0, 0); MAX_PARAMS];
        let entry = tree.at(path, &mut spans)?;
        let n = route(routes[entry as usize])
            .iter()
            .filter(|s| !matches!(s, Segment::Static(_)))
            .count();
        Some((
            entry,
            spans[..n]
                .iter()
                .map(|&(a, b)| path[a as usize..b as usize].to_owned())
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
    fn segment_len_at_every_start() {
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
                assert_eq!(segment_len(load(b, start), b, start), len, "{p:?} {start}");
            }
        }
    }

    #[test]
    fn load_reads_eight_bytes_wherever_they_lie() {
        let text = b"/abcdefghijklmnop";
        for cut in 0..=text.len() {
            for start in 0..=cut {
                let mut want = [0u8; 8];
                let n = (cut - start).min(8);
                want[..n].copy_from_slice(&text[start..start + n]);
                assert_eq!(
                    load(&text[..cut], start),
                    u64::from_le_bytes(want),
                    "{start} {cut}"
                );
            }
        }
    }

    #[test]
    fn statics_params_and_catch_alls_in_matchit_order() {
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
            "/api/v1/items",
            "/api/v1/orders/{}",
        ];
        let t = tree(&routes);
        let at = |p: &str| at(&t, &routes, p);
        assert_eq!(at("/"), Some((0, vec![])));
        assert_eq!(at("/user/"), Some((1, vec![])));
        assert_eq!(at("/user/new"), Some((2, vec![])));
        assert_eq!(at("/user/7"), Some((3, vec!["7".into()])));
        assert_eq!(at("/user/newer"), Some((3, vec!["newer".into()])));
        assert_eq!(at("/user/ne"), Some((3, vec!["ne".into()])));
        assert_eq!(at("/user/new/edit"), Some((4, vec!["new".into()])));
        assert_eq!(at("/static/a/b.css"), Some((5, vec!["a/b.css".into()])));
        assert_eq!(at("/static/"), None);
        assert_eq!(at("/a-rather-long-segment/x"), Some((6, vec![])));
        assert_eq!(at("/a-rather-long-segmenT/y"), Some((7, vec![])));
        assert_eq!(at("/a-rather-long-segment/y"), None);
        // `user` is static, but leads nowhere with `x/y`: back to the parameter.
        assert_eq!(at("/user/x/y"), Some((8, vec!["user".into()])));
        assert_eq!(at("/user/+"), Some((3, vec!["+".into()])));
        assert_eq!(at("/user"), None);
        assert_eq!(at("/user/7/"), None);
        // A chain of statics is one edge; its parts alone are not routes.
        assert_eq!(at("/api/v1/items"), Some((9, vec![])));
        assert_eq!(at("/api/v1/orders/x"), Some((10, vec!["x".into()])));
        assert_eq!(at("/api/v1"), None);
        assert_eq!(at("/api"), None);
        assert_eq!(at("/api/v1/item"), None);
        assert_eq!(at("/api/v1x/items"), None);
        assert_eq!(at("/api/v1/items/"), None);
        // Not `v1`: back to the parameter at the root, which needs `x/y` next.
        assert_eq!(at("/api/x/y"), Some((8, vec!["api".into()])));
        assert_eq!(at(""), None);
        assert_eq!(at("user"), None);
    }

    #[test]
    fn many_siblings_are_all_found() {
        let names: Vec<String> = (0..300)
            .map(|i| {
                format!(
                    "{}{i}-{}",
                    (b'a' + (i % 7) as u8) as char,
                    "x".repeat(i % 13)
                )
            })
            .collect();
        let routes: Vec<String> = names.iter().map(|n| format!("/{n}")).collect();
        let refs: Vec<&str> = routes.iter().map(String::as_str).collect();
        let t = tree(&refs);
        for (i, r) in routes.iter().enumerate() {
            assert_eq!(at(&t, &refs, r).map(|m| m.0), Some(i as u32));
            assert_eq!(at(&t, &refs, &format!("{r}z")), None);
            assert_eq!(
                at(&t, &refs, &r[..r.len() - 1]).map(|m| m.0),
                None.or(routes
                    .iter()
                    .position(|x| *x == r[..r.len() - 1])
                    .map(|p| p as u32))
            );
        }
    }

    #[test]
    fn hostile_paths_end_in_linear_time() {
        let routes = ["/{}/{}", "/a/{}/x", "/a/b/{*}", "/{}/x/y"];
        let t = tree(&routes);
        // A path of many segments, one huge segment, and many slashes: each is walked once
        // (no node is tried twice at the same place), so these return at once.
        let many = "/a".repeat(200_000);
        let huge = format!("/{}", "b".repeat(1 << 20));
        let slashes = "/".repeat(100_000);
        assert_eq!(at(&t, &routes, &many), None);
        assert_eq!(at(&t, &routes, &huge), None);
        assert_eq!(at(&t, &routes, &slashes), None);
        assert_eq!(at(&t, &routes, &format!("{huge}/c")).map(|m| m.0), Some(0));
        assert_eq!(
            at(&t, &routes, &format!("/a/b{many}")).map(|m| m.0),
            Some(2)
        );
    }

    #[test]
    fn refuses_what_matchit_refuses() {
        let mut t = TreeBuilder::default();
        t.insert(&route("/a/{}"), 0).unwrap();
        assert_eq!(
            t.insert(&route("/a/{*}"), 1),
            Err(Refused::ParamAndCatchAll)
        );
        let mut t = TreeBuilder::default();
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
