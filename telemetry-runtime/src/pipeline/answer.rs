//! Reading an HTTP/1.1 answer: its head (status, `Retry-After`, how the body is framed) and,
//! to reuse the connection, its body. Bounded: a head over 16 KiB or a body over 16 KiB is
//! not read, and every read waits at most until the deadline.

use std::io::{self, Read};
use std::time::{Duration, Instant};

/// The longest answer head read.
const MAX_HEAD: usize = 16 * 1024;
/// The longest answer body read (to reuse the connection); longer ones are not read.
const MAX_BODY: usize = 16 * 1024;

/// A stream whose next read can be bounded by a deadline.
pub(crate) trait Timed: Read {
    /// Lets the next read or write wait at most until `deadline`.
    fn limit(&self, deadline: Instant) -> io::Result<()>;
}

/// The parts of an answer's head that matter here.
pub(crate) struct Head {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<Duration>,
    content_length: Option<usize>,
    chunked: bool,
    pub(crate) keep_alive: bool,
}

/// Reads an answer from a stream, each read bounded by the deadline.
pub(crate) struct Reader<'a, S: Timed> {
    stream: &'a mut S,
    deadline: Instant,
    buf: Vec<u8>,
    /// Bytes consumed from the start of `buf`.
    used: usize,
}

impl<'a, S: Timed> Reader<'a, S> {
    pub(crate) fn new(stream: &'a mut S, deadline: Instant) -> Reader<'a, S> {
        Reader {
            stream,
            deadline,
            buf: Vec::new(),
            used: 0,
        }
    }

    /// Reads more bytes; `Ok(false)` at the end of the stream.
    fn fill(&mut self) -> io::Result<bool> {
        self.stream.limit(self.deadline)?;
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// One head, or `None` if the stream ended before its first byte.
    pub(crate) fn head(&mut self) -> io::Result<Option<Head>> {
        let end = loop {
            if let Some(i) = find(&self.buf[self.used..], b"\r\n\r\n") {
                break self.used + i + 4;
            }
            if self.buf.len() - self.used > MAX_HEAD {
                return Err(io::ErrorKind::InvalidData.into());
            }
            if !self.fill()? {
                return if self.buf.len() == self.used {
                    Ok(None)
                } else {
                    Err(io::ErrorKind::UnexpectedEof.into())
                };
            }
        };
        let text = std::str::from_utf8(&self.buf[self.used..end - 4])
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
        let head = parse_head(text).ok_or(io::ErrorKind::InvalidData)?;
        self.used = end;
        Ok(Some(head))
    }

    /// Reads the body of `head`, if it is short enough to keep the connection.
    pub(crate) fn body(&mut self, head: &Head) -> io::Result<Vec<u8>> {
        if head.chunked {
            let mut body = Vec::new();
            loop {
                let line = self.line()?;
                let size = line.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(size, 16)
                    .ok()
                    .filter(|n| body.len().checked_add(*n).is_some_and(|t| t <= MAX_BODY))
                    .ok_or(io::ErrorKind::InvalidData)?;
                if size == 0 {
                    // Trailers, then the empty line.
                    while !self.line()?.is_empty() {}
                    return Ok(body);
                }
                body.extend_from_slice(self.take(size)?);
                if !self.line()?.is_empty() {
                    return Err(io::ErrorKind::InvalidData.into());
                }
            }
        }
        match head.content_length {
            Some(n) if n <= MAX_BODY => self.take(n).map(<[u8]>::to_vec),
            _ => Err(io::ErrorKind::InvalidData.into()),
        }
    }

    fn take(&mut self, n: usize) -> io::Result<&[u8]> {
        while self.buf.len() - self.used < n {
            if !self.fill()? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        self.used += n;
        Ok(&self.buf[self.used - n..self.used])
    }

    fn line(&mut self) -> io::Result<String> {
        loop {
            if let Some(i) = find(&self.buf[self.used..], b"\r\n") {
                let line =
                    String::from_utf8_lossy(&self.buf[self.used..self.used + i]).into_owned();
                self.used += i + 2;
                return Ok(line);
            }
            if self.buf.len() - self.used > MAX_HEAD || !self.fill()? {
                return Err(io::ErrorKind::InvalidData.into());
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `HTTP/1.x NNN reason`, then `name: value` lines.
fn parse_head(text: &str) -> Option<Head> {
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next()?;
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return None,
    };
    let code = parts.next()?;
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut head = Head {
        status: code.parse().ok()?,
        retry_after: None,
        content_length: None,
        chunked: false,
        keep_alive: http11,
    };
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => head.content_length = value.parse().ok(),
            "transfer-encoding" => head.chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => {
                head.keep_alive = match value.to_ascii_lowercase().as_str() {
                    "close" => false,
                    "keep-alive" => true,
                    _ => head.keep_alive,
                }
            }
            "retry-after" => head.retry_after = parse_retry_after(value),
            _ => {}
        }
    }
    Some(head)
}

/// The delay-seconds form of `Retry-After`. An HTTP-date counts as "not given" (the normal
/// backoff applies); a number too large for `u64` as "longer than any deadline".
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        value
            .parse::<u64>()
            .map(Duration::from_secs)
            .unwrap_or(Duration::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_read_strictly() {
        let head =
            parse_head("HTTP/1.1 429 Too Many\r\nRetry-After: 7\r\nContent-Length: 2").unwrap();
        assert_eq!(head.status, 429);
        assert_eq!(head.retry_after, Some(Duration::from_secs(7)));
        assert_eq!(head.content_length, Some(2));
        assert!(head.keep_alive);
        let head = parse_head("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked").unwrap();
        assert!(head.chunked && !head.keep_alive);
        for bad in [
            "garbage",
            "HTTP/2 200 OK",
            "HTTP/1.1 20 OK",
            "HTTP/1.1 200 OK\r\nno colon",
        ] {
            assert!(parse_head(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn retry_after_values() {
        assert_eq!(parse_retry_after("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("0"), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999"),
            Some(Duration::MAX)
        );
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("1.5"), None);
        assert_eq!(parse_retry_after(""), None);
    }
}
