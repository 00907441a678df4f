//! Fuzzes the netlink sock_diag reply parsers, `pod::listeners::parse_reply` (one datagram of a
//! dump) and `parse_exact_reply` (the answer to one exact query), with arbitrary bytes: never
//! panics; a dump adds at most one listener per whole message it read, of the family asked for;
//! an exact answer is at most one listener.
#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use readygate::pod::listeners::{parse_exact_reply, parse_reply, Family, MeshPorts, MAX_LISTENERS};

fuzz_target!(|data: &[u8]| {
    let Some((&config, datagram)) = data.split_first() else {
        return;
    };
    // Bit 2: an exact reply (seq 1) instead of a dump's datagram.
    if config & 4 != 0 {
        if let Err(e) = parse_exact_reply(datagram, 1) {
            assert!(!e.to_string().is_empty());
        }
        return;
    }
    // Bit 0: the family (and seq: 1 for IPv4, 2 for IPv6, as `look` numbers them); bit 1: start
    // with addresses already found (as the IPv6 dump starts after the IPv4 one). The cap itself
    // is unit-tested: filling 65,536 addresses per input would slow the fuzzer a hundredfold.
    let (family, seq) = if config & 1 == 0 {
        (Family::V4, 1)
    } else {
        (Family::V6, 2)
    };
    let start = usize::from(config & 2);
    let filler: SocketAddr = "0.0.0.0:1".parse().unwrap();
    let mut out = vec![filler; start];
    let result = parse_reply(datagram, family, seq, &mut out);
    assert!(out.len() <= MAX_LISTENERS);
    // A listener takes a 16-byte header and a 72-byte inet_diag_msg.
    let added = out.len() - start;
    assert!(
        added <= datagram.len() / 88,
        "{added} from {} bytes",
        datagram.len()
    );
    for addr in &out[start..] {
        assert_eq!(addr.is_ipv4(), family == Family::V4);
    }
    if let Err(e) = result {
        assert!(!e.to_string().is_empty());
    }
    let _ = MeshPorts::of(&out[start..]);
});
