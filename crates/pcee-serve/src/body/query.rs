//! The query string of `POST /v1/classify`: only `delta` is known.

use super::{checked_delta, BodyError};
use pcee::Delta;

/// δ from a query string such as `delta=0.9` (`None` when absent or the query is empty).
///
/// # Errors
/// [`BodyError`]: a parameter other than `delta`, `delta` twice, or a value that is not a
/// number in [0, 1].
pub fn query_delta(query: Option<&str>) -> Result<Option<Delta>, BodyError> {
    let mut delta = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "delta" {
            return Err(BodyError::new(format!(
                "query parameter '{}' is unknown; expected delta",
                key.escape_default()
            )));
        }
        if delta.is_some() {
            return Err(BodyError::new("query: delta given twice; expected once"));
        }
        let number: f64 = value.parse().map_err(|_| {
            BodyError::new(format!(
                "delta: '{}' is not a number; expected a target accuracy in [0, 1]",
                value.escape_default()
            ))
        })?;
        delta = Some(checked_delta("delta", number)?);
    }
    Ok(delta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_delta_and_refuses_the_rest() {
        assert_eq!(query_delta(None), Ok(None));
        assert_eq!(query_delta(Some("")), Ok(None));
        assert_eq!(
            query_delta(Some("delta=0.25")).unwrap().unwrap().get(),
            0.25
        );
        for bad in [
            "delta=1.5",
            "delta=x",
            "x=1",
            "delta=0.1&delta=0.2",
            "delta=NaN",
        ] {
            assert!(query_delta(Some(bad)).is_err(), "{bad}");
        }
    }
}
