//! [`PathParams`]: a matched route's path parameters, borrowed from the route and the path.

use smallvec::SmallVec;

/// Path parameter names (borrowed from the route) with their raw, still percent-encoded
/// values (borrowed from the request path), in pattern order.
///
/// Inline up to two parameters and borrowed, so routing a request (and answering it from the
/// cache) allocates nothing for them; a name becomes a `String` only when a consumer takes
/// the parameters by value ([`IntoIterator`]) or as a list ([`PathParams::to_vec`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathParams<'a>(SmallVec<[(&'a str, &'a str); 2]>);

impl<'a> PathParams<'a> {
    /// No parameters.
    pub fn new() -> Self {
        PathParams(SmallVec::new())
    }

    /// Adds a parameter after the others.
    pub fn push(&mut self, name: &'a str, raw_value: &'a str) {
        self.0.push((name, raw_value));
    }

    /// The parameters as (name, raw value) pairs, in pattern order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&'a str, &'a str)> + '_ {
        self.0.iter().copied()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The parameters as the owned-name list the integrations take.
    pub fn to_vec(&self) -> Vec<(String, &'a str)> {
        self.iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect()
    }
}

impl<'a> IntoIterator for PathParams<'a> {
    type Item = (String, &'a str);
    type IntoIter = std::iter::Map<
        smallvec::IntoIter<[(&'a str, &'a str); 2]>,
        fn((&'a str, &'a str)) -> (String, &'a str),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for PathParams<'a> {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(iter: I) -> Self {
        PathParams(iter.into_iter().collect())
    }
}
