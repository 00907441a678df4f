//! The log: every request is one line on stdout with the client, method, path, status and
//! user agent; the agent's text is quoted with escapes so it cannot forge a line.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;

use support::{http, Mock};

#[test]
fn every_request_is_one_stdout_line_with_method_path_status_and_user_agent() {
    let mock = Mock::start(&["--preset", "envoy", "--listen", "127.0.0.1:0"]);
    let addr = mock.address();
    http(addr, "GET", "/ready").unwrap();
    http(addr, "GET", "/nope").unwrap();
    http(addr, "DELETE", "/ready").unwrap();
    mock.wait_for_line(|l| l.contains("\"GET /ready\" 200 \"mock-test/1\""));
    mock.wait_for_line(|l| l.contains("\"GET /nope\" 404 \"mock-test/1\""));
    mock.wait_for_line(|l| l.contains("\"DELETE /ready\" 405 \"mock-test/1\""));
    let requests = mock.log().iter().filter(|l| l.contains(" \"")).count();
    assert_eq!(requests, 3, "{:#?}", mock.log());
}

#[test]
fn a_user_agent_with_quotes_is_escaped_so_it_cannot_forge_a_field() {
    let mock = Mock::start(&["--listen", "127.0.0.1:0"]);
    let mut stream = TcpStream::connect(mock.address()).unwrap();
    stream
        .write_all(
            b"GET /healthz/ready HTTP/1.1\r\nHost: x\r\nUser-Agent: a\" 503 \"\tb\r\n\
              Connection: close\r\n\r\n",
        )
        .unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    let line = mock.wait_for_line(|l| l.contains("\"GET /healthz/ready\""));
    assert!(line.ends_with(r#"200 "a\" 503 \"\tb""#), "{line}");
}
