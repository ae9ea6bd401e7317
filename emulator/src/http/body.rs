//! Request bodies read within a limit, before and after `Content-Encoding: gzip` (the
//! Monitor APIs and the control API's table seeding take compressed bodies).

use std::io::Read as _;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::Bytes;

/// Why a request body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Longer than the limit (before or after decompression).
    TooLarge,
    /// A `Content-Encoding` other than `gzip` or `identity`.
    UnsupportedEncoding(String),
    /// A gzip body that does not decompress.
    BadGzip,
    /// The connection failed while reading.
    Read,
}

/// Reads a request body of at most `limit` bytes, then [`decode_body`]s it.
pub(crate) async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, BodyError> {
    use http_body_util::{BodyExt as _, LengthLimitError, Limited};
    let raw = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(BodyError::TooLarge);
        }
        Err(_) => return Err(BodyError::Read),
    };
    decode_body(raw, headers, limit)
}

/// Checks a body against `limit` and decompresses `Content-Encoding: gzip`; the inflated
/// size is bounded by the same limit, so a small bomb cannot expand.
pub(crate) fn decode_body(
    raw: Bytes,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, BodyError> {
    if raw.len() > limit {
        return Err(BodyError::TooLarge);
    }
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("") | Some("identity") => Ok(raw),
        Some("gzip") => {
            let mut out = Vec::new();
            let mut reader = flate2::read::GzDecoder::new(&raw[..]).take(limit as u64 + 1);
            reader
                .read_to_end(&mut out)
                .map_err(|_| BodyError::BadGzip)?;
            if out.len() > limit {
                return Err(BodyError::TooLarge);
            }
            Ok(Bytes::from(out))
        }
        Some(other) => Err(BodyError::UnsupportedEncoding(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[tokio::test]
    async fn bodies_are_bounded_before_and_after_gzip() {
        use flate2::Compression;
        use flate2::write::GzEncoder;
        use std::io::Write as _;
        let plain = HeaderMap::new();
        let ok = read_body(Body::from("abc"), &plain, 3).await;
        assert_eq!(ok, Ok(Bytes::from("abc")));
        let long = read_body(Body::from("abcd"), &plain, 3).await;
        assert_eq!(long, Err(BodyError::TooLarge));
        let mut gz = HeaderMap::new();
        gz.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        let mut enc = GzEncoder::new(Vec::new(), Compression::best());
        enc.write_all(&[b'a'; 4096]).expect("write");
        let bomb = enc.finish().expect("gzip");
        assert!(bomb.len() < 100);
        let r = read_body(Body::from(bomb.clone()), &gz, 1000).await;
        assert_eq!(r, Err(BodyError::TooLarge), "limit applies after inflating");
        let r = read_body(Body::from(bomb), &gz, 5000).await;
        assert_eq!(r.map(|b| b.len()), Ok(4096));
        let r = read_body(Body::from("not gzip"), &gz, 100).await;
        assert_eq!(r, Err(BodyError::BadGzip));
        let mut br = HeaderMap::new();
        br.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
        let r = read_body(Body::from("x"), &br, 100).await;
        assert_eq!(r, Err(BodyError::UnsupportedEncoding("br".into())));
    }
}
