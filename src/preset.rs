//! The mesh table: each mesh's readiness URL (and, for Job mode, its quit URL), in one place;
//! `none`, for dependencies waited for without a mesh; and `auto`, which starts as Istio and
//! lets the pod's own facts (`pod`) choose.

use std::str::FromStr;

use crate::pod::mode;

/// A service mesh whose sidecar conventions readygate knows. (`Default` is only the blank slate
/// of `options::Options`; the option table's `--mesh` entry sets the real default.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mesh {
    /// Decided from the pod (the default): Istio's endpoints, unless the sidecar is not ready at
    /// the first probe and the pod's annotations and listeners say otherwise (`pod::mode`).
    #[default]
    Auto,
    /// Istio / Cloud Service Mesh: pilot-agent on 15020.
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
    pub const ALL: [Mesh; 5] = [
        Mesh::Auto,
        Mesh::Istio,
        Mesh::Linkerd,
        Mesh::Envoy,
        Mesh::None,
    ];

    /// The mesh as `--mesh` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Mesh::Auto => "auto",
            Mesh::Istio => "istio",
            Mesh::Linkerd => "linkerd",
            Mesh::Envoy => "envoy",
            Mesh::None => "none",
        }
    }

    /// The sidecar endpoints of this mesh, as each mesh documents them (the README's "Mesh presets"
    /// table cites them).
    pub fn preset(self) -> Preset {
        match self {
            // 200 once Envoy has its first config, is LIVE and its workers started. `auto`
            // starts as Istio, and keeps it unless the pod's facts say otherwise.
            Mesh::Auto | Mesh::Istio => Preset {
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

/// The mesh the pod's facts named, as a preset.
impl From<mode::Mesh> for Mesh {
    fn from(mesh: mode::Mesh) -> Self {
        match mesh {
            mode::Mesh::Istio => Mesh::Istio,
            mode::Mesh::Linkerd => Mesh::Linkerd,
        }
    }
}

impl FromStr for Mesh {
    type Err = String;

    /// `auto`, `istio`, `linkerd`, `envoy` or `none`, in any case.
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Mesh::Auto),
            "istio" => Ok(Mesh::Istio),
            "linkerd" => Ok(Mesh::Linkerd),
            "envoy" => Ok(Mesh::Envoy),
            "none" => Ok(Mesh::None),
            _ => Err("expected one of auto, istio, linkerd, envoy, none".to_string()),
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
    fn every_mesh_parses_from_its_own_name() {
        for mesh in Mesh::ALL {
            assert_eq!(mesh.name().parse(), Ok(mesh));
        }
    }

    #[test]
    fn auto_starts_as_istio_and_each_mesh_the_pod_names_has_its_own_preset() {
        assert_eq!(Mesh::Auto.preset(), Mesh::Istio.preset());
        assert_eq!(Mesh::from(mode::Mesh::Istio), Mesh::Istio);
        assert_eq!(Mesh::from(mode::Mesh::Linkerd), Mesh::Linkerd);
        for mesh in [mode::Mesh::Istio, mode::Mesh::Linkerd] {
            assert_eq!(Mesh::from(mesh).name(), mesh.name());
        }
    }

    #[test]
    fn mesh_names_parse_in_any_case_and_others_are_refused() {
        assert_eq!("Istio".parse(), Ok(Mesh::Istio));
        assert_eq!("LINKERD".parse(), Ok(Mesh::Linkerd));
        assert_eq!(" envoy ".parse(), Ok(Mesh::Envoy));
        assert_eq!("None".parse(), Ok(Mesh::None));
        assert_eq!("AUTO".parse(), Ok(Mesh::Auto));
        assert!("consul".parse::<Mesh>().is_err());
    }
}
