//! The socket as hyper sees it: reads mark the connection busy, and the empty-bodied error
//! answers hyper writes by itself (400, 414, 431 for a request it cannot parse) are replaced by
//! the JSON error every other answer of ours has.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::phase::ConnShared;

pub struct TrackedIo {
    stream: TcpStream,
    conn: Arc<ConnShared>,
    /// The JSON answer that replaced hyper's, and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
}

impl TrackedIo {
    pub fn new(stream: TcpStream, conn: Arc<ConnShared>) -> Self {
        Self {
            stream,
            conn,
            pending: None,
        }
    }

    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            let n = ready!(Pin::new(&mut self.stream).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
            if *written == bytes.len() {
                self.pending = None;
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for TrackedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.stream).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            this.conn.bytes_read();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for TrackedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        // hyper writes its whole buffer each time (the connection is built with writev off), so
        // its own error answer, always the last thing on a connection, ends the buffer.
        let Some((start, replacement)) = replace_hyper_error(buf) else {
            return Pin::new(&mut this.stream).poll_write(cx, buf);
        };
        if start > 0 {
            // What came before it first; hyper calls again with the rest.
            return Pin::new(&mut this.stream).poll_write(cx, &buf[..start]);
        }
        this.pending = Some((replacement, 0));
        // Taken in full: what the socket does not take now is written by flush or shutdown.
        let _ = this.poll_pending(cx)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

/// If `buf` ends with an answer hyper made up for a request it could not parse, where that
/// answer starts and the JSON answer to send instead.
///
/// hyper's form is fixed: `HTTP/1.1 <status> <reason>`, then exactly `connection: close`,
/// `content-length: 0` and `date: …`. None of our own answers has an error status and an
/// empty body, and none of our bodies ends in a blank line, so nothing of ours matches.
fn replace_hyper_error(buf: &[u8]) -> Option<(usize, Vec<u8>)> {
    const LONGEST_HEAD: usize = 160;
    let tail_from = buf.len().saturating_sub(LONGEST_HEAD);
    let tail = buf[tail_from..].strip_suffix(b"\r\n\r\n")?;
    let start = tail.windows(9).rposition(|w| w == b"HTTP/1.1 ")?;
    let head = std::str::from_utf8(&tail[start..]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let code = status_line.get(9..12)?;
    let message = match code {
        "400" => {
            "malformed request: the request line or a header could not be parsed \
             (two Content-Length headers that differ are refused too)"
        }
        "414" => "request URI too long",
        "431" => "request header fields too large",
        _ => return None,
    };
    let mut date = None;
    let mut has_empty_length = false;
    for line in lines {
        match line.split_once(": ")? {
            ("connection", "close") => {}
            ("content-length", "0") => has_empty_length = true,
            ("date", value) => date = Some(value),
            _ => return None,
        }
    }
    if !has_empty_length {
        return None;
    }
    let body = serde_json::json!({ "error": message }).to_string();
    let mut answer = format!(
        "{status_line}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    if let Some(date) = date {
        answer.push_str(&format!("date: {date}\r\n"));
    }
    answer.push_str("\r\n");
    answer.push_str(&body);
    Some((tail_from + start, answer.into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYPER_431: &str = "HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: Wed, 02 Dec 2026 08:22:34 GMT\r\n\r\n";

    #[test]
    fn hyper_error_answers_become_json_and_keep_their_status_and_date() {
        let (start, answer) = replace_hyper_error(HYPER_431.as_bytes()).expect("replaced");
        assert_eq!(start, 0);
        let text = String::from_utf8(answer).unwrap();
        assert!(text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(text.contains("content-type: application/json\r\n"));
        assert!(text.contains("date: Wed, 02 Dec 2026 08:22:34 GMT\r\n"));
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert_eq!(body, r#"{"error":"request header fields too large"}"#);
    }

    #[test]
    fn an_error_answer_after_a_finished_response_is_found_where_it_starts() {
        let ok = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n{\"status\":\"ok\"}";
        let buf = format!("{ok}{HYPER_431}");
        let (start, _) = replace_hyper_error(buf.as_bytes()).expect("replaced");
        assert_eq!(start, ok.len());
    }

    #[test]
    fn our_own_answers_are_left_alone() {
        for answer in [
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 17\r\n\r\n{\"error\":\"nope\"}",
            "HTTP/1.1 204 No Content\r\ndate: Wed, 02 Dec 2026 08:22:34 GMT\r\n\r\n",
            "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nx-other: 1\r\n\r\n",
        ] {
            assert!(replace_hyper_error(answer.as_bytes()).is_none(), "{answer}");
        }
    }
}
