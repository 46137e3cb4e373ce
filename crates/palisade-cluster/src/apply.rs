//! `--apply-reports`: PolicyReports written to the cluster by server-side
//! apply (field manager `palisade`), and palisade's reports that the run
//! no longer produced (a namespace now clean, or gone) deleted.

use http::Method;
use serde_json::Value;

use crate::list::Lister;

const GROUP: &str = "/apis/wgpolicyk8s.io/v1alpha2";
const FIELD_MANAGER: &str = "palisade";
const SELECTOR: &str = "app.kubernetes.io%2Fmanaged-by%3Dpalisade";

/// What applying did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Reports written (created or updated).
    pub written: usize,
    /// Stale reports deleted.
    pub deleted: usize,
    /// Requests that failed, each naming the report.
    pub errors: Vec<String>,
}

fn path_of(report: &Value) -> Option<String> {
    let name = report.pointer("/metadata/name")?.as_str()?;
    match report
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
    {
        Some(ns) => Some(format!("{GROUP}/namespaces/{ns}/policyreports/{name}")),
        None => Some(format!("{GROUP}/clusterpolicyreports/{name}")),
    }
}

/// Applies `reports` (from [`palisade_report::policyreport`]) and deletes
/// palisade's other reports (`namespace` set: only those of it).
pub async fn apply_reports(lister: &Lister, reports: &[Value], namespace: Option<&str>) -> Applied {
    let mut done = Applied::default();
    let mut current = Vec::new();
    for report in reports {
        let Some(path) = path_of(report) else {
            continue;
        };
        current.push(path.clone());
        let url = format!("{path}?fieldManager={FIELD_MANAGER}&force=true");
        match lister
            .request(
                Method::PATCH,
                &url,
                "application/apply-patch+yaml",
                report.to_string().into_bytes(),
            )
            .await
        {
            Ok((s, _)) if s.is_success() => done.written += 1,
            Ok((s, body)) => done.errors.push(format!(
                "cannot apply {path}: {} {}",
                s.as_u16(),
                String::from_utf8_lossy(&body[..body.len().min(300)])
            )),
            Err(f) => done
                .errors
                .push(format!("cannot apply {path}: {}", f.message)),
        }
    }
    let lists = match namespace {
        Some(ns) => vec![format!("{GROUP}/namespaces/{ns}/policyreports")],
        None => vec![
            format!("{GROUP}/policyreports"),
            format!("{GROUP}/clusterpolicyreports"),
        ],
    };
    for list in lists {
        let url = format!("{list}?labelSelector={SELECTOR}");
        let found = match lister.get_json(&url).await {
            Ok(v) => v,
            Err(f) => {
                done.errors.push(format!(
                    "cannot list palisade's reports ({list}): {}",
                    f.message
                ));
                continue;
            }
        };
        for item in found
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = item
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let path = match item.pointer("/metadata/namespace").and_then(Value::as_str) {
                Some(ns) => format!("{GROUP}/namespaces/{ns}/policyreports/{name}"),
                None => format!("{GROUP}/clusterpolicyreports/{name}"),
            };
            // Only palisade's own, whatever the server did with the selector.
            let ours = item
                .pointer("/metadata/labels/app.kubernetes.io~1managed-by")
                .and_then(Value::as_str)
                == Some("palisade");
            if !ours || current.contains(&path) {
                continue;
            }
            match lister
                .request(Method::DELETE, &path, "application/json", Vec::new())
                .await
            {
                Ok((s, _)) if s.is_success() || s.as_u16() == 404 => done.deleted += 1,
                Ok((s, _)) => done.errors.push(format!(
                    "cannot delete the stale report {path}: {}",
                    s.as_u16()
                )),
                Err(f) => done.errors.push(format!(
                    "cannot delete the stale report {path}: {}",
                    f.message
                )),
            }
        }
    }
    done
}
