//! The pod readygate runs in, judged from its own facts: classic sidecar, native sidecar,
//! ambient, or no mesh (issue 22).
//!
//! Two facts, each gathered by one module as a pure parser plus a small read, and one pure
//! decision over both:
//! - `annotations`: the pod's annotations from a Downward API file, in the kubelet's format
//! - `istio_status`: the `sidecar.istio.io/status` JSON: where Istio put `istio-proxy`
//! - `listeners`: which TCP ports listen in this network namespace, asked through netlink
//!   sock_diag (ztunnel's 15001/15006/15008, a sidecar agent's 15020/15021)
//! - `mode`: the decision ([`mode::PodMode`]) and the log lines that say why
//! - `gather`: both facts gathered once and decided (`--mesh auto`): by the wait after a first
//!   probe that failed, or else by Job mode after the command, for the quit
//!
//! Nothing here knows the wait or the presets: they read `pod`, never the other way round.

pub mod annotations;
pub mod gather;
pub mod istio_status;
pub mod listeners;
pub mod mode;
