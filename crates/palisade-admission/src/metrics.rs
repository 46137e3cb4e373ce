//! `/metrics`: Prometheus text exposition of the webhook's work, with the
//! official client (`prometheus-client`): requests by endpoint and decision,
//! findings by rule, latency, policy and certificate reloads, and the
//! serving certificate's expiry time.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of a request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `validate`, `mutate`, `imagereview`.
    pub endpoint: String,
    /// `allow`, `deny`, `warn`, `audit`, `exempt`, `skip`, `error`.
    pub decision: String,
}

/// Labels of the findings counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabels {
    /// The endpoint.
    pub endpoint: String,
    /// The rule id.
    pub rule: String,
}

/// Labels of the latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    /// The endpoint.
    pub endpoint: String,
}

/// Labels of reload counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `ok` or `error`.
    pub result: String,
}

type HistogramFamily = Family<EndpointLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 25 µs .. about 0.8 s.
    Histogram::new(exponential_buckets(0.000_025, 2.0, 16))
}

/// Every metric of the server.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    findings: Family<RuleLabels, Counter>,
    latency: HistogramFamily,
    policy_reloads: Family<ResultLabels, Counter>,
    cert_reloads: Family<ResultLabels, Counter>,
    cert_expiry: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("palisade");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "admission_requests",
            "Admission requests by endpoint and decision",
            requests.clone(),
        );
        let findings = Family::<RuleLabels, Counter>::default();
        registry.register(
            "admission_findings",
            "Findings in admission requests, by endpoint and rule",
            findings.clone(),
        );
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "admission_request_duration_seconds",
            "Time to decide an admission request (body decoded to response encoded)",
            latency.clone(),
        );
        let policy_reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "policy_reloads",
            "Policy file reloads by result",
            policy_reloads.clone(),
        );
        let cert_reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "tls_certificate_reloads",
            "Serving certificate reloads by result",
            cert_reloads.clone(),
        );
        let cert_expiry = Gauge::default();
        registry.register(
            "tls_certificate_expiry_timestamp_seconds",
            "notAfter of the serving certificate, in Unix seconds",
            cert_expiry.clone(),
        );
        Metrics {
            registry,
            requests,
            findings,
            latency,
            policy_reloads,
            cert_reloads,
            cert_expiry,
        }
    }

    /// Counts one decided request.
    pub fn request(&self, endpoint: &str, decision: &str, rules: &[&str], seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                endpoint: endpoint.into(),
                decision: decision.into(),
            })
            .inc();
        for r in rules {
            self.findings
                .get_or_create(&RuleLabels {
                    endpoint: endpoint.into(),
                    rule: (*r).into(),
                })
                .inc();
        }
        self.latency
            .get_or_create(&EndpointLabels {
                endpoint: endpoint.into(),
            })
            .observe(seconds);
    }

    /// Counts a policy reload.
    pub fn policy_reload(&self, ok: bool) {
        self.policy_reloads
            .get_or_create(&ResultLabels {
                result: if ok { "ok" } else { "error" }.into(),
            })
            .inc();
    }

    /// Counts a certificate reload.
    pub fn cert_reload(&self, ok: bool) {
        self.cert_reloads
            .get_or_create(&ResultLabels {
                result: if ok { "ok" } else { "error" }.into(),
            })
            .inc();
    }

    /// Records the serving certificate's expiry.
    pub fn cert_expiry(&self, not_after: i64) {
        self.cert_expiry.set(not_after);
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!("cannot encode metrics: {e}");
        }
        out
    }
}
