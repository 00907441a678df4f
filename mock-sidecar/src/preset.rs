//! The imitated sidecars: where each listens and what it answers, in one table.
//!
//! Ports, paths and bodies are the real agents' (readygate's `src/preset.rs` has the same ports
//! and paths): Istio's pilot-agent answers 503 with a sentence saying why, Envoy's admin the
//! server state, Linkerd's proxy a bare `not ready`.

use clap::ValueEnum;

/// `--preset`: which sidecar to imitate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// pilot-agent: 15020, GET /healthz/ready, POST /quitquitquit (from localhost only).
    Istio,
    /// linkerd-proxy admin: 4191, GET /ready, POST /shutdown.
    Linkerd,
    /// Envoy admin: 15000, GET /ready (LIVE / PRE_INITIALIZING), POST /quitquitquit.
    Envoy,
}

/// One sidecar's endpoints and replies.
pub struct Endpoints {
    pub name: &'static str,
    pub port: u16,
    pub ready_path: &'static str,
    pub quit_path: &'static str,
    pub ready_body: &'static str,
    /// What a readiness probe gets with the 503, as the real agent words it.
    pub not_ready_body: &'static str,
    pub quit_body: &'static str,
    /// pilot-agent refuses a quit that does not come from a loopback address (403).
    pub quit_loopback_only: bool,
}

const ISTIO: Endpoints = Endpoints {
    name: "istio",
    port: 15020,
    ready_path: "/healthz/ready",
    quit_path: "/quitquitquit",
    ready_body: "",
    not_ready_body: "config not received from XDS server (is Istiod running?)\n",
    quit_body: "OK",
    quit_loopback_only: true,
};

const LINKERD: Endpoints = Endpoints {
    name: "linkerd",
    port: 4191,
    ready_path: "/ready",
    quit_path: "/shutdown",
    ready_body: "ready\n",
    not_ready_body: "not ready\n",
    quit_body: "shutdown\n",
    quit_loopback_only: false,
};

const ENVOY: Endpoints = Endpoints {
    name: "envoy",
    port: 15000,
    ready_path: "/ready",
    quit_path: "/quitquitquit",
    ready_body: "LIVE\n",
    not_ready_body: "PRE_INITIALIZING\n",
    quit_body: "OK\n",
    quit_loopback_only: false,
};

impl Preset {
    pub fn endpoints(self) -> &'static Endpoints {
        match self {
            Preset::Istio => &ISTIO,
            Preset::Linkerd => &LINKERD,
            Preset::Envoy => &ENVOY,
        }
    }
}
