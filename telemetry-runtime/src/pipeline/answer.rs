//! Reading an HTTP/1.1 answer: its head, parsed by `httparse` (status, `Retry-After`, how
//! the body is framed, whether the connection stays open) and its body, framed strictly
//! (RFC 9112): `Transfer-Encoding` with `Content-Length`, two `Content-Length`s that
//! disagree, a length that is not digits or does not fit, a transfer coding other than
//! `chunked` alone: each is an error, never a guess.
//!
//! One bound covers an answer whole: every byte read for it (interim `1xx` answers, the
//! head, the body, chunk-size lines, trailers) counts against [`MAX_ANSWER`], with checked
//! arithmetic, and bytes parsed are let go of at once. Every read waits at most until the
//! deadline. Whatever a server sends, reading one answer holds at most `MAX_ANSWER` bytes
//! and ends by the deadline.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use crate::pipeline::reply::parse_retry_after;

/// Every byte read for one answer, at most: what a collector's answer needs many times
/// over, and nothing a host would notice.
pub(crate) const MAX_ANSWER: usize = 64 * 1024;
/// The longest answer body kept (for a refusal's reason); longer bodies are not read.
pub(crate) const MAX_BODY: usize = 16 * 1024;
/// Headers in one head, at most.
const MAX_HEADERS: usize = 64;
/// Heads of one answer (interim `1xx` ones and the final one), at most.
pub(crate) const MAX_HEADS: usize = 8;

/// A stream whose next read can be bounded by a deadline.
pub(crate) trait Timed: Read {
    /// Lets the next read or write wait at most until `deadline`.
    fn limit(&self, deadline: Instant) -> io::Result<()>;
}

/// How an answer's body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// No body: a `1xx`, `204` or `304` answer.
    Empty,
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither: the body ends when the server closes the connection.
    UntilClose,
}

/// The parts of an answer's head that matter here.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<Duration>,
    framing: Framing,
    pub(crate) keep_alive: bool,
}

fn invalid() -> io::Error {
    io::ErrorKind::InvalidData.into()
}

/// Reads one answer from a stream, each read bounded by the deadline, all of it by
/// [`MAX_ANSWER`].
pub(crate) struct Reader<'a, S: Timed> {
    stream: &'a mut S,
    deadline: Instant,
    /// Bytes read and not yet parsed.
    buf: Vec<u8>,
    /// Every byte read for this answer.
    read: usize,
    /// How far `buf` was searched for the end of a line or a head, so a head sent a byte at a
    /// time is not searched again from its start for every byte.
    searched: usize,
}

impl<'a, S: Timed> Reader<'a, S> {
    pub(crate) fn new(stream: &'a mut S, deadline: Instant) -> Reader<'a, S> {
        Reader {
            stream,
            deadline,
            buf: Vec::new(),
            read: 0,
            searched: 0,
        }
    }

    /// Reads more bytes, within the answer's bound; `Ok(false)` at the end of the stream.
    fn fill(&mut self) -> io::Result<bool> {
        let room = MAX_ANSWER.checked_sub(self.read).filter(|r| *r > 0);
        let Some(room) = room else {
            return Err(invalid());
        };
        self.stream.limit(self.deadline)?;
        let mut chunk = [0u8; 4096];
        let want = room.min(chunk.len());
        let n = self.stream.read(&mut chunk[..want])?;
        self.read = self.read.checked_add(n).ok_or_else(invalid)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// Lets go of the first `n` bytes of `buf`, parsed.
    fn consume(&mut self, n: usize) {
        self.buf.drain(..n);
        self.searched = 0;
    }

    /// The position just past the first occurrence of `end` (`\n\r\n` or `\n\n` for a head,
    /// `\n` for a line), reading as needed; `None` if the stream ended first.
    fn until(&mut self, ends: &[&[u8]]) -> io::Result<Option<usize>> {
        loop {
            let longest = ends.iter().map(|e| e.len()).max().unwrap_or(1);
            let from = self.searched.saturating_sub(longest - 1);
            let found = ends
                .iter()
                .filter_map(|end| {
                    self.buf[from..]
                        .windows(end.len())
                        .position(|w| w == *end)
                        .map(|i| from + i + end.len())
                })
                .min();
            if found.is_some() {
                return Ok(found);
            }
            self.searched = self.buf.len();
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// One head, or `None` if the stream ended before its first byte.
    pub(crate) fn head(&mut self) -> io::Result<Option<Head>> {
        let Some(end) = self.until(&[b"\n\r\n", b"\n\n"])? else {
            return if self.buf.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        };
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let parsed = response.parse(&self.buf[..end]).map_err(|_| invalid())?;
        let httparse::Status::Complete(len) = parsed else {
            return Err(invalid());
        };
        let head = head_of(&response)?;
        self.consume(len);
        Ok(Some(head))
    }

    /// Reads the body of `head`: its bytes, if it is at most [`MAX_BODY`] (a longer one is
    /// not read, and the connection is not reused).
    pub(crate) fn body(&mut self, head: &Head) -> io::Result<Vec<u8>> {
        match head.framing {
            Framing::Empty => Ok(Vec::new()),
            Framing::Length(n) => {
                let n = usize::try_from(n)
                    .ok()
                    .filter(|n| *n <= MAX_BODY)
                    .ok_or_else(invalid)?;
                self.take(n)
            }
            Framing::Chunked => self.chunked(),
            Framing::UntilClose => {
                while self.fill()? {
                    if self.buf.len() > MAX_BODY {
                        return Err(invalid());
                    }
                }
                Ok(std::mem::take(&mut self.buf))
            }
        }
    }

    fn chunked(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line = self.line()?;
            let size = chunk_size(&line)?;
            if size == 0 {
                // Trailers, each counted against the bound, then the empty line.
                while !self.line()?.iter().all(|b| *b == b'\r' || *b == b'\n') {}
                return Ok(body);
            }
            let size = usize::try_from(size)
                .ok()
                .filter(|s| body.len().checked_add(*s).is_some_and(|t| t <= MAX_BODY))
                .ok_or_else(invalid)?;
            body.extend_from_slice(&self.take(size)?);
            let end = self.line()?;
            if end != b"\r\n" && end != b"\n" {
                return Err(invalid());
            }
        }
    }

    /// The next `n` bytes.
    fn take(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill()? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        let bytes = self.buf[..n].to_vec();
        self.consume(n);
        Ok(bytes)
    }

    /// The next line, with its ending (`\r\n`, or a bare `\n`).
    fn line(&mut self) -> io::Result<Vec<u8>> {
        let end = self.until(&[b"\n"])?.ok_or(io::ErrorKind::UnexpectedEof)?;
        let line = self.buf[..end].to_vec();
        self.consume(end);
        Ok(line)
    }
}

/// A chunk-size line's size, by `httparse` (which wants `\r\n`; a bare `\n` is read as one).
fn chunk_size(line: &[u8]) -> io::Result<u64> {
    let crlf;
    let line = match line {
        [.., b'\r', b'\n'] => line,
        [rest @ .., b'\n'] => {
            crlf = [rest, b"\r\n"].concat();
            &crlf
        }
        _ => return Err(invalid()),
    };
    match httparse::parse_chunk_size(line) {
        Ok(httparse::Status::Complete((_, size))) => Ok(size),
        _ => Err(invalid()),
    }
}

/// What matters of a parsed head, or an error if its framing is ambiguous.
fn head_of(response: &httparse::Response<'_, '_>) -> io::Result<Head> {
    let status = response.code.ok_or_else(invalid)?;
    let mut keep_alive = response.version == Some(1);
    let (mut length, mut chunked, mut retry_after) = (None, false, None);
    let mut transfer_encoding = false;
    for header in response.headers.iter() {
        let value = std::str::from_utf8(header.value)
            .map_err(|_| invalid())?
            .trim();
        match header.name.to_ascii_lowercase().as_str() {
            "content-length" => {
                // `5`, or a list of the same length (`5, 5`); never a sign, a space inside,
                // or a number past `u64`.
                for item in value.split(',').map(str::trim) {
                    if item.is_empty() || !item.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(invalid());
                    }
                    let n: u64 = item.parse().map_err(|_| invalid())?;
                    if length.is_some_and(|l| l != n) {
                        return Err(invalid());
                    }
                    length = Some(n);
                }
            }
            "transfer-encoding" => {
                // Only `chunked` alone is read; another coding could not be decoded here.
                if transfer_encoding || !value.eq_ignore_ascii_case("chunked") {
                    return Err(invalid());
                }
                transfer_encoding = true;
                chunked = true;
            }
            "connection" => {
                for token in value.split(',').map(str::trim) {
                    if token.eq_ignore_ascii_case("close") {
                        keep_alive = false;
                    } else if token.eq_ignore_ascii_case("keep-alive") {
                        keep_alive = true;
                    }
                }
            }
            "retry-after" => retry_after = parse_retry_after(value),
            _ => {}
        }
    }
    if chunked && length.is_some() {
        return Err(invalid());
    }
    let framing = match (status, chunked, length) {
        (100..=199 | 204 | 304, _, _) => Framing::Empty,
        (_, true, _) => Framing::Chunked,
        (_, false, Some(n)) => Framing::Length(n),
        (_, false, None) => {
            // A body ended by closing the connection: it cannot be reused.
            keep_alive = false;
            Framing::UntilClose
        }
    };
    Ok(Head {
        status,
        retry_after,
        framing,
        keep_alive,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream that hands out `data` in pieces of `piece` bytes.
    struct Pieces {
        data: Vec<u8>,
        at: usize,
        piece: usize,
    }

    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.piece.min(buf.len()).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    impl Timed for Pieces {
        fn limit(&self, _: Instant) -> io::Result<()> {
            Ok(())
        }
    }

    fn answer(text: &[u8], piece: usize) -> io::Result<(Head, Vec<u8>)> {
        let mut stream = Pieces {
            data: text.to_vec(),
            at: 0,
            piece,
        };
        let mut reader = Reader::new(&mut stream, Instant::now());
        let head = reader.head()?.ok_or(io::ErrorKind::UnexpectedEof)?;
        let body = reader.body(&head)?;
        Ok((head, body))
    }

    #[test]
    fn heads_and_bodies_are_read() {
        let (head, body) = answer(
            b"HTTP/1.1 429 Too Many\r\nRetry-After: 7\r\nContent-Length: 2\r\n\r\nok",
            1,
        )
        .unwrap();
        assert_eq!((head.status, head.keep_alive), (429, true));
        assert_eq!(head.retry_after, Some(Duration::from_secs(7)));
        assert_eq!(body, b"ok");
        let (head, body) = answer(
            b"HTTP/1.0 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n",
            3,
        )
        .unwrap();
        assert!(!head.keep_alive);
        assert_eq!(body, b"abcde");
        // Bare LF throughout, as some servers write it.
        let (head, body) = answer(b"HTTP/1.1 200 OK\nContent-Length: 1\n\nx", 2).unwrap();
        assert_eq!((head.status, body.as_slice()), (200, &b"x"[..]));
        let (_, body) = answer(
            b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n1\nx\n0\n\n",
            64,
        )
        .unwrap();
        assert_eq!(body, b"x");
        let (head, body) = answer(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close",
            5,
        )
        .unwrap();
        assert_eq!(
            (head.keep_alive, body.as_slice()),
            (false, &b"until close"[..])
        );
    }

    #[test]
    fn ambiguous_or_oversized_answers_are_refused() {
        let bad: &[&[u8]] = &[
            b"garbage\r\n\r\n",
            b"HTTP/2 200 OK\r\n\r\n",
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            // Obsolete line folding; a space before the colon; NUL and CR inside values.
            b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello",
            b"HTTP/1.1 200 OK\r\nX: a\0b\r\nContent-Length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n",
            // Framing that could be read two ways.
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!",
            b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nhello",
            // Chunk sizes that overflow, or add up past the bound.
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\nffffffffffffffff\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 16385\r\n\r\n",
        ];
        for text in bad {
            assert!(
                answer(text, 7).is_err(),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        let same_twice = answer(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
            4,
        );
        assert_eq!(same_twice.unwrap().1, b"ok");
    }

    #[test]
    fn one_bound_covers_the_whole_answer() {
        // Endless headers, endless trailers, an endless body: each stops at the bound.
        let mut flood = b"HTTP/1.1 200 OK\r\n".to_vec();
        flood.extend(b"X-Flood: 1\r\n".repeat(20_000));
        assert!(answer(&flood, 4096).is_err());
        let mut trailers = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n".to_vec();
        trailers.extend(b"T: 1\r\n".repeat(50_000));
        let mut stream = Pieces {
            data: trailers,
            at: 0,
            piece: 4096,
        };
        let mut reader = Reader::new(&mut stream, Instant::now());
        let head = reader.head().unwrap().unwrap();
        assert!(reader.body(&head).is_err());
        drop(reader);
        assert!(stream.at <= MAX_ANSWER, "read {} bytes", stream.at);
    }
}
