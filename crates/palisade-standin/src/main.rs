//! `palisade-standin`: a generated cluster served by the stand-in API
//! server (a mock), for `bench/audit.sh`.
//!
//!   palisade-standin serve --namespaces N --deployments D --pods P --rolebindings R --kubeconfig FILE [--dump FILE]
//!   palisade-standin fetch URL PAGE_SIZE      # every page of every LIST, read and dropped: the floor
//!
//! `serve` prints `ready` on standard output once it listens; `--dump`
//! writes the same objects as JSON, one per line, for `palisade scan`.

use std::io::Write;

use palisade_standin::Builder;
use serde_json::json;

const DIGEST: &str = "sha256:4f1f0e1c3a7d0b8e6b4f4b0e8f6f2a9d7c1b3e5f7a9c1d3e5f7a9b1c3d5e7f9a";

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn text_arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn pod_spec(app: &str) -> serde_json::Value {
    json!({
        "serviceAccountName": "default",
        "containers": [{
            "name": app, "image": format!("registry.example.com/shop/{app}:1.4.2"),
            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
            "securityContext": {"allowPrivilegeEscalation": false, "runAsNonRoot": true, "capabilities": {"drop": ["ALL"]}},
            "env": [{"name": "LOG_LEVEL", "value": "info"}],
        }],
        "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30,
    })
}

fn generate(namespaces: usize, deployments: usize, pods: usize, rolebindings: usize) -> Builder {
    let mut b = Builder::new("v1.35.0");
    for n in 0..namespaces {
        let ns = format!("team-{n}");
        let mut labels = json!({"kubernetes.io/metadata.name": ns});
        if n % 2 == 0 {
            labels["pod-security.kubernetes.io/enforce"] = json!("baseline");
        }
        b.object(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "uid": format!("ns-{n}"), "labels": labels}}));
        b.object(json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": ns, "uid": format!("sa-{n}")}}));
    }
    let per_rs = pods / deployments.max(1);
    for d in 0..deployments {
        let ns = format!("team-{}", d % namespaces.max(1));
        let app = format!("app-{d}");
        let spec = pod_spec(&app);
        let labels = json!({"app": app});
        b.object(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": app, "namespace": ns, "uid": format!("d-{d}"), "labels": labels},
            "spec": {"replicas": per_rs, "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": spec}},
            "status": {"replicas": per_rs, "readyReplicas": per_rs}}));
        let rs = format!("{app}-7d9f8b6c5");
        b.object(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": rs, "namespace": ns, "uid": format!("rs-{d}"), "labels": labels,
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "uid": format!("d-{d}"), "controller": true, "blockOwnerDeletion": true}]},
            "spec": {"replicas": per_rs, "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": spec}},
            "status": {"replicas": per_rs, "readyReplicas": per_rs}}));
        for p in 0..per_rs {
            b.object(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("{rs}-{p:05}"), "namespace": ns, "uid": format!("p-{d}-{p}"), "labels": labels,
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": format!("rs-{d}"), "controller": true, "blockOwnerDeletion": true}]},
                "spec": spec,
                "status": {"phase": "Running", "podIP": "10.1.2.3", "hostIP": "10.0.0.4",
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [{"name": app, "ready": true, "restartCount": 0,
                        "image": format!("registry.example.com/shop/{app}:1.4.2"),
                        "imageID": format!("registry.example.com/shop/{app}@{DIGEST}"),
                        "containerID": "containerd://0123456789abcdef"}]}}));
        }
    }
    for r in 0..rolebindings {
        let ns = format!("team-{}", r % namespaces.max(1));
        b.object(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": format!("binding-{r}"), "namespace": ns},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": if r % 5 == 0 { "edit" } else { "view" }},
            "subjects": [{"kind": "Group", "name": format!("team-{}-devs", r % namespaces.max(1)), "apiGroup": "rbac.authorization.k8s.io"}]}));
    }
    b
}

/// Reads every page of every list the stand-in serves, as fast as it can.
async fn fetch(url: &str, page_size: usize) -> Result<(usize, usize), String> {
    let client = reqwest::Client::new();
    let get = |path: String| {
        let client = client.clone();
        async move {
            let r = client.get(path).send().await.map_err(|e| e.to_string())?;
            r.bytes().await.map_err(|e| e.to_string())
        }
    };
    let mut pages = 0;
    let mut bytes = 0;
    let discovery = [("/api/v1", "/api/v1".to_string())];
    let groups: serde_json::Value =
        serde_json::from_slice(&get(format!("{url}/apis")).await?).map_err(|e| e.to_string())?;
    let mut bases: Vec<String> = discovery.iter().map(|d| d.1.clone()).collect();
    for g in groups["groups"].as_array().into_iter().flatten() {
        bases.push(format!(
            "/apis/{}",
            g["preferredVersion"]["groupVersion"].as_str().unwrap_or("")
        ));
    }
    for base in bases {
        let list: serde_json::Value = serde_json::from_slice(&get(format!("{url}{base}")).await?)
            .map_err(|e| e.to_string())?;
        for r in list["resources"].as_array().into_iter().flatten() {
            let plural = r["name"].as_str().unwrap_or("");
            let mut token: Option<String> = None;
            loop {
                let mut u = format!("{url}{base}/{plural}?limit={page_size}");
                if let Some(t) = &token {
                    u.push_str("&continue=");
                    u.push_str(t);
                }
                let body = get(u).await?;
                pages += 1;
                bytes += body.len();
                // The token sits in the list's metadata, at the start.
                let head = String::from_utf8_lossy(&body[..body.len().min(400)]).into_owned();
                token = head
                    .split_once("\"continue\":\"")
                    .and_then(|(_, rest)| rest.split_once('"'))
                    .map(|(t, _)| t.to_string());
                if token.is_none() {
                    break;
                }
            }
        }
    }
    Ok((pages, bytes))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("serve") => {
            let b = generate(
                arg(&args, "--namespaces", 10_000),
                arg(&args, "--deployments", 20_000),
                arg(&args, "--pods", 100_000),
                arg(&args, "--rolebindings", 50_000),
            );
            if let Some(path) = text_arg(&args, "--dump") {
                let mut out =
                    std::io::BufWriter::new(std::fs::File::create(&path).expect("--dump FILE"));
                for o in b.objects() {
                    out.write_all(o.as_bytes()).expect("write");
                    out.write_all(b"\n").expect("write");
                }
                out.flush().expect("write");
            }
            let server = b.start_on(arg(&args, "--port", 0) as u16).await;
            if let Some(path) = text_arg(&args, "--kubeconfig") {
                std::fs::write(path, server.kubeconfig()).expect("--kubeconfig FILE");
            }
            println!("ready {}", server.url());
            std::future::pending::<()>().await;
        }
        Some("fetch") => {
            let url = args.get(2).expect("fetch URL");
            let size = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(500);
            match fetch(url, size).await {
                Ok((pages, bytes)) => println!("pages={pages} bytes={bytes}"),
                Err(e) => {
                    eprintln!("fetch: {e}");
                    std::process::exit(1);
                }
            }
        }
        _ => {
            eprintln!("usage: palisade-standin serve [--namespaces N --deployments D --pods P --rolebindings R --kubeconfig FILE --dump FILE --port P] | fetch URL [PAGE_SIZE]");
            std::process::exit(2);
        }
    }
}
