#!/usr/bin/env python3
"""AdmissionReview request bodies for bench/serve.sh.

Writes one admission.k8s.io/v1 AdmissionReview per file into the directory
given as the only argument, shaped as the Kubernetes API server sends them
(the shapes of crates/palisade-admission/tests/webhook.rs, padded out with
the labels, annotations, ownerReferences, managedFields, probes, tolerations
and status real objects carry), and prints "NAME EXPECTED BYTES" per body:

  pod-hardened-create   Pod CREATE from the ReplicaSet controller, restricted-clean   -> allowed
  pod-privileged-create Pod CREATE of a privileged, hostPID debug pod                  -> denied
  deploy-secret-create  Deployment CREATE, 2 containers, a hardcoded DB password in env -> denied
  deploy-scale-update   Deployment UPDATE that only changes spec.replicas               -> allowed

Usage: python3 bench/serve_bodies.py OUTDIR
"""

import copy
import json
import os
import sys

DIGEST = "sha256:6b3a8d5a3e9f4c2b1a0f9e8d7c6b5a4938271605f4e3d2c1b0a9f8e7d6c5b4a3"
SIDECAR_DIGEST = "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0"
CREATED = "2026-03-14T09:26:53Z"


def user(name, groups, uid="014fbff9a07c-4d3e-9a1b-7c2f5e8d0a61"):
    return {"username": name, "uid": uid, "groups": groups}


def review(uid, operation, kind, namespace, name, obj, old, usr, options_kind):
    group, version, k, resource = kind
    gvk = {"group": group, "version": version, "kind": k}
    gvr = {"group": group, "version": version, "resource": resource}
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": gvk,
            "resource": gvr,
            "requestKind": gvk,
            "requestResource": gvr,
            "name": name,
            "namespace": namespace,
            "operation": operation,
            "userInfo": usr,
            "object": obj,
            "oldObject": old,
            "dryRun": False,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": options_kind,
                        **({"fieldManager": "kubectl-client-side-apply"} if options_kind != "CreateOptions" else {})},
        },
    }


def hardened_container(name, image, port, env):
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"},
                  {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}],
        "env": env,
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"},
                      "requests": {"cpu": "100m", "memory": "128Mi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                          "initialDelaySeconds": 10, "periodSeconds": 10, "timeoutSeconds": 1,
                          "successThreshold": 1, "failureThreshold": 3},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http", "scheme": "HTTP"},
                           "periodSeconds": 5, "timeoutSeconds": 1,
                           "successThreshold": 1, "failureThreshold": 3},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"},
                         {"name": "config", "mountPath": "/etc/app", "readOnly": True}],
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"}},
    }


def app_env():
    return [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "HTTP_PORT", "value": "8080"},
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector.observability.svc:4317"},
        {"name": "OTEL_SERVICE_NAME", "value": "checkout"},
        {"name": "DB_HOST", "value": "postgres.payments.svc.cluster.local"},
        {"name": "DB_NAME", "value": "checkout"},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}},
    ]


def pod_spec(containers):
    return {
        "containers": containers,
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                    {"name": "config", "configMap": {"name": "checkout-config", "defaultMode": 420}}],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "checkout",
        "serviceAccount": "checkout",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "schedulerName": "default-scheduler",
        "priorityClassName": "business-critical",
        "nodeSelector": {"kubernetes.io/os": "linux", "node.kubernetes.io/pool": "general"},
        "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        ],
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
             "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "checkout"}}},
        ],
    }


def labels(extra=None):
    l = {
        "app.kubernetes.io/name": "checkout",
        "app.kubernetes.io/instance": "checkout-prod",
        "app.kubernetes.io/version": "1.4.2",
        "app.kubernetes.io/component": "api",
        "app.kubernetes.io/part-of": "storefront",
        "app.kubernetes.io/managed-by": "argocd",
        "team": "payments",
    }
    l.update(extra or {})
    return l


def managed_fields(manager, operation, subresource=None):
    m = {
        "manager": manager,
        "operation": operation,
        "apiVersion": "v1",
        "time": CREATED,
        "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:metadata": {"f:labels": {".": {}, "f:app.kubernetes.io/name": {}, "f:app.kubernetes.io/instance": {},
                                        "f:app.kubernetes.io/version": {}, "f:team": {}},
                           "f:annotations": {".": {}, "f:prometheus.io/scrape": {}, "f:prometheus.io/port": {}}},
            "f:spec": {"f:containers": {'k:{"name":"app"}': {".": {}, "f:image": {}, "f:name": {},
                                                            "f:ports": {}, "f:resources": {}, "f:securityContext": {}}},
                       "f:securityContext": {}, "f:serviceAccountName": {}},
        },
    }
    if subresource:
        m["subresource"] = subresource
    return [m]


def hardened_pod():
    name = "checkout-7d9c8b6f5-x2k9p"
    meta = {
        "name": name,
        "generateName": "checkout-7d9c8b6f5-",
        "namespace": "payments",
        "uid": "3f1c7a52-9b4e-4d8a-a6f2-0c5e9d7b1a43",
        "creationTimestamp": CREATED,
        "labels": labels({"pod-template-hash": "7d9c8b6f5"}),
        "annotations": {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": "9090",
            "prometheus.io/path": "/metrics",
            "kubectl.kubernetes.io/default-container": "app",
            "kubectl.kubernetes.io/restartedAt": "2026-03-14T09:20:11Z",
        },
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "checkout-7d9c8b6f5",
                             "uid": "b7e3d2a1-5c4f-4e8d-9a6b-1f0e2d3c4b5a", "controller": True,
                             "blockOwnerDeletion": True}],
        "managedFields": managed_fields("kube-controller-manager", "Update"),
    }
    c = hardened_container("app", f"registry.example.com/storefront/checkout:1.4.2@{DIGEST}", 8080, app_env())
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec([c]),
           "status": {"phase": "Pending", "qosClass": "Burstable"}}
    return review("c1a7e2f0-8d5b-4a3c-9e61-2f4b7d8a0c15", "CREATE", ("", "v1", "Pod", "pods"),
                  "payments", name, obj, None,
                  user("system:serviceaccount:kube-system:replicaset-controller",
                       ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]),
                  "CreateOptions")


def privileged_pod():
    name = "node-debugger-ip-10-0-12-34"
    meta = {
        "name": name,
        "namespace": "payments",
        "creationTimestamp": CREATED,
        "labels": {"app.kubernetes.io/name": "node-debugger", "app.kubernetes.io/managed-by": "kubectl",
                   "team": "payments", "purpose": "incident-4711"},
        "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration":
                '{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{},"name":"node-debugger-ip-10-0-12-34",'
                '"namespace":"payments"},"spec":{"containers":[{"image":"docker.io/library/busybox:1.36",'
                '"name":"debugger","securityContext":{"privileged":true}}],"hostPID":true,"hostNetwork":true,'
                '"nodeName":"ip-10-0-12-34.eu-west-1.compute.internal"}}\n',
            "incident.example.com/ticket": "INC-4711",
        },
        "managedFields": managed_fields("kubectl-client-side-apply", "Update"),
    }
    c = {
        "name": "debugger",
        "image": "docker.io/library/busybox:1.36",
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", "sleep 3600"],
        "stdin": True,
        "tty": True,
        "resources": {},
        "volumeMounts": [{"name": "host-root", "mountPath": "/host"}],
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "securityContext": {"privileged": True},
    }
    spec = {
        "containers": [c],
        "volumes": [{"name": "host-root", "hostPath": {"path": "/", "type": ""}}],
        "nodeName": "ip-10-0-12-34.eu-west-1.compute.internal",
        "hostPID": True,
        "hostNetwork": True,
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirstWithHostNet",
        "serviceAccountName": "default",
        "schedulerName": "default-scheduler",
        "tolerations": [{"operator": "Exists"}],
    }
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": {"phase": "Pending"}}
    return review("d2b8f3a1-9e6c-4b4d-8f72-3a5c8e9b1d26", "CREATE", ("", "v1", "Pod", "pods"),
                  "payments", name, obj, None,
                  user("bob@example.com", ["system:authenticated", "sre"]),
                  "CreateOptions")


def lean_container(name, image, port, env):
    """A sidecar-sized container: hardened, one port, no probes."""
    c = hardened_container(name, image, port, env)
    for k in ("livenessProbe", "readinessProbe", "terminationMessagePath", "terminationMessagePolicy"):
        del c[k]
    c["ports"] = c["ports"][:1]
    c["volumeMounts"] = c["volumeMounts"][:1]
    return c


def workload_spec(containers):
    """A Deployment's pod template spec (no scheduler-added tolerations)."""
    spec = pod_spec(containers)
    for k in ("tolerations", "topologySpreadConstraints", "serviceAccount"):
        del spec[k]
    return spec


def deploy_meta(name, generation, managed):
    meta = {
        "name": name,
        "namespace": "payments",
        "labels": labels({"app.kubernetes.io/name": name, "app.kubernetes.io/instance": f"{name}-prod"}),
        "annotations": {
            "argocd.argoproj.io/tracking-id": f"storefront:apps/Deployment:payments/{name}",
            "deployment.kubernetes.io/revision": str(generation),
        },
        "managedFields": managed,
    }
    if generation > 1:
        meta.update({"uid": "a4c2e1f3-7b6d-4c5e-8a9f-0b1c2d3e4f5a", "resourceVersion": "48211907",
                     "generation": generation, "creationTimestamp": CREATED})
    return meta


def deployment(name, replicas, containers, generation, managed):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": deploy_meta(name, generation, managed),
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name,
                                         "app.kubernetes.io/instance": f"{name}-prod"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "template": {"metadata": {"labels": {"app.kubernetes.io/name": name,
                                                 "app.kubernetes.io/instance": f"{name}-prod"},
                                      "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9090"}},
                         "spec": workload_spec(containers)},
        },
    }


def deploy_secret_create():
    """checkout: the app (with a DB password written into env) and an envoy sidecar."""
    env = app_env() + [{"name": "DB_USER", "value": "checkout_app"},
                       {"name": "DB_PASSWORD", "value": "Xk9#mQ2vL7pR4tW8zN3bF6hJ"}]
    app = hardened_container("app", f"registry.example.com/storefront/checkout:1.4.2@{DIGEST}", 8080, env)
    proxy = lean_container("envoy", f"registry.example.com/mesh/envoy:1.31.2@{SIDECAR_DIGEST}", 15001,
                           [{"name": "ENVOY_LOG_LEVEL", "value": "warn"},
                            {"name": "ENVOY_ADMIN_PORT", "value": "15000"}])
    proxy["args"] = ["--config-path", "/etc/app/envoy.yaml", "--service-cluster", "checkout"]
    obj = deployment("checkout", 3, [app, proxy], 1, managed_fields("argocd-controller", "Apply"))
    return review("e3c9a4b2-0f7d-4c5e-9a83-4b6d9f0c2e37", "CREATE", ("apps", "v1", "Deployment", "deployments"),
                  "payments", "checkout", obj, None,
                  user("system:serviceaccount:argocd:argocd-application-controller",
                       ["system:serviceaccounts", "system:serviceaccounts:argocd", "system:authenticated"]),
                  "CreateOptions")


def deploy_scale_update():
    """cart scaled from 3 to 6 replicas by the HPA: object and oldObject differ only there."""
    app = lean_container("app", f"registry.example.com/storefront/cart:2.0.1@{DIGEST}", 8080,
                         [{"name": "LOG_LEVEL", "value": "info"}, {"name": "HTTP_PORT", "value": "8080"}])
    managed = [{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
                "time": CREATED, "fieldsType": "FieldsV1", "subresource": "scale",
                "fieldsV1": {"f:spec": {"f:replicas": {}}}}]
    old = deployment("cart", 3, [app], 7, managed)
    old["status"] = {"observedGeneration": 7, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
                     "availableReplicas": 3}
    for k in ("app.kubernetes.io/part-of", "app.kubernetes.io/component", "app.kubernetes.io/version"):
        del old["metadata"]["labels"][k]
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 6
    new["metadata"]["generation"] = 8
    return review("f4d0b5c3-1a8e-4d6f-8b94-5c7e0a1d3f48", "UPDATE", ("apps", "v1", "Deployment", "deployments"),
                  "payments", "cart", new, old,
                  user("system:serviceaccount:kube-system:horizontal-pod-autoscaler",
                       ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]),
                  "UpdateOptions")


BODIES = [
    ("pod-hardened-create", "allowed", hardened_pod),
    ("pod-privileged-create", "denied", privileged_pod),
    ("deploy-secret-create", "denied", deploy_secret_create),
    ("deploy-scale-update", "allowed", deploy_scale_update),
]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: serve_bodies.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, expected, make in BODIES:
        data = json.dumps(make(), separators=(",", ":")).encode()
        with open(os.path.join(out, name + ".json"), "wb") as f:
            f.write(data)
        print(name, expected, len(data))


if __name__ == "__main__":
    main()
