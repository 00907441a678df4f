//! The pod's mesh mode, decided from its two facts (the annotations, the listening ports) by
//! one pure function; the decision keeps what was found, and builds the lines that say it and
//! what readygate does about it, in the wait ([`Decision::line`]) and at Job mode's end
//! ([`Decision::quit_line`]).
//!
//! Conservative: the wait is skipped only on positive evidence, annotations that name no mesh
//! or say ambient, or ztunnel's listeners with no sidecar agent beside them. Everything
//! uncertain is [`PodMode::Unknown`], which is readygate's behaviour before mesh modes existed
//! (wait for Istio's sidecar, quit it in Job mode). Rules, first match wins:
//!
//! | annotations                                        | listeners           | mode |
//! |----------------------------------------------------|---------------------|------|
//! | unreadable, malformed, too large                   | any                 | Unknown (warning) |
//! | `sidecar.istio.io/status`: istio-proxy in `initContainers` | any         | Native(Istio) |
//! | `sidecar.istio.io/status`: istio-proxy in `containers` only | any        | Classic(Istio) |
//! | `sidecar.istio.io/status` naming no istio-proxy, or not JSON | any       | Unknown |
//! | `linkerd.io/proxy-version`, native annotation true | any                 | Native(Linkerd) |
//! | `linkerd.io/proxy-version`, native annotation false | any                | Classic(Linkerd) |
//! | `linkerd.io/proxy-version`, native not said        | any                 | Sidecar(Linkerd) |
//! | `kuma.io/sidecar-injected`, `consul.hashicorp.com/connect-inject-status` | any | Unknown |
//! | any, or no file                                    | 15020 or 15021      | Sidecar(Istio) |
//! | `ambient.istio.io/redirection: enabled`            | other               | Ambient |
//! | any other, or no file                              | 15001+15006+15008   | Ambient |
//! | `ambient.istio.io/redirection` not `enabled` (pending) | other           | Unknown |
//! | present, naming none of these                      | some of 15001/6/8   | Unknown |
//! | present, naming none of these                      | none, or unreadable | NoSidecar |
//! | no file                                            | none, or unreadable | Unknown |
//!
//! Sources: Istio's status JSON and ztunnel ports (see `istio_status` and `listeners`); the
//! ambient annotation's values in istio/istio `pkg/config/constants/constants.go`
//! (`AmbientRedirectionEnabled` "enabled", set by istio-cni once redirection works, possibly
//! after the containers started; `AmbientRedirectionPending` "pending"); Linkerd's
//! annotations in linkerd/linkerd2 `pkg/k8s/labels.go` and their reading in
//! `pkg/inject/inject.go` (`config.linkerd.io/` before `config.beta.` before `config.alpha.`,
//! each parsed with Go's `strconv.ParseBool`; the cluster-wide default, `proxy.nativeSidecar`
//! in the chart's values, leaves no trace on the pod, hence "not said").
//!
//! Kuma and Consul are recognised only so that their pods are not taken for uninjected ones:
//! their documentation gives no readiness endpoint readygate could rely on across versions.
//! The line never quotes an annotation's value (values may hold secrets).

use std::path::Path;

use tracing::{info, warn};

use crate::log;
use crate::pod::annotations::{Annotations, ReadError};
use crate::pod::istio_status::{self, Placement};
use crate::pod::listeners::{LookError, MeshPorts};

/// Istio's injection record (JSON naming the containers it added).
pub const ISTIO_STATUS: &str = "sidecar.istio.io/status";
/// Set by istio-cni on an ambient pod once its traffic is redirected to ztunnel.
pub const AMBIENT_REDIRECTION: &str = "ambient.istio.io/redirection";
/// Set by Linkerd's injector on every pod it injects.
pub const LINKERD_PROXY_VERSION: &str = "linkerd.io/proxy-version";
/// Linkerd's native-sidecar switch, in the order its injector reads them.
pub const LINKERD_NATIVE: [&str; 3] = [
    "config.linkerd.io/proxy-enable-native-sidecar",
    "config.beta.linkerd.io/proxy-enable-native-sidecar",
    "config.alpha.linkerd.io/proxy-enable-native-sidecar",
];
/// Set by Kuma's injector.
pub const KUMA_INJECTED: &str = "kuma.io/sidecar-injected";
/// Set by Consul's injector.
pub const CONSUL_INJECTED: &str = "consul.hashicorp.com/connect-inject-status";

/// A mesh readygate has a preset for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mesh {
    Istio,
    Linkerd,
}

impl Mesh {
    /// The mesh as `--mesh` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Mesh::Istio => "istio",
            Mesh::Linkerd => "linkerd",
        }
    }
}

/// What kind of pod this is, as far as readygate's wait and quit care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodMode {
    /// The proxy is a regular container: wait, and quit it in Job mode (today's behaviour).
    Classic(Mesh),
    /// The proxy is a native sidecar: wait (the kubelet started the app after its startup
    /// probe, so this is quick), and never quit it: the kubelet restarts one that exits and
    /// stops it once the app's containers are done (KEP-753).
    Native(Mesh),
    /// A sidecar of this mesh that may be either: wait, and quit in Job mode, where a 404 from
    /// the quit means a native sidecar or a disabled endpoint.
    Sidecar(Mesh),
    /// Istio ambient: no proxy in the pod, ztunnel carries its traffic. Nothing to wait for.
    Ambient,
    /// No mesh in this pod. Nothing to wait for.
    NoSidecar,
    /// Not known: today's behaviour (Istio's preset, the wait, the quit in Job mode).
    Unknown,
}

impl PodMode {
    /// Whether readygate waits for a sidecar.
    pub fn waits(self) -> bool {
        !matches!(self, PodMode::Ambient | PodMode::NoSidecar)
    }

    /// Whether Job mode quits the sidecar when the command ends.
    pub fn quits(self) -> bool {
        matches!(
            self,
            PodMode::Classic(_) | PodMode::Sidecar(_) | PodMode::Unknown
        )
    }

    /// The mesh whose preset to use; `None` keeps the default (Istio's) or needs none.
    pub fn mesh(self) -> Option<Mesh> {
        match self {
            PodMode::Classic(m) | PodMode::Native(m) | PodMode::Sidecar(m) => Some(m),
            _ => None,
        }
    }
}

/// What Job mode does about the quit, as far as the decision's line tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobQuit {
    /// Not Job mode, or not the decision's to make (a --quit-url is quit as given): the line
    /// says nothing of a quit.
    Unsaid,
    /// The sidecar is quit however the command ends (`--shutdown-on-failure`, the default).
    Always,
    /// Only a command that succeeded is followed by a quit (`--shutdown-on-failure=false`).
    OnSuccess,
}

/// What was gathered about the pod, each fact or why it is missing.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    /// Where the annotations file is, or was looked for (named in the line).
    pub path: &'a Path,
    /// The annotations file's content; `Err(ReadError::Missing)` when there is none.
    pub annotations: Result<&'a Annotations, &'a ReadError>,
    /// The mesh ports that listen, or why the look failed.
    pub listeners: Result<MeshPorts, &'a LookError>,
}

/// The mode, what was found that means it, and whether that deserves a warning (facts that
/// could not be used). The lines to log are built from it for where readygate stands:
/// [`Decision::line`] for the wait, [`Decision::quit_line`] for Job mode's end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub mode: PodMode,
    /// What was found, and why it means `mode`: the first half of every line about it.
    pub found: String,
    pub warn: bool,
}

impl Decision {
    /// The one line the wait logs: what was found, then what readygate does about it. `quit`:
    /// in Job mode, when the sidecar is quit after the command; `dependencies`: a dependency
    /// stage follows the sidecar's.
    pub fn line(&self, quit: JobQuit, dependencies: bool) -> String {
        let job = quit != JobQuit::Unsaid;
        let when = match quit {
            JobQuit::OnSuccess => "if the command succeeds",
            JobQuit::Always | JobQuit::Unsaid => "when the command ends",
        };
        let action = match self.mode {
            PodMode::Classic(_) if job => format!("waiting for it, then quitting it {when}"),
            PodMode::Native(_) if job => "waiting for it, and no quit in Job mode (the kubelet \
                                          stops a native sidecar itself)"
                .to_owned(),
            PodMode::Sidecar(Mesh::Linkerd) if job => format!(
                "waiting for it, then asking it to shut down {when} (a 404 is expected if it is \
                 a native sidecar or its shutdown endpoint is off)"
            ),
            PodMode::Classic(_) | PodMode::Native(_) | PodMode::Sidecar(Mesh::Linkerd) => {
                "waiting for it".to_owned()
            }
            PodMode::Sidecar(Mesh::Istio) | PodMode::Unknown if job => {
                format!("waiting for istio's sidecar as before, and quitting it {when}")
            }
            PodMode::Sidecar(Mesh::Istio) | PodMode::Unknown => {
                "waiting for istio's sidecar as before".to_owned()
            }
            PodMode::Ambient | PodMode::NoSidecar => {
                let next = if dependencies {
                    "checking the dependencies, then running the command"
                } else {
                    "running the command now"
                };
                let quit = if job {
                    ", and no quit when it ends"
                } else {
                    ""
                };
                let skip = if self.mode == PodMode::Ambient {
                    "not waiting for a sidecar, "
                } else {
                    ""
                };
                return format!("{}: {skip}{next}{quit}", self.found);
            }
        };
        format!("{}: {action}", self.found)
    }

    /// Logs `line`, one of this decision's, at its level: a warning when a fact could not be
    /// used, else info. `url`: the endpoint the wait switches to, if it does.
    pub fn log(&self, line: &str, url: Option<&str>) {
        if self.warn {
            warn!(url, "{line}");
        } else {
            info!(url, "{line}");
        }
    }

    /// The line Job mode logs once the command has ended: what was found, then whether and
    /// how the sidecar is quit.
    pub fn quit_line(&self) -> String {
        let action = match self.mode {
            PodMode::Classic(_) => "quitting it",
            PodMode::Native(_) => {
                "the kubelet ends it after the application's containers; not quitting it"
            }
            PodMode::Sidecar(Mesh::Linkerd) => {
                "asking it to shut down (a 404 is expected if it is a native sidecar or its \
                 shutdown endpoint is off)"
            }
            PodMode::Sidecar(Mesh::Istio) | PodMode::Unknown => {
                "quitting istio's sidecar as before"
            }
            PodMode::Ambient | PodMode::NoSidecar => "nothing to quit",
        };
        format!("{}: {action}", self.found)
    }
}

/// What the annotations name.
enum Named {
    Istio(Result<Placement, istio_status::Malformed>),
    /// Linkerd, with its native-sidecar annotation (the key that decided, and its value) if
    /// one was set and parsed.
    Linkerd(Option<(&'static str, bool)>),
    /// A mesh readygate has no preset for, and the annotation that shows it.
    Other(&'static str, &'static str),
    Ambient,
    AmbientNotEnabled,
    Nothing,
}

fn named(a: &Annotations) -> Named {
    if let Some(status) = a.get(ISTIO_STATUS) {
        return Named::Istio(istio_status::proxy_placement(status));
    }
    if a.get(LINKERD_PROXY_VERSION).is_some() {
        // As Linkerd's injector: the first of the keys present decides, even if unparseable.
        let native = LINKERD_NATIVE
            .iter()
            .find_map(|&key| a.get(key).map(|value| (key, value)))
            .and_then(|(key, value)| parse_bool(value).map(|native| (key, native)));
        return Named::Linkerd(native);
    }
    if a.get(KUMA_INJECTED).is_some() {
        return Named::Other("kuma", KUMA_INJECTED);
    }
    if a.get(CONSUL_INJECTED).is_some() {
        return Named::Other("consul", CONSUL_INJECTED);
    }
    match a.get(AMBIENT_REDIRECTION) {
        Some("enabled") => Named::Ambient,
        Some(_) => Named::AmbientNotEnabled,
        None => Named::Nothing,
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// What the listening ports say.
enum Heard {
    Ztunnel,
    Agent(MeshPorts),
    Partial(MeshPorts),
    Quiet,
}

fn heard(ports: &MeshPorts) -> Heard {
    if ports.sidecar_agent() {
        Heard::Agent(*ports)
    } else if ports.ztunnel_only() {
        Heard::Ztunnel
    } else if ports.partial_redirect() {
        Heard::Partial(*ports)
    } else {
        Heard::Quiet
    }
}

const ZTUNNEL_SEEN: &str = "ztunnel listens on 15001, 15006 and 15008, nothing on 15020 or 15021";

fn ports_text(ports: &MeshPorts) -> String {
    let list: Vec<String> = ports.listening().iter().map(u16::to_string).collect();
    list.join(", ")
}

/// Decides the pod's mode from its facts.
pub fn decide(facts: &Facts<'_>) -> Decision {
    let listened = facts.listeners.as_ref().ok().map(heard);
    let annotations = match facts.annotations {
        Ok(a) => Some(a),
        Err(ReadError::Missing) => None,
        Err(e) => {
            return warn(
                PodMode::Unknown,
                format!(
                    "pod annotations file {} unusable ({e})",
                    log::path_shown(facts.path)
                ),
            )
        }
    };
    let named = annotations.map(named);
    // The annotations that name a sidecar decide alone.
    match &named {
        Some(Named::Istio(Ok(Placement::InitContainers))) => {
            return info(
                PodMode::Native(Mesh::Istio),
                format!(
                    "istio native sidecar ({ISTIO_STATUS} lists istio-proxy under \
                     initContainers)"
                ),
            )
        }
        Some(Named::Istio(Ok(Placement::Containers))) => {
            return info(
                PodMode::Classic(Mesh::Istio),
                format!(
                    "istio classic sidecar ({ISTIO_STATUS} lists istio-proxy under containers \
                     only)"
                ),
            )
        }
        Some(Named::Istio(Ok(Placement::Absent))) => {
            return info(
                PodMode::Unknown,
                format!(
                    "istio injected this pod, but {ISTIO_STATUS} names no istio-proxy (mesh mode \
                     unknown)"
                ),
            )
        }
        Some(Named::Istio(Err(e))) => {
            return warn(
                PodMode::Unknown,
                format!("{ISTIO_STATUS} is not the JSON istio writes ({e})"),
            )
        }
        Some(Named::Linkerd(Some((key, true)))) => {
            return info(
                PodMode::Native(Mesh::Linkerd),
                format!("linkerd native sidecar ({key} is true)"),
            )
        }
        Some(Named::Linkerd(Some((key, false)))) => {
            return info(
                PodMode::Classic(Mesh::Linkerd),
                format!("linkerd classic sidecar ({key} is false)"),
            )
        }
        Some(Named::Linkerd(None)) => {
            return info(
                PodMode::Sidecar(Mesh::Linkerd),
                format!("linkerd sidecar ({LINKERD_PROXY_VERSION}; classic or native not said)"),
            );
        }
        Some(Named::Other(mesh, key)) => {
            return info(
                PodMode::Unknown,
                format!(
                    "{mesh} sidecar ({key}), which readygate has no preset for (give its \
                     readiness URL with --url)"
                ),
            )
        }
        _ => {}
    }
    // No sidecar named: what listens decides, then the annotations' silence.
    match (&named, &listened) {
        (_, Some(Heard::Agent(ports))) => info(
            PodMode::Sidecar(Mesh::Istio),
            format!("a sidecar agent listens on {} here", ports_text(ports)),
        ),
        (Some(Named::Ambient), _) => info(
            PodMode::Ambient,
            format!("istio ambient ({AMBIENT_REDIRECTION}: enabled)"),
        ),
        (_, Some(Heard::Ztunnel)) => {
            info(PodMode::Ambient, format!("istio ambient ({ZTUNNEL_SEEN})"))
        }
        (Some(Named::AmbientNotEnabled), _) => {
            let ztunnel = match facts.listeners {
                Ok(_) => "ztunnel does not listen here".to_owned(),
                Err(e) => format!("its listening sockets are unknown ({e})"),
            };
            info(
                PodMode::Unknown,
                format!(
                    "istio ambient, but {AMBIENT_REDIRECTION} is not enabled yet and {ztunnel} \
                     (mesh mode unknown)"
                ),
            )
        }
        (Some(_), Some(Heard::Partial(ports))) => info(
            PodMode::Unknown,
            format!(
                "the pod's annotations name no mesh, but a proxy listens on {} here (mesh mode \
                 unknown)",
                ports_text(ports)
            ),
        ),
        (Some(_), _) => {
            let why = match annotations {
                Some(a) if a.is_empty() => "it has no annotations",
                _ => "its annotations name no mesh",
            };
            // The annotations decide alone here; a failed look is said, not hidden.
            let unlooked = match facts.listeners {
                Ok(_) => String::new(),
                Err(e) => format!("; its listening sockets unknown ({e})"),
            };
            info(
                PodMode::NoSidecar,
                format!("no sidecar in this pod ({why}{unlooked})"),
            )
        }
        (None, _) => {
            let listeners = match (&listened, facts.listeners) {
                (Some(Heard::Partial(ports)), _) => {
                    format!(
                        "a proxy listens on {} here, but not ztunnel",
                        ports_text(ports)
                    )
                }
                (_, Ok(_)) => "no ztunnel listening here".to_owned(),
                (_, Err(e)) => format!("its listening sockets unknown ({e})"),
            };
            info(
                PodMode::Unknown,
                format!(
                    "mesh mode unknown (no pod annotations file at {}, {listeners})",
                    log::path_shown(facts.path)
                ),
            )
        }
    }
}

fn info(mode: PodMode, found: String) -> Decision {
    Decision {
        mode,
        found,
        warn: false,
    }
}

fn warn(mode: PodMode, found: String) -> Decision {
    Decision {
        mode,
        found,
        warn: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::annotations::{parse, Malformed, Problem};
    use crate::pod::listeners::ReplyError;

    const NATIVE: &str = r#"{"initContainers":["istio-init","istio-proxy"],"containers":null,"volumes":["workload-socket","credential-socket","workload-certs","istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert","istio-ca-crl"],"imagePullSecrets":null,"revision":"default"}"#;
    const CLASSIC: &str = r#"{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["workload-socket","credential-socket","workload-certs","istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert","istio-ca-crl"],"imagePullSecrets":null,"revision":"default"}"#;
    const PROXYLESS: &str = r#"{"initContainers":["grpc-bootstrap-init"],"containers":["traffic"],"volumes":["grpc-io-proxyless-bootstrap"],"imagePullSecrets":null,"revision":"default"}"#;

    /// The listening-port fact of a row.
    #[derive(Clone, Copy)]
    enum L {
        /// Nothing of the mesh's ports.
        Quiet,
        Ztunnel,
        /// ztunnel's three, plus the agent's 15020: a sidecar.
        ZtunnelAnd15020,
        Only15021,
        /// 15001 and 15006 alone.
        Partial,
        /// The look failed.
        Failed,
    }

    /// The annotations fact of a row.
    enum A {
        Pairs(&'static [(&'static str, &'static str)]),
        Missing,
        Malformed,
    }

    fn ports(l: L) -> MeshPorts {
        let (z, a) = match l {
            L::Quiet | L::Failed => ([false; 3], [false; 2]),
            L::Ztunnel => ([true; 3], [false; 2]),
            L::ZtunnelAnd15020 => ([true; 3], [true, false]),
            L::Only15021 => ([false; 3], [false, true]),
            L::Partial => ([true, true, false], [false; 2]),
        };
        MeshPorts {
            ztunnel: z,
            agent: a,
        }
    }

    fn decide_row(a: &A, l: L) -> Decision {
        let look_error = LookError::Reply(ReplyError::Truncated);
        let missing = ReadError::Missing;
        let malformed = ReadError::Malformed(Malformed {
            line: 2,
            problem: Problem::Unterminated,
        });
        let annotations: Annotations = match a {
            A::Pairs(pairs) => pairs.iter().copied().collect(),
            _ => Annotations::default(),
        };
        let facts = Facts {
            path: Path::new("/etc/podinfo/annotations"),
            annotations: match a {
                A::Pairs(_) => Ok(&annotations),
                A::Missing => Err(&missing),
                A::Malformed => Err(&malformed),
            },
            listeners: match l {
                L::Failed => Err(&look_error),
                l => Ok(ports(l)),
            },
        };
        decide(&facts)
    }

    use PodMode::*;

    const NONE: &[(&str, &str)] = &[
        ("kubectl.kubernetes.io/default-container", "app"),
        ("prometheus.io/scrape", "true"),
    ];

    /// Every row of the module's table: annotations, listeners, the mode, and words the line
    /// must hold.
    #[test]
    fn every_rule_of_the_decision_table() {
        let rows: Vec<(&str, A, L, PodMode, &str)> = vec![
            // Unusable annotations: today's behaviour, even with ztunnel's listeners.
            (
                "malformed",
                A::Malformed,
                L::Ztunnel,
                Unknown,
                "pod annotations file /etc/podinfo/annotations unusable",
            ),
            ("malformed", A::Malformed, L::Quiet, Unknown, "as before"),
            // Istio's status decides alone, whatever listens.
            (
                "native",
                A::Pairs(&[(ISTIO_STATUS, NATIVE)]),
                L::Quiet,
                Native(Mesh::Istio),
                "istio native sidecar",
            ),
            (
                "native",
                A::Pairs(&[(ISTIO_STATUS, NATIVE)]),
                L::Ztunnel,
                Native(Mesh::Istio),
                "initContainers",
            ),
            (
                "classic",
                A::Pairs(&[(ISTIO_STATUS, CLASSIC)]),
                L::Quiet,
                Classic(Mesh::Istio),
                "istio classic sidecar",
            ),
            (
                "classic+ambient",
                A::Pairs(&[(ISTIO_STATUS, CLASSIC), (AMBIENT_REDIRECTION, "enabled")]),
                L::Ztunnel,
                Classic(Mesh::Istio),
                "containers only",
            ),
            (
                "proxyless",
                A::Pairs(&[(ISTIO_STATUS, PROXYLESS)]),
                L::Quiet,
                Unknown,
                "names no istio-proxy",
            ),
            (
                "status not json",
                A::Pairs(&[(ISTIO_STATUS, "{")]),
                L::Quiet,
                Unknown,
                "not the JSON istio writes",
            ),
            // Linkerd.
            (
                "linkerd native",
                A::Pairs(&[
                    (LINKERD_PROXY_VERSION, "edge-26.1.1"),
                    (LINKERD_NATIVE[0], "true"),
                ]),
                L::Quiet,
                Native(Mesh::Linkerd),
                "linkerd native sidecar",
            ),
            (
                "linkerd native beta",
                A::Pairs(&[(LINKERD_PROXY_VERSION, "v"), (LINKERD_NATIVE[1], "1")]),
                L::Quiet,
                Native(Mesh::Linkerd),
                "(config.beta.linkerd.io/proxy-enable-native-sidecar is true)",
            ),
            (
                "linkerd classic alpha",
                A::Pairs(&[(LINKERD_PROXY_VERSION, "v"), (LINKERD_NATIVE[2], "false")]),
                L::Quiet,
                Classic(Mesh::Linkerd),
                "(config.alpha.linkerd.io/proxy-enable-native-sidecar is false)",
            ),
            (
                "linkerd stable wins",
                A::Pairs(&[
                    (LINKERD_PROXY_VERSION, "v"),
                    (LINKERD_NATIVE[0], "false"),
                    (LINKERD_NATIVE[2], "true"),
                ]),
                L::Quiet,
                Classic(Mesh::Linkerd),
                "linkerd classic sidecar (config.linkerd.io/proxy-enable-native-sidecar is false)",
            ),
            (
                "linkerd unsaid",
                A::Pairs(&[(LINKERD_PROXY_VERSION, "v")]),
                L::Quiet,
                Sidecar(Mesh::Linkerd),
                "classic or native not said",
            ),
            (
                "linkerd unparseable",
                A::Pairs(&[(LINKERD_PROXY_VERSION, "v"), (LINKERD_NATIVE[0], "yes")]),
                L::Quiet,
                Sidecar(Mesh::Linkerd),
                "not said",
            ),
            // Meshes without a preset are not "no sidecar".
            (
                "kuma",
                A::Pairs(&[(KUMA_INJECTED, "true")]),
                L::Partial,
                Unknown,
                "kuma sidecar",
            ),
            (
                "consul",
                A::Pairs(&[(CONSUL_INJECTED, "injected")]),
                L::Quiet,
                Unknown,
                "--url",
            ),
            // An agent's port means a sidecar, whatever the annotations say (short of naming one).
            (
                "none + 15020",
                A::Pairs(NONE),
                L::ZtunnelAnd15020,
                Sidecar(Mesh::Istio),
                "listens on 15001, 15006, 15008, 15020",
            ),
            (
                "ambient + 15021",
                A::Pairs(&[(AMBIENT_REDIRECTION, "enabled")]),
                L::Only15021,
                Sidecar(Mesh::Istio),
                "15021",
            ),
            (
                "missing + 15020",
                A::Missing,
                L::ZtunnelAnd15020,
                Sidecar(Mesh::Istio),
                "as before",
            ),
            // Ambient.
            (
                "ambient",
                A::Pairs(&[(AMBIENT_REDIRECTION, "enabled")]),
                L::Quiet,
                Ambient,
                "ambient.istio.io/redirection: enabled",
            ),
            (
                "ambient, look failed",
                A::Pairs(&[(AMBIENT_REDIRECTION, "enabled")]),
                L::Failed,
                Ambient,
                "running the command now",
            ),
            (
                "none + ztunnel",
                A::Pairs(NONE),
                L::Ztunnel,
                Ambient,
                "ztunnel listens on 15001, 15006 and 15008",
            ),
            (
                "missing + ztunnel",
                A::Missing,
                L::Ztunnel,
                Ambient,
                "nothing on 15020",
            ),
            (
                "pending + ztunnel",
                A::Pairs(&[(AMBIENT_REDIRECTION, "pending")]),
                L::Ztunnel,
                Ambient,
                "ztunnel listens",
            ),
            (
                "pending",
                A::Pairs(&[(AMBIENT_REDIRECTION, "pending")]),
                L::Quiet,
                Unknown,
                "not enabled yet and ztunnel does not listen here",
            ),
            (
                "pending, look failed",
                A::Pairs(&[(AMBIENT_REDIRECTION, "pending")]),
                L::Failed,
                Unknown,
                "not enabled yet and its listening sockets are unknown (netlink sock_diag",
            ),
            // Annotations that name no mesh.
            (
                "none + partial",
                A::Pairs(NONE),
                L::Partial,
                Unknown,
                "a proxy listens on 15001, 15006",
            ),
            (
                "none",
                A::Pairs(NONE),
                L::Quiet,
                NoSidecar,
                "its annotations name no mesh",
            ),
            (
                "none, look failed",
                A::Pairs(NONE),
                L::Failed,
                NoSidecar,
                "no mesh; its listening sockets unknown (netlink sock_diag: the reply was cut \
                 short)): running the command now",
            ),
            (
                "empty",
                A::Pairs(&[]),
                L::Quiet,
                NoSidecar,
                "it has no annotations",
            ),
            // No facts.
            (
                "missing",
                A::Missing,
                L::Quiet,
                Unknown,
                "no pod annotations file at /etc/podinfo/annotations, no ztunnel",
            ),
            (
                "missing + partial",
                A::Missing,
                L::Partial,
                Unknown,
                "a proxy listens on 15001, 15006 here, but not ztunnel): waiting for istio's \
                 sidecar as before",
            ),
            (
                "missing, look failed",
                A::Missing,
                L::Failed,
                Unknown,
                "listening sockets unknown (netlink sock_diag: the reply was cut short)",
            ),
        ];
        for (name, a, l, mode, words) in rows {
            let d = decide_row(&a, l);
            let line = d.line(JobQuit::Unsaid, false);
            assert_eq!(d.mode, mode, "{name}: {line}");
            assert!(line.contains(words), "{name}: {line:?} lacks {words:?}");
            let unusable = matches!(a, A::Malformed) || name == "status not json";
            assert_eq!(d.warn, unusable, "{name}: {line}");
        }
    }

    #[test]
    fn each_mode_says_whether_it_waits_quits_and_which_preset() {
        for (mode, waits, quits, mesh) in [
            (Classic(Mesh::Istio), true, true, Some(Mesh::Istio)),
            (Native(Mesh::Linkerd), true, false, Some(Mesh::Linkerd)),
            (Sidecar(Mesh::Linkerd), true, true, Some(Mesh::Linkerd)),
            (Ambient, false, false, None),
            (NoSidecar, false, false, None),
            (Unknown, true, true, None),
        ] {
            assert_eq!(
                (mode.waits(), mode.quits(), mode.mesh()),
                (waits, quits, mesh),
                "{mode:?}"
            );
        }
    }

    #[test]
    fn job_mode_lines_say_what_happens_to_the_quit() {
        let native = decide_row(&A::Pairs(&[(ISTIO_STATUS, NATIVE)]), L::Quiet);
        assert_eq!(
            native.line(JobQuit::Always, false),
            "istio native sidecar (sidecar.istio.io/status lists istio-proxy under \
             initContainers): waiting for it, and no quit in Job mode (the kubelet stops a \
             native sidecar itself)"
        );
        assert_eq!(
            native.quit_line(),
            "istio native sidecar (sidecar.istio.io/status lists istio-proxy under \
             initContainers): the kubelet ends it after the application's containers; not \
             quitting it"
        );
        let classic = decide_row(&A::Pairs(&[(ISTIO_STATUS, CLASSIC)]), L::Quiet);
        assert!(classic
            .line(JobQuit::Always, false)
            .ends_with("then quitting it when the command ends"));
        assert!(classic
            .line(JobQuit::OnSuccess, false)
            .ends_with("then quitting it if the command succeeds"));
        assert!(classic
            .quit_line()
            .ends_with("containers only): quitting it"));
        let linkerd = decide_row(&A::Pairs(&[(LINKERD_PROXY_VERSION, "v")]), L::Quiet);
        for line in [linkerd.line(JobQuit::Always, false), linkerd.quit_line()] {
            assert!(line.contains("a 404 is expected"), "{line}");
        }
        let none = decide_row(&A::Pairs(NONE), L::Quiet);
        assert_eq!(
            none.line(JobQuit::Always, false),
            "no sidecar in this pod (its annotations name no mesh): running the command now, \
             and no quit when it ends"
        );
        assert_eq!(
            none.line(JobQuit::Unsaid, false),
            "no sidecar in this pod (its annotations name no mesh): running the command now"
        );
        assert_eq!(
            none.quit_line(),
            "no sidecar in this pod (its annotations name no mesh): nothing to quit"
        );
        let ambient = decide_row(&A::Missing, L::Ztunnel);
        assert_eq!(
            ambient.line(JobQuit::Unsaid, false),
            "istio ambient (ztunnel listens on 15001, 15006 and 15008, nothing on 15020 or \
             15021): not waiting for a sidecar, running the command now"
        );
        let unknown = decide_row(&A::Missing, L::Quiet);
        assert_eq!(
            unknown.quit_line(),
            "mesh mode unknown (no pod annotations file at /etc/podinfo/annotations, no ztunnel \
             listening here): quitting istio's sidecar as before"
        );
    }

    #[test]
    fn with_shutdown_on_failure_false_the_line_promises_a_quit_only_if_the_command_succeeds() {
        let rows: [(A, &str); 3] = [
            (
                A::Pairs(&[(ISTIO_STATUS, CLASSIC)]),
                "containers only): waiting for it, then quitting it if the command succeeds",
            ),
            (
                A::Pairs(&[(LINKERD_PROXY_VERSION, "v")]),
                "not said): waiting for it, then asking it to shut down if the command succeeds \
                 (a 404 is expected",
            ),
            (
                A::Missing,
                "waiting for istio's sidecar as before, and quitting it if the command succeeds",
            ),
        ];
        for (a, words) in rows {
            let line = decide_row(&a, L::Quiet).line(JobQuit::OnSuccess, false);
            assert!(line.contains(words), "{line:?} lacks {words:?}");
            assert!(!line.contains("when the command ends"), "{line}");
        }
        // No quit either way: the same line as with the default.
        for a in [A::Pairs(&[(ISTIO_STATUS, NATIVE)]), A::Pairs(NONE)] {
            let d = decide_row(&a, L::Quiet);
            assert_eq!(
                d.line(JobQuit::OnSuccess, false),
                d.line(JobQuit::Always, false)
            );
        }
    }

    #[test]
    fn with_dependencies_a_pod_without_a_sidecar_checks_them_before_the_command() {
        let none = decide_row(&A::Pairs(NONE), L::Quiet);
        assert_eq!(
            none.line(JobQuit::Unsaid, true),
            "no sidecar in this pod (its annotations name no mesh): checking the dependencies, \
             then running the command"
        );
        let ambient = decide_row(&A::Pairs(&[(AMBIENT_REDIRECTION, "enabled")]), L::Quiet);
        assert_eq!(
            ambient.line(JobQuit::Always, true),
            "istio ambient (ambient.istio.io/redirection: enabled): not waiting for a sidecar, \
             checking the dependencies, then running the command, and no quit when it ends"
        );
    }

    #[test]
    fn a_path_with_control_characters_cannot_break_the_line() {
        let missing = ReadError::Missing;
        let d = decide(&Facts {
            path: Path::new("/x\n\u{1b}[2Jy"),
            annotations: Err(&missing),
            listeners: Ok(MeshPorts::default()),
        });
        let line = d.line(JobQuit::Unsaid, false);
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(line.contains("/x\\n\\u{1b}[2Jy"), "{line}");
    }

    #[test]
    fn the_line_never_quotes_an_annotation_value() {
        let secret = "s3cr3t-t0ken";
        let files = [
            format!("{AMBIENT_REDIRECTION}=\"{secret}\""),
            format!("{ISTIO_STATUS}=\"{{\\\"{secret}\\\": [\""),
            format!(
                "{LINKERD_NATIVE0}=\"{secret}\"\n{LINKERD_PROXY_VERSION}=\"{secret}\"",
                LINKERD_NATIVE0 = LINKERD_NATIVE[0]
            ),
            format!("{KUMA_INJECTED}=\"{secret}\"\nx=\"{secret}\""),
            format!("a=\"{secret}\"\nb=\"{secret}"),
        ];
        for text in files {
            let parsed = parse(text.as_bytes());
            let error = parsed.as_ref().err().map(|&m| ReadError::Malformed(m));
            let facts = Facts {
                path: Path::new("/etc/podinfo/annotations"),
                annotations: match (&parsed, &error) {
                    (Ok(a), _) => Ok(a),
                    (_, Some(e)) => Err(e),
                    _ => unreachable!(),
                },
                listeners: Ok(MeshPorts::default()),
            };
            let d = decide(&facts);
            for line in [
                d.line(JobQuit::Always, true),
                d.line(JobQuit::Unsaid, false),
                d.quit_line(),
            ] {
                assert!(!line.contains(secret), "{text}: {line}");
            }
        }
    }
}
