//! The loopback server every test endpoint is built on: each connection is handled by a closure
//! on its own thread; dropping (or closing) the server stops accepting and closes its port.
//! Plus the small wire helpers the handlers share.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// What a [`Server`] does with the n-th connection (0-based).
pub type Handler = Arc<dyn Fn(usize, TcpStream) + Send + Sync>;

/// A loopback server running its handler on each connection in its own thread.
pub struct Server {
    pub addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    accept: Option<thread::JoinHandle<()>>,
}

impl Server {
    /// Listens on 127.0.0.1, on a free port.
    pub fn start(handler: impl Fn(usize, TcpStream) + Send + Sync + 'static) -> Server {
        Self::on(
            TcpListener::bind("127.0.0.1:0").expect("bind"),
            Arc::new(handler),
        )
    }

    /// Serves on `listener` (bound to any address, or to a port chosen earlier).
    pub fn on(listener: TcpListener, handler: Handler) -> Server {
        let addr = listener.local_addr().expect("addr");
        let hits = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (hits.clone(), stop.clone());
        let accept = thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let n = h.fetch_add(1, Ordering::SeqCst);
                let handler = handler.clone();
                thread::spawn(move || handler(n, stream));
            }
        });
        Server {
            addr,
            hits,
            stop,
            accept: Some(accept),
        }
    }

    /// `http://ADDR/ready`.
    pub fn url(&self) -> String {
        format!("http://{}/ready", self.addr)
    }

    /// Connections accepted so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Stops accepting and waits until the port is closed (the listener is dropped).
    pub fn close(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag, then wait for it to drop the listener.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shut();
    }
}

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

/// Answers `code` with an empty body and `Connection: close`.
pub fn answer(stream: &mut TcpStream, code: u16) {
    let _ = write!(
        stream,
        "HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
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
