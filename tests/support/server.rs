//! The loopback server every test endpoint is built on: each connection is handled by a closure
//! on its own thread; dropping (or closing) the server stops accepting and closes its port.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

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

// The wire helpers moved to `http`; kept here under their old path for the tests that use it.
pub use super::http::{answer, read_head, reset, write_huge};
