#!/usr/bin/python3
"""Plays the two Kubernetes controllers a podman pod lacks, for tests/pods/run.sh.

Reads one manifest from examples/k8s on stdin and writes what podman kube play should run:
- Istio's sidecar injector: a pod template labelled sidecar.istio.io/inject=true gets the
  istio-init init container (NET_ADMIN, iptables capture) first and the istio-proxy container
  (Envoy, uid 1337) appended after the app's containers, as Istio's classic injection does;
- the Job controller: podman 4.3's kube play has no Job or CronJob kind, so a Job's pod template
  becomes the Pod the Job controller would create (a Deployment is left to podman itself);
- the test's pods have only a loopback interface (kube play --network none), and podman 4.3
  turns every containerPort into a host port mapping, which it refuses there: ports are dropped
  (nothing in the suite connects to them; they are documentation for Services);
- the kubelet's Downward API volume, which podman 4.3 does not implement: a `downwardAPI` volume
  with the `metadata.annotations` item becomes a hostPath of PODINFO_DIR, where this script
  writes the pod's annotations (the template's, plus the ones Istio's injector adds) exactly as
  the kubelet would: its `FormatMap` format, in its `AtomicWriter` layout.

Usage: inject.py PROXY_IMAGE INIT_IMAGE PODINFO_DIR < manifest.yaml > pod.yaml
"""
import os
import sys

import yaml

# What Istio's injector records on a pod it injected the classic way (istio/istio
# pkg/kube/inject/testdata/inject/hello-old-version.yaml.injected): istio-init first among the
# init containers, istio-proxy among the containers; and the default-container annotations.
ISTIO_STATUS = (
    '{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["workload-socket",'
    '"credential-socket","workload-certs","istio-envoy","istio-data","istio-podinfo","istio-token",'
    '"istiod-ca-cert","istio-ca-crl"],"imagePullSecrets":null,"revision":"default"}'
)


def go_quote(value):
    """Go's strconv.Quote, as the kubelet's fmt.Sprintf("%q") applies it (src/strconv/quote.go)."""
    named = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
    out = ['"']
    for c in value:
        if c in ('"', "\\"):
            out.append("\\" + c)
        elif c in named:
            out.append(named[c])
        elif c.isprintable():
            out.append(c)
        elif ord(c) < 0x80:
            out.append("\\x%02x" % ord(c))
        elif ord(c) < 0x10000:
            out.append("\\u%04x" % ord(c))
        else:
            out.append("\\U%08x" % ord(c))
    out.append('"')
    return "".join(out)


def format_map(annotations):
    """Kubernetes' fieldpath.FormatMap: keys sorted, one key="value" line each, no final newline."""
    return "\n".join(f"{k}={go_quote(v)}" for k, v in sorted(annotations.items()))


def write_podinfo(directory, annotations):
    """The volume as the kubelet's AtomicWriter leaves it: the data in a timestamped directory,
    `..data` a symlink to it, and `annotations` a symlink through `..data`."""
    stamp = "..2026_01_01_00_00_00.000000001"
    os.makedirs(os.path.join(directory, stamp), mode=0o755, exist_ok=True)
    path = os.path.join(directory, stamp, "annotations")
    with open(path, "w", encoding="utf-8") as f:
        f.write(format_map(annotations))
    os.chmod(path, 0o644)
    os.symlink(stamp, os.path.join(directory, "..data"))
    os.symlink(os.path.join("..data", "annotations"), os.path.join(directory, "annotations"))


def pod_template(doc):
    kind = doc.get("kind")
    if kind == "Deployment":
        return doc, doc["spec"]["template"]
    if kind == "Job":
        template = doc["spec"]["template"]
    elif kind == "CronJob":
        template = doc["spec"]["jobTemplate"]["spec"]["template"]
    else:
        sys.exit(f"inject.py: unsupported kind {kind!r}")
    # What the Job controller creates: a Pod from the template, named after the Job.
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": doc["metadata"]["name"], "labels": template["metadata"].get("labels", {})},
        "spec": template["spec"],
    }
    return pod, pod


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    proxy_image, init_image, podinfo = sys.argv[1], sys.argv[2], sys.argv[3]
    out, template = pod_template(yaml.safe_load(sys.stdin))
    spec = template["spec"]
    for c in spec["containers"]:
        c.pop("ports", None)
    annotations = dict(template["metadata"].get("annotations") or {})
    injected = template["metadata"].get("labels", {}).get("sidecar.istio.io/inject") == "true"
    if injected:
        annotations["sidecar.istio.io/status"] = ISTIO_STATUS
        annotations.setdefault("kubectl.kubernetes.io/default-container", spec["containers"][0]["name"])
        annotations.setdefault("kubectl.kubernetes.io/default-logs-container", spec["containers"][0]["name"])
    for volume in spec.get("volumes", []):
        items = volume.get("downwardAPI", {}).get("items", [])
        if items:
            if [i.get("fieldRef", {}).get("fieldPath") for i in items] != ["metadata.annotations"]:
                sys.exit(f"inject.py: only the metadata.annotations item is played, not {items!r}")
            write_podinfo(podinfo, annotations)
            del volume["downwardAPI"]
            volume["hostPath"] = {"path": podinfo, "type": "Directory"}
    if injected:
        # podman 4.3 applies the pod's restartPolicy to init containers too: a Deployment's
        # Always would run istio-init again and again (each run reloading the nat table). The
        # policy's job (restarting a crashed app) is not what the suite tests, so OnFailure.
        if spec.get("restartPolicy", "Always") == "Always":
            spec["restartPolicy"] = "OnFailure"
        spec["initContainers"] = [
            {
                "name": "istio-init",
                "image": init_image,
                "securityContext": {
                    "runAsUser": 0,
                    "runAsNonRoot": False,
                    "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
                },
            }
        ] + spec.get("initContainers", [])
        spec["containers"].append(
            {
                "name": "istio-proxy",
                "image": proxy_image,
                "securityContext": {
                    "runAsUser": 1337,
                    "runAsGroup": 1337,
                    "runAsNonRoot": True,
                    "readOnlyRootFilesystem": True,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        )
    yaml.safe_dump(out, sys.stdout, sort_keys=False)


main()
