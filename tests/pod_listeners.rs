//! The listener looks (`pod::listeners::look`, a netlink sock_diag dump, and `look_mesh_ports`,
//! exact sock_diag queries) against real sockets: they find the listeners ztunnel and a sidecar
//! agent open, and only listeners: not established connections on those ports, not bound
//! sockets that never listened, not UDP.
//!
//! Each test runs again inside a private network namespace (`unshare -n`, root), where the only
//! sockets are the ones it opens, so nothing else on the machine can add or hide a listener.

mod support;

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};

use readygate::pod::listeners::{look, look_mesh_ports, MeshPorts};
use support::netns::in_private_netns;

fn listen(addr: &str) -> TcpListener {
    TcpListener::bind(addr).unwrap_or_else(|e| panic!("listen on {addr}: {e}"))
}

fn ports(listeners: &[SocketAddr]) -> Vec<u16> {
    let mut ports: Vec<u16> = listeners.iter().map(SocketAddr::port).collect();
    ports.sort_unstable();
    ports
}

#[test]
fn ztunnels_listeners_are_found_and_a_sidecar_agent_beside_them_is_seen() {
    if !in_private_netns("ztunnels_listeners_are_found_and_a_sidecar_agent_beside_them_is_seen") {
        return;
    }
    assert_eq!(
        look().expect("look"),
        Vec::new(),
        "a new namespace has no listeners"
    );
    // ztunnel's three, on the addresses it may use: IPv4 loopback, IPv4 any, IPv6 any.
    let _outbound = listen("127.0.0.1:15001");
    let _inbound = listen("0.0.0.0:15006");
    let _hbone = listen("[::]:15008");
    let found = look().expect("look");
    let want: Vec<SocketAddr> = ["127.0.0.1:15001", "0.0.0.0:15006", "[::]:15008"]
        .iter()
        .map(|a| a.parse().expect("addr"))
        .collect();
    let mut sorted = found.clone();
    sorted.sort_by_key(SocketAddr::port);
    assert_eq!(sorted, want);
    let mesh = look_mesh_ports().expect("look");
    assert!(mesh.ztunnel_only(), "{mesh:?}");

    let _agent = listen("127.0.0.1:15020");
    let mesh = look_mesh_ports().expect("look");
    assert!(!mesh.ztunnel_only() && mesh.sidecar_agent(), "{mesh:?}");
    assert_eq!(mesh.listening(), vec![15001, 15006, 15008, 15020]);
    assert_eq!(
        MeshPorts::of(&look().expect("look")),
        mesh,
        "the dump agrees"
    );
}

#[test]
fn an_ipv6_only_loopback_listener_counts_and_one_on_another_address_does_not() {
    if !in_private_netns(
        "an_ipv6_only_loopback_listener_counts_and_one_on_another_address_does_not",
    ) {
        return;
    }
    // Envoy's health listener on [::1] alone (IPV6_V6ONLY), as an IPv6-only pod may have it.
    let v6only =
        socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None).expect("socket");
    v6only.set_only_v6(true).expect("IPV6_V6ONLY");
    let health: SocketAddr = "[::1]:15021".parse().expect("addr");
    v6only.bind(&health.into()).expect("bind [::1]:15021");
    v6only.listen(16).expect("listen");
    let mesh = look_mesh_ports().expect("look");
    assert!(mesh.sidecar_agent(), "{mesh:?}");
    assert_eq!(mesh.listening(), vec![15021]);
    drop(v6only);
    // A listener on another address only takes no connection to localhost: the exact queries
    // (which ask about localhost) do not count it, the dump lists it.
    let _elsewhere = listen("127.0.0.2:15020");
    assert_eq!(look_mesh_ports().expect("look"), MeshPorts::default());
    assert_eq!(ports(&look().expect("look")), vec![15020]);
}

#[test]
fn established_bound_and_udp_sockets_on_the_mesh_ports_are_not_listeners() {
    if !in_private_netns("established_bound_and_udp_sockets_on_the_mesh_ports_are_not_listeners") {
        return;
    }
    // A connection whose both ends sit on mesh ports: the client bound to 15021 connects to a
    // listener on 15001, which then closes, leaving two established sockets on 15001 and 15021.
    let server = listen("127.0.0.1:15001");
    let client =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    let local: SocketAddr = "127.0.0.1:15021".parse().expect("addr");
    client.bind(&local.into()).expect("bind 15021");
    client
        .connect(&server.local_addr().expect("addr").into())
        .expect("connect");
    let client: TcpStream = client.into();
    let (accepted, _) = server.accept().expect("accept");
    drop(server);
    // A socket bound to 15020 that never listens, and UDP on 15006 and 15008 (DNS-like).
    let bound =
        socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None).expect("socket");
    let agent: SocketAddr = "[::]:15020".parse().expect("addr");
    bound.bind(&agent.into()).expect("bind 15020");
    let _udp = [
        UdpSocket::bind("127.0.0.1:15006").expect("udp"),
        UdpSocket::bind("[::]:15008").expect("udp"),
    ];
    // One real listener elsewhere, so an empty answer cannot pass for a right one.
    let _app = listen("[::1]:8080");

    assert_eq!(ports(&look().expect("look")), vec![8080]);
    assert_eq!(look_mesh_ports().expect("look"), MeshPorts::default());
    drop((client, accepted, bound));
}

#[test]
fn many_listeners_span_several_datagrams_and_are_all_found() {
    if !in_private_netns("many_listeners_span_several_datagrams_and_are_all_found") {
        return;
    }
    // ~100 bytes a socket: 2,000 listeners need several 32 KiB datagrams per family.
    let v4: Vec<TcpListener> = (0..1000).map(|_| listen("127.0.0.1:0")).collect();
    let v6: Vec<TcpListener> = (0..1000).map(|_| listen("[::1]:0")).collect();
    let mut want: Vec<u16> = v4
        .iter()
        .chain(&v6)
        .map(|l| l.local_addr().expect("addr").port())
        .collect();
    want.sort_unstable();
    assert_eq!(ports(&look().expect("look")), want);
}
