//! The `authorizer` of ValidatingAdmissionPolicies, answered from the RBAC
//! objects of the scan or the cluster (palisade-rbac): a request is allowed
//! when a binding grants the verb on the resource to the user, one of its
//! groups or its ServiceAccount, in the namespace or cluster-wide, and a
//! rule limited by resourceNames names the object.

use palisade_cel::{Authorizer, AuthzDecision, AuthzRequest};
use palisade_rbac::Subject;

/// RBAC as the authorizer.
#[derive(Debug)]
pub struct RbacAuthorizer(pub palisade_rbac::Analysis);

impl Authorizer for RbacAuthorizer {
    fn authorize(&self, r: &AuthzRequest) -> AuthzDecision {
        let resource = if !r.path.is_empty() {
            r.path.clone()
        } else {
            let mut res = r.resource.clone();
            if !r.group.is_empty() {
                res = format!("{res}.{}", r.group);
            }
            if !r.subresource.is_empty() {
                res = format!("{res}/{}", r.subresource);
            }
            res
        };
        let namespace = (!r.namespace.is_empty()).then_some(r.namespace.as_str());
        let is_me = |s: &Subject| match s {
            Subject::User { name } => *name == r.user,
            Subject::Group { name } => r.groups.iter().any(|g| g == name),
            Subject::ServiceAccount { namespace, name } => {
                r.user == format!("system:serviceaccount:{namespace}:{name}")
            }
        };
        let grant = self
            .0
            .who_can(&r.verb, &resource, namespace)
            .into_iter()
            .find(|g| {
                is_me(&g.subject)
                    && (g.rule.resource_names.is_empty() || g.rule.resource_names.contains(&r.name))
            });
        match grant {
            Some(g) => AuthzDecision {
                allowed: true,
                reason: format!("{} allows it to {}", g.binding, g.subject.describe()),
            },
            None => AuthzDecision {
                allowed: false,
                reason: format!(
                    "no RBAC binding allows {:?} to {} {resource}",
                    r.user, r.verb
                ),
            },
        }
    }
}
