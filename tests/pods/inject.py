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
  (nothing in the suite connects to them; they are documentation for Services).

Usage: inject.py PROXY_IMAGE INIT_IMAGE < manifest.yaml > pod.yaml
"""
import sys

import yaml


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
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    proxy_image, init_image = sys.argv[1], sys.argv[2]
    out, template = pod_template(yaml.safe_load(sys.stdin))
    spec = template["spec"]
    for c in spec["containers"]:
        c.pop("ports", None)
    if template["metadata"].get("labels", {}).get("sidecar.istio.io/inject") == "true":
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
