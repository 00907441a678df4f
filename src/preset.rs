//! The mesh table: each mesh's readiness URL (and, for Job mode, its quit URL), in one place;
//! and `none`, for dependencies waited for without a mesh.

use std::str::FromStr;

/// A service mesh whose sidecar conventions readygate knows. (`Default` is only the blank slate
/// of `options::Options`; the option table's `--mesh` entry sets the real default.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mesh {
    /// Istio / Cloud Service Mesh: pilot-agent on 15020.
    #[default]
    Istio,
    /// Linkerd: the proxy's admin server on 4191.
    Linkerd,
    /// Envoy alone: the admin interface on 15000.
    Envoy,
    /// No sidecar (docker compose, VMs): no sidecar stage, nothing to quit.
    None,
}

/// The endpoints of one mesh's sidecar; `None` for `--mesh none`, which has no sidecar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preset {
    /// GET until it answers 200.
    pub ready_url: Option<&'static str>,
    /// POST after the application exits in Job mode, so the sidecar exits too.
    pub quit_url: Option<&'static str>,
}

impl Mesh {
    /// Every mesh, in the order the help lists them.
    pub const ALL: [Mesh; 4] = [Mesh::Istio, Mesh::Linkerd, Mesh::Envoy, Mesh::None];

    /// The sidecar endpoints of this mesh, as each mesh documents them (the README's "Mesh presets"
    /// table cites them).
    pub fn preset(self) -> Preset {
        match self {
            // 200 once Envoy has its first config, is LIVE and its workers started.
            Mesh::Istio => Preset {
                ready_url: Some("http://localhost:15020/healthz/ready"),
                quit_url: Some("http://localhost:15020/quitquitquit"),
            },
            // The shutdown endpoint is disabled unless the proxy enables it: expect 404 then.
            Mesh::Linkerd => Preset {
                ready_url: Some("http://localhost:4191/ready"),
                quit_url: Some("http://localhost:4191/shutdown"),
            },
            // Admin /ready: 200 LIVE, 503 PRE_INITIALIZING / INITIALIZING.
            Mesh::Envoy => Preset {
                ready_url: Some("http://localhost:15000/ready"),
                quit_url: Some("http://localhost:15000/quitquitquit"),
            },
            Mesh::None => Preset {
                ready_url: None,
                quit_url: None,
            },
        }
    }
}

impl FromStr for Mesh {
    type Err = String;

    /// `istio`, `linkerd`, `envoy` or `none`, in any case.
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "istio" => Ok(Mesh::Istio),
            "linkerd" => Ok(Mesh::Linkerd),
            "envoy" => Ok(Mesh::Envoy),
            "none" => Ok(Mesh::None),
            _ => Err("expected one of istio, linkerd, envoy, none".to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Target;

    #[test]
    fn every_preset_url_parses_as_a_loopback_http_target() {
        for mesh in Mesh::ALL {
            let preset = mesh.preset();
            for url in [preset.ready_url, preset.quit_url].into_iter().flatten() {
                let target: Target = url.parse().expect("preset URLs are valid");
                assert!(
                    matches!(target.kind(), crate::target::Kind::Http { .. }),
                    "{url}"
                );
                assert_eq!(target.host_text(), "localhost", "{url}");
            }
        }
    }
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn mesh_names_parse_in_any_case_and_others_are_refused() {
        assert_eq!("Istio".parse(), Ok(Mesh::Istio));
        assert_eq!("LINKERD".parse(), Ok(Mesh::Linkerd));
        assert_eq!(" envoy ".parse(), Ok(Mesh::Envoy));
        assert_eq!("None".parse(), Ok(Mesh::None));
        assert!("consul".parse::<Mesh>().is_err());
    }
}
