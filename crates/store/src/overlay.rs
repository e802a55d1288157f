//! The write buffer of the embedded backends.
//!
//! sled and redb transactions buffer their writes here and read through it:
//! a read first looks at the buffer (read-your-writes), then at the backend's
//! view. The commit hands the buffer to the backend to apply atomically.
//! The buffer also records what was read, as conflict ranges, for backends
//! that check conflicts optimistically (redb).

use std::collections::BTreeMap;
use std::iter::Peekable;
use std::ops::Bound;

use crate::{KeyValue, RangePage, RangeRequest, Result, key_after};

/// A backend's consistent view to read from.
pub(crate) trait View {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Pairs of `[begin, end)` in key order, or in reverse.
    fn range<'a>(
        &'a self,
        begin: &[u8],
        end: &[u8],
        reverse: bool,
    ) -> Result<Box<dyn Iterator<Item = Result<KeyValue>> + 'a>>;

    /// At most `limit` pairs of `[begin, end)`. Backends override it with a
    /// direct loop: it is the hot path of scans with nothing buffered.
    fn page(&self, begin: &[u8], end: &[u8], reverse: bool, limit: usize) -> Result<Vec<KeyValue>> {
        self.range(begin, end, reverse)?.take(limit).collect()
    }
}

/// The buffered point writes of a range, in read order.
type Buffered<'a> = Box<dyn Iterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)> + 'a>;

/// A half-open key range `[begin, end)`.
pub(crate) type KeyRange = (Vec<u8>, Vec<u8>);

/// Everything a transaction wrote, in a form a backend can apply.
#[derive(Debug, Default)]
pub(crate) struct WriteSet {
    /// Ranges cleared, in order. Applied before `points`.
    pub(crate) cleared: Vec<KeyRange>,
    /// Point writes after the clears: `Some` sets, `None` clears.
    pub(crate) points: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Versionstamped key templates and their values.
    pub(crate) versionstamped: Vec<KeyValue>,
}

impl WriteSet {
    pub(crate) fn is_empty(&self) -> bool {
        self.cleared.is_empty() && self.points.is_empty() && self.versionstamped.is_empty()
    }

    /// About how many bytes it holds.
    #[cfg_attr(not(feature = "redb"), allow(dead_code))]
    pub(crate) fn bytes(&self) -> usize {
        let pairs = |pairs: &mut dyn Iterator<Item = (usize, usize)>| -> usize {
            pairs.map(|(k, v)| k + v).sum()
        };
        pairs(&mut self.cleared.iter().map(|(b, e)| (b.len(), e.len())))
            + pairs(
                &mut self
                    .points
                    .iter()
                    .map(|(k, v)| (k.len(), v.as_ref().map_or(0, Vec::len))),
            )
            + pairs(&mut self.versionstamped.iter().map(|(k, v)| (k.len(), v.len())))
    }

    pub(crate) fn set(&mut self, key: &[u8], value: &[u8]) {
        self.points.insert(key.to_vec(), Some(value.to_vec()));
    }

    pub(crate) fn clear(&mut self, key: &[u8]) {
        self.points.insert(key.to_vec(), None);
    }

    pub(crate) fn clear_range(&mut self, begin: &[u8], end: &[u8]) {
        let doomed: Vec<Vec<u8>> = self
            .points
            .range::<[u8], _>((Bound::Included(begin), Bound::Excluded(end)))
            .map(|(k, _)| k.clone())
            .collect();
        for key in doomed {
            self.points.remove(&key);
        }
        self.cleared.push((begin.to_vec(), end.to_vec()));
    }

    fn is_cleared(&self, key: &[u8]) -> bool {
        self.cleared
            .iter()
            .any(|(b, e)| b.as_slice() <= key && key < e.as_slice())
    }

    /// The ranges this write set touches, for conflict checks.
    #[cfg_attr(not(feature = "redb"), allow(dead_code))]
    pub(crate) fn conflict_ranges(&self, versionstamped_keys: &[Vec<u8>]) -> Vec<KeyRange> {
        let points = self.points.keys().map(|k| (k.clone(), key_after(k)));
        let stamped = versionstamped_keys
            .iter()
            .map(|k| (k.clone(), key_after(k)));
        self.cleared
            .iter()
            .cloned()
            .chain(points)
            .chain(stamped)
            .collect()
    }

    /// A point read through the buffer.
    pub(crate) fn get(&self, view: &dyn View, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(write) = self.points.get(key) {
            return Ok(write.clone());
        }
        if self.is_cleared(key) {
            return Ok(None);
        }
        view.get(key)
    }

    /// A range read through the buffer. Returns the page and the range that
    /// was actually examined (for the read conflict set).
    pub(crate) fn get_range(
        &self,
        view: &dyn View,
        request: &RangeRequest<'_>,
    ) -> Result<(RangePage, KeyRange)> {
        let bounds = (Bound::Included(request.begin), Bound::Excluded(request.end));
        let limit = if request.limit == 0 {
            usize::MAX
        } else {
            request.limit
        };
        if self.cleared.is_empty() && self.points.range::<[u8], _>(bounds).next().is_none() {
            // Nothing buffered here: the view's pairs as they are.
            let mut items = view.page(
                request.begin,
                request.end,
                request.reverse,
                limit.saturating_add(1),
            )?;
            let more = items.len() > limit;
            items.truncate(limit);
            let examined = examined_range(request, more, items.last());
            return Ok((RangePage { items, more }, examined));
        }
        let buffered = self.points.range::<[u8], _>(bounds);
        let buffered: Buffered<'_> = if request.reverse {
            Box::new(buffered.rev())
        } else {
            Box::new(buffered)
        };
        let mut buffered = buffered.peekable();
        let mut base = view
            .range(request.begin, request.end, request.reverse)?
            .filter(|item| match item {
                Ok((k, _)) => !self.points.contains_key(k) && !self.is_cleared(k),
                Err(_) => true,
            })
            .peekable();

        let mut items = Vec::new();
        let more = loop {
            let next = next_merged(&mut buffered, &mut base, request.reverse)?;
            match next {
                None => break false,
                Some(pair) if items.len() < limit => items.push(pair),
                Some(_) => break true,
            }
        };
        let examined = examined_range(request, more, items.last());
        Ok((RangePage { items, more }, examined))
    }
}

/// The part of a range a page actually covered: up to its last key when
/// more follow, else all of it.
fn examined_range(request: &RangeRequest<'_>, more: bool, last: Option<&KeyValue>) -> KeyRange {
    match (more, last) {
        (true, Some((last, _))) if request.reverse => (last.clone(), request.end.to_vec()),
        (true, Some((last, _))) => (request.begin.to_vec(), key_after(last)),
        _ => (request.begin.to_vec(), request.end.to_vec()),
    }
}

/// The next pair of the merge of the buffer and the view, skipping buffered
/// clears. Buffer entries win over the view's (the view's were filtered).
fn next_merged<'a, B, V>(
    buffered: &mut Peekable<B>,
    base: &mut Peekable<V>,
    reverse: bool,
) -> Result<Option<KeyValue>>
where
    B: Iterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)>,
    V: Iterator<Item = Result<KeyValue>>,
{
    loop {
        let take_buffered = match (buffered.peek(), base.peek()) {
            (None, None) => return Ok(None),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(_), Some(Err(_))) => false,
            (Some((bk, _)), Some(Ok((vk, _)))) => {
                if reverse {
                    bk.as_slice() > vk.as_slice()
                } else {
                    bk.as_slice() < vk.as_slice()
                }
            }
        };
        if take_buffered {
            let (key, value) = buffered.next().expect("peeked");
            if let Some(value) = value {
                return Ok(Some((key.clone(), value.clone())));
            }
            // A buffered clear: nothing to return for this key.
        } else {
            return base.next().transpose();
        }
    }
}

/// Whether two sets of ranges intersect.
#[cfg_attr(not(feature = "redb"), allow(dead_code))]
pub(crate) fn intersects(reads: &[KeyRange], writes: &[KeyRange]) -> bool {
    reads.iter().any(|(rb, re)| {
        writes
            .iter()
            .any(|(wb, we)| rb.as_slice() < we.as_slice() && wb.as_slice() < re.as_slice())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A view over a sorted map, for testing the merge.
    struct MapView(BTreeMap<Vec<u8>, Vec<u8>>);

    impl View for MapView {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
            Ok(self.0.get(key).cloned())
        }
        fn range<'a>(
            &'a self,
            begin: &[u8],
            end: &[u8],
            reverse: bool,
        ) -> Result<Box<dyn Iterator<Item = Result<KeyValue>> + 'a>> {
            let it = self
                .0
                .range::<[u8], _>((Bound::Included(begin), Bound::Excluded(end)))
                .map(|(k, v)| Ok((k.clone(), v.clone())))
                .collect::<Vec<_>>();
            Ok(if reverse {
                Box::new(it.into_iter().rev())
            } else {
                Box::new(it.into_iter())
            })
        }
    }

    fn keys(page: &RangePage) -> String {
        page.items
            .iter()
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn merge_sees_writes_and_hides_clears() {
        let view = MapView(
            ["a", "b", "c", "d", "e"]
                .iter()
                .map(|k| (k.as_bytes().to_vec(), b"old".to_vec()))
                .collect(),
        );
        let mut w = WriteSet::default();
        w.set(b"bb", b"new");
        w.clear(b"c");
        w.clear_range(b"d", b"e");
        w.set(b"d2", b"new");

        let check = |limit: usize, reverse: bool, expected: &str, more: bool| {
            let request = RangeRequest::new(b"a", b"z").limit(limit).reverse(reverse);
            let (page, _) = w.get_range(&view, &request).unwrap();
            assert_eq!(
                (keys(&page).as_str(), page.more),
                (expected, more),
                "limit {limit} reverse {reverse}"
            );
        };
        check(0, false, "a,b,bb,d2,e", false);
        check(0, true, "e,d2,bb,b,a", false);
        check(2, false, "a,b", true);
        check(2, true, "e,d2", true);
        check(5, false, "a,b,bb,d2,e", false);

        assert_eq!(w.get(&view, b"bb").unwrap(), Some(b"new".to_vec()));
        assert_eq!(w.get(&view, b"c").unwrap(), None);
        assert_eq!(w.get(&view, b"d").unwrap(), None);
        assert_eq!(w.get(&view, b"a").unwrap(), Some(b"old".to_vec()));
    }

    #[test]
    fn examined_range_stops_at_the_page() {
        let view = MapView((0..10u8).map(|i| (vec![b'k', i], vec![i])).collect());
        let w = WriteSet::default();
        let (_, examined) = w
            .get_range(&view, &RangeRequest::new(b"k", b"l").limit(3))
            .unwrap();
        assert_eq!(examined, (b"k".to_vec(), vec![b'k', 2, 0]));
        let (_, examined) = w
            .get_range(&view, &RangeRequest::new(b"k", b"l").limit(3).reverse(true))
            .unwrap();
        assert_eq!(examined, (vec![b'k', 7], b"l".to_vec()));
    }

    #[test]
    fn range_intersection() {
        let r = |b: &str, e: &str| (b.as_bytes().to_vec(), e.as_bytes().to_vec());
        assert!(intersects(&[r("a", "c")], &[r("b", "d")]));
        assert!(!intersects(&[r("a", "b")], &[r("b", "c")]));
        assert!(!intersects(&[], &[r("a", "z")]));
    }
}
