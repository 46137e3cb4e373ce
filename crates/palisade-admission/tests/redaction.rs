//! No webhook output quotes a credential from the request: image
//! references that carry a token as their tag or a password in a URL are
//! quoted by the image rules, and neither the denial, the warnings nor the
//! decision log (which names rules, not messages) shows the credential.
//! The real server over real TLS.

mod harness;

use harness::{container, pod_spec, review, Webhook};
use serde_json::json;

const TOKEN: &str = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5";
const PASSWORD: &str = "S3cretPassw0rd9x";

#[tokio::test]
async fn credentials_in_image_references_reach_no_response_and_no_log() {
    for mode in ["enforce", "warn"] {
        let policy = format!(
            "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  admission:\n    defaultMode: {mode}\n"
        );
        let hook = Webhook::start(
            &[("palisade.yaml", policy.as_str())],
            palisade_oci::ClientOptions::default(),
        )
        .await;
        let mut privileged = container("app", &format!("registry.example.com/app:{TOKEN}"));
        privileged["securityContext"]["privileged"] = json!(true);
        let side = container(
            "side",
            &format!("https://u:{PASSWORD}@registry.example.com/a:1"),
        );
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
            "spec": pod_spec(vec![privileged, side])});
        let answer = hook
            .post("/validate", &review(("", "v1", "Pod"), pod))
            .await;
        let text = answer.to_string();
        assert!(
            text.contains("registry.example.com/app:ghp_"),
            "{mode}: {text}"
        );
        assert!(
            !text.contains(TOKEN) && !text.contains(PASSWORD),
            "{mode}: {text}"
        );
        if mode == "enforce" {
            assert_eq!(answer["response"]["allowed"], false, "{text}");
        } else {
            assert!(answer["response"]["warnings"]
                .as_array()
                .is_some_and(|w| !w.is_empty()));
        }
        // The decision log is written by its own thread: wait for the line.
        let log_path = hook.file("decisions.jsonl");
        let mut log = String::new();
        for _ in 0..100 {
            log = std::fs::read_to_string(&log_path).unwrap_or_default();
            if log.contains("\"web\"") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        hook.stop().await;
        assert!(log.contains("\"web\""), "{log}");
        assert!(
            !log.contains(TOKEN) && !log.contains(PASSWORD),
            "{mode}: {log}"
        );
    }
}
