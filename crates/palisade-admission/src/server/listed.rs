//! At most [`MAX_LISTED`] violations in an answer: a denial message lists
//! the first ones and says how many more there are, and so do the warnings.
//! Without the cap a 2.6 MB Pod of 90,000 containers was answered with
//! 145 MB.
//!
//! The cap is applied to the texts the evaluator wrote (`[rule] ...` items
//! after the message's heading, separated by `; `), so every endpoint's
//! answer goes through the same cut on its way out.

use kube_core::admission::AdmissionResponse;

/// Violations listed in a denial message, and warnings in an answer.
pub const MAX_LISTED: usize = 20;

/// Cuts the denial message and the warnings of `r` to [`MAX_LISTED`] each.
pub(super) fn cap(r: &mut AdmissionResponse) {
    if let Some(cut) = cap_message(&r.result.message) {
        r.result.message = cut;
    }
    if let Some(w) = r.warnings.as_mut() {
        cap_warnings(w);
    }
}

/// `warnings` cut to [`MAX_LISTED`], then a line saying how many more.
fn cap_warnings(warnings: &mut Vec<String>) {
    if warnings.len() > MAX_LISTED {
        let more = warnings.len() - MAX_LISTED;
        warnings.truncate(MAX_LISTED);
        warnings.push(format!("and {more} more"));
    }
}

/// The message cut after its first [`MAX_LISTED`] items, or `None` if it
/// has no more than that.
fn cap_message(message: &str) -> Option<String> {
    let starts: Vec<usize> = message
        .match_indices("; [")
        .map(|(i, _)| i)
        .filter(|&i| starts_item(&message[i + 3..]))
        .collect();
    let cut = *starts.get(MAX_LISTED)?;
    let more = starts.len() - MAX_LISTED;
    Some(format!("{}; and {more} more", &message[..cut]))
}

/// Whether `rest` (what follows `; [`) is an item: a rule id such as
/// `pss/privileged` or `rego/k8srequiredlabels`, then `] `.
fn starts_item(rest: &str) -> bool {
    let Some(end) = rest.find("] ") else {
        return false;
    };
    let id = &rest[..end];
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(n: usize) -> String {
        let mut s = format!("palisade denied Pod team-a/\"web\": {n} violations");
        for i in 0..n {
            s.push_str(&format!(
                "; [pss/privileged] container \"c{i}\" spec.containers[{i}]: privileged; [x]"
            ));
        }
        s
    }

    #[test]
    fn a_message_of_many_violations_lists_the_first_and_counts_the_rest() {
        let cut = cap_message(&message(25)).unwrap();
        assert_eq!(cut.matches("[pss/privileged]").count(), MAX_LISTED);
        assert!(cut.contains("\"c19\"") && !cut.contains("\"c20\""), "{cut}");
        assert!(cut.ends_with("; and 5 more"), "{cut}");
        assert!(cut.starts_with("palisade denied Pod team-a/\"web\": 25 violations; "));
    }

    #[test]
    fn a_message_at_the_cap_is_unchanged() {
        assert_eq!(cap_message(&message(MAX_LISTED)), None);
    }

    #[test]
    fn warnings_over_the_cap_end_with_the_count_of_the_rest() {
        let mut w: Vec<String> = (0..23).map(|i| format!("w{i}")).collect();
        cap_warnings(&mut w);
        assert_eq!(w.len(), MAX_LISTED + 1);
        assert_eq!(w[MAX_LISTED - 1], "w19");
        assert_eq!(w[MAX_LISTED], "and 3 more");
    }
}
