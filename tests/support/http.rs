//! The wire helpers every test endpoint shares: read a request head, write a reply, flood a
//! body, or reset the connection. Replies are formatted here and nowhere else.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Reads a request head up to its blank line (bounded); returns it, empty if none came.
pub fn read_head(stream: &mut TcpStream) -> String {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A complete HTTP/1.1 reply: `code` with `body`, and `Connection: close` when `close`.
pub fn reply(code: u16, body: &[u8], close: bool) -> Vec<u8> {
    let connection = if close { "connection: close\r\n" } else { "" };
    let head = format!(
        "HTTP/1.1 {code} X\r\ncontent-length: {}\r\n{connection}\r\n",
        body.len()
    );
    [head.as_bytes(), body].concat()
}

/// Answers `code` with an empty body and `Connection: close`.
pub fn answer(stream: &mut TcpStream, code: u16) {
    let _ = stream.write_all(&reply(code, b"", true));
}

/// Closes with RST instead of FIN.
pub fn reset(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// Writes `head`, then `size` bytes of body (`x`), stopping when the peer goes away.
pub fn write_huge(stream: &mut TcpStream, head: &str, size: usize) {
    let _ = stream.write_all(head.as_bytes());
    let chunk = vec![b'x'; 64 * 1024];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        if stream.write_all(&chunk[..n]).is_err() {
            return;
        }
        left -= n;
    }
}
