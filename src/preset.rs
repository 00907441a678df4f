//! The mesh table: each mesh's readiness URL (and, for Job mode, its quit URL), in one place.

use clap::ValueEnum;

/// A service mesh whose sidecar conventions readygate knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mesh {
    /// Istio / Cloud Service Mesh: pilot-agent on 15020.
    Istio,
    /// Linkerd: the proxy's admin server on 4191.
    Linkerd,
    /// Envoy alone: the admin interface on 15000.
    Envoy,
}

/// The endpoints of one mesh's sidecar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preset {
    /// GET until it answers 200.
    pub ready_url: &'static str,
    /// POST after the application exits in Job mode, so the sidecar exits too.
    pub quit_url: &'static str,
}

impl Mesh {
    /// The sidecar endpoints of this mesh (see CONTEXT.md, "Endpoints of the meshes").
    pub fn preset(self) -> Preset {
        match self {
            // 200 once Envoy has its first config, is LIVE and its workers started.
            Mesh::Istio => Preset {
                ready_url: "http://localhost:15020/healthz/ready",
                quit_url: "http://localhost:15020/quitquitquit",
            },
            // The shutdown endpoint is disabled unless the proxy enables it: expect 404 then.
            Mesh::Linkerd => Preset {
                ready_url: "http://localhost:4191/ready",
                quit_url: "http://localhost:4191/shutdown",
            },
            // Admin /ready: 200 LIVE, 503 PRE_INITIALIZING / INITIALIZING.
            Mesh::Envoy => Preset {
                ready_url: "http://localhost:15000/ready",
                quit_url: "http://localhost:15000/quitquitquit",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Target;

    #[test]
    fn every_preset_url_parses_as_a_loopback_http_target() {
        for mesh in Mesh::value_variants() {
            let preset = mesh.preset();
            for url in [preset.ready_url, preset.quit_url] {
                let target: Target = url.parse().expect("preset URLs are valid");
                assert!(target.is_http(), "{url}");
                assert_eq!(target.host_text(), "localhost", "{url}");
            }
        }
    }
}
