//! tokio-floor PORT -- COMMAND...: build readygate's runtime (current_thread, I/O and timers),
//! install the same four signal handlers, send one `GET /` to 127.0.0.1:PORT, read the reply head,
//! then exec COMMAND. No HTTP library, no logging, no option parsing, no backoff: what remains
//! is the cost of the runtime itself, which any tokio-based gate pays.

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::signal::unix::{signal, SignalKind};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 || args[2] != "--" {
        eprintln!("usage: tokio-floor PORT -- COMMAND...");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tokio-floor: runtime: {e}");
            return ExitCode::from(71);
        }
    };
    let probed = runtime.block_on(async {
        let kinds = [SignalKind::terminate(), SignalKind::interrupt(), SignalKind::hangup(), SignalKind::quit()];
        let mut handlers = Vec::new();
        for kind in kinds {
            handlers.push(signal(kind)?);
        }
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", args[1].parse().unwrap_or(0))).await?;
        stream.write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n").await?;
        let mut head = Vec::with_capacity(1024);
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Ok::<bool, std::io::Error>(head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200"))
    });
    drop(runtime);
    match probed {
        Ok(true) => {
            let err = Command::new(&args[3]).args(&args[4..]).exec();
            eprintln!("tokio-floor: exec: {err}");
            ExitCode::from(127)
        }
        Ok(false) => ExitCode::from(69),
        Err(e) => {
            eprintln!("tokio-floor: {e}");
            ExitCode::from(69)
        }
    }
}
