//! Fuzzes `procnet::sockets` (the /proc/net/tcp and tcp6 parser) and `appexit::count` on top of
//! it with arbitrary table text: never panics, always ends, yields at most one item per line,
//! numbers malformed lines in order, gives every socket an address of the table's family, and
//! counts at most as many application sockets as it parsed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use readygate::appexit::{count, Census};
use readygate::procnet::{sockets, Family};

fuzz_target!(|data: &[u8]| {
    let Some((&config, table)) = data.split_first() else {
        return;
    };
    // Bit 0: which table; bit 1: whether uid 0 is the proxy's (else 1337).
    let family = if config & 1 == 0 {
        Family::V4
    } else {
        Family::V6
    };
    let proxy_uids: &[u32] = if config & 2 == 0 { &[0] } else { &[1337] };
    let lines = table.split(|&b| b == b'\n').count();
    let Ok(entries) = sockets(table, family) else {
        assert!(count(table, family, proxy_uids, &mut Census::default()).is_err());
        return;
    };
    let mut items = 0;
    let mut parsed = 0u32;
    let mut last_line = 1;
    for entry in entries {
        items += 1;
        match entry {
            Ok(socket) => {
                parsed += 1;
                let v4 = family == Family::V4;
                assert_eq!(socket.local.is_ipv4(), v4);
                assert_eq!(socket.remote.is_ipv4(), v4);
            }
            Err(malformed) => {
                assert!(malformed.line > last_line && malformed.line <= lines);
                last_line = malformed.line;
                assert!(!malformed.to_string().is_empty());
            }
        }
    }
    assert!(items < lines.max(1));
    let mut census = Census::default();
    if count(table, family, proxy_uids, &mut census).is_ok() {
        assert!(census.listening + census.connected <= parsed);
    }
});
