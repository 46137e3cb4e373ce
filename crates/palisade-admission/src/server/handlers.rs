//! The HTTP handlers: `/validate`, `/mutate` and `/imagereview` through
//! one review plumbing (body limits, decoding, registry answers, the
//! decision, metrics and the decision log), and `/readyz` and `/metrics`.

use super::*;

/// A 400/413/408 answer with a plain-text reason.
fn bad_request(code: StatusCode, message: String) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

fn json_response(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

/// The declared `Content-Length`, if any and readable.
fn declared_length(req: &Request) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn too_large(limit: usize) -> Response {
    bad_request(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body over the limit of {limit} bytes"),
    )
}

/// Reads the body within the size and time limits.
async fn read_body(state: &AppState, req: Request) -> Result<Bytes, Response> {
    let limit = state.max_body_bytes;
    match tokio::time::timeout(
        state.request_timeout,
        axum::body::to_bytes(req.into_body(), limit),
    )
    .await
    {
        Err(_) => Err(bad_request(
            StatusCode::REQUEST_TIMEOUT,
            "request body not received in time".into(),
        )),
        Ok(Err(e)) => {
            // to_bytes fails on a body over the limit or a broken connection.
            let too_big = std::error::Error::source(&e)
                .is_some_and(|s| s.to_string().contains("length limit"))
                || e.to_string().contains("length limit");
            if too_big {
                Err(too_large(limit))
            } else {
                Err(bad_request(
                    StatusCode::BAD_REQUEST,
                    format!("cannot read the request body: {e}"),
                ))
            }
        }
        Ok(Ok(b)) => Ok(b),
    }
}

/// Decodes an AdmissionReview request, or says what is wrong with it.
pub fn decode_admission(body: &[u8]) -> Result<AdmissionRequest<DynamicObject>, String> {
    let review: AdmissionReview<DynamicObject> = serde_json::from_slice(body)
        .map_err(|e| format!("the body is not an AdmissionReview: {e}"))?;
    if review.types.kind != "AdmissionReview" {
        return Err(format!(
            "kind must be AdmissionReview, not {:?}",
            review.types.kind
        ));
    }
    if review.types.api_version != ADMISSION_API_VERSION {
        return Err(format!(
            "apiVersion must be {ADMISSION_API_VERSION}, not {:?} (set admissionReviewVersions: [v1])",
            review.types.api_version
        ));
    }
    review
        .try_into()
        .map_err(|_| "the AdmissionReview has no request".to_string())
}

/// Decodes an ImageReview, or says what is wrong with it.
pub fn decode_image_review(body: &[u8]) -> Result<ImageReview, String> {
    let review: ImageReview =
        serde_json::from_slice(body).map_err(|e| format!("the body is not an ImageReview: {e}"))?;
    if review.kind != "ImageReview" || review.api_version != imagereview::API_VERSION {
        return Err(format!(
            "expected {} ImageReview, got {} {}",
            imagereview::API_VERSION,
            review.api_version,
            review.kind
        ));
    }
    if review.spec.is_none() {
        return Err("the ImageReview has no spec".into());
    }
    Ok(review)
}

/// One review decided, ready to send and to record.
pub(super) struct Answer {
    /// The encoded response body.
    body: Result<Vec<u8>, serde_json::Error>,
    /// The decision log's line, without its time and latency.
    uid: String,
    kind: String,
    namespace: String,
    name: String,
    user: String,
    operation: &'static str,
    mode: Mode,
    outcome: &'static str,
    dry_run: bool,
    rules: Vec<&'static str>,
}

/// What one review endpoint adds to the shared plumbing: how its body is
/// decoded, which images the registry is asked about, and the decision.
pub(super) trait Endpoint {
    /// `validate`, `mutate` or `imagereview` (metrics and the decision log).
    const NAME: &'static str;
    /// The decoded request.
    type Request;
    fn decode(body: &[u8]) -> Result<Self::Request, String>;
    fn images(eval: &Evaluator, request: &Self::Request) -> Vec<String>;
    fn decide(eval: &Evaluator, request: Self::Request, online: Option<&Online>) -> Answer;
}

/// An AdmissionReview request and its object, read once for every stage.
pub(super) struct Admission {
    request: AdmissionRequest<DynamicObject>,
    read: Result<Read, Skip>,
}

/// `POST /validate` (`MUTATE` false) and `POST /mutate` (true): an
/// AdmissionReview in, an AdmissionReview out.
pub(super) struct Admit<const MUTATE: bool>;

/// `POST /validate`.
pub(super) type Validate = Admit<false>;
/// `POST /mutate`.
pub(super) type Mutate = Admit<true>;

impl<const MUTATE: bool> Endpoint for Admit<MUTATE> {
    const NAME: &'static str = if MUTATE { "mutate" } else { "validate" };
    type Request = Admission;
    fn decode(body: &[u8]) -> Result<Admission, String> {
        let request = decode_admission(body)?;
        let read = Read::of(&request);
        Ok(Admission { request, read })
    }
    fn images(eval: &Evaluator, a: &Admission) -> Vec<String> {
        eval.images_of(&a.request, &a.read)
    }
    fn decide(eval: &Evaluator, a: Admission, online: Option<&Online>) -> Answer {
        let d = if MUTATE {
            eval.mutate_read(&a.request, &a.read, online)
        } else {
            eval.validate_read(&a.request, &a.read, online)
        };
        admission_answer(&a, d)
    }
}

fn admission_answer(a: &Admission, mut d: Decision) -> Answer {
    listed::cap(&mut d.response);
    Answer {
        body: encode_review(&d),
        uid: a.request.uid.clone(),
        kind: d.kind,
        namespace: d.namespace,
        name: d.name,
        user: d.user,
        operation: d.operation,
        mode: d.mode,
        outcome: d.outcome,
        dry_run: d.dry_run,
        rules: d.rules,
    }
}

/// `POST /imagereview`.
pub(super) struct ImageReviews;

impl Endpoint for ImageReviews {
    const NAME: &'static str = "imagereview";
    type Request = ImageReview;
    fn decode(body: &[u8]) -> Result<ImageReview, String> {
        decode_image_review(body)
    }
    fn images(eval: &Evaluator, review: &ImageReview) -> Vec<String> {
        review
            .spec
            .as_ref()
            .map(|spec| imagereview::images_to_check(eval, spec))
            .unwrap_or_default()
    }
    fn decide(eval: &Evaluator, review: ImageReview, online: Option<&Online>) -> Answer {
        let spec = review.spec.unwrap_or_default();
        let decision = imagereview::review_with(eval, &spec, online);
        let answer = ImageReview {
            api_version: review.api_version,
            kind: review.kind,
            spec: None,
            status: Some(decision.status),
        };
        Answer {
            body: serde_json::to_vec(&answer),
            uid: String::new(),
            kind: "ImageReview".into(),
            namespace: spec.namespace,
            name: String::new(),
            user: String::new(),
            operation: "",
            mode: decision.mode,
            outcome: decision.outcome,
            dry_run: false,
            rules: decision.rules,
        }
    }
}

/// The plumbing every review endpoint shares: the body within its limits
/// (a declared length over the limit refused before reading, the body's
/// size reserved in the memory budget until the answer is built), decoding
/// (400 with the reason), the registry's answers (awaited, not blocking a
/// worker), the synchronous decision with them, the metrics and the
/// decision log.
pub(super) async fn review<E: Endpoint>(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Response {
    let limit = state.max_body_bytes;
    let declared = declared_length(&req);
    if declared.is_some_and(|n| n > limit as u64) {
        state.metrics.request(E::NAME, "error", &[], 0.0);
        return too_large(limit);
    }
    // Bodies without a declared length (chunked) may grow to the limit.
    let size = declared.map_or(limit, |n| n as usize);
    let _reserved = state.budget.reserve(size).await;
    let body = match read_body(&state, req).await {
        Ok(b) => b,
        Err(r) => {
            state.metrics.request(E::NAME, "error", &[], 0.0);
            return r;
        }
    };
    let start = Instant::now();
    let request = match E::decode(&body) {
        Ok(r) => r,
        Err(m) => {
            state.metrics.request(E::NAME, "error", &[], 0.0);
            return bad_request(StatusCode::BAD_REQUEST, m);
        }
    };
    let eval = state.eval.load_full();
    let online = ask_registry(&eval, E::images(&eval, &request)).await;
    let answer = E::decide(&eval, request, online.as_ref());
    let out = match answer.body {
        Ok(v) => v,
        Err(e) => {
            return bad_request(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot encode the response: {e}"),
            )
        }
    };
    let secs = start.elapsed().as_secs_f64();
    state
        .metrics
        .request(E::NAME, answer.outcome, &answer.rules, secs);
    state.log.record(&Entry {
        time_ms: now_ms(),
        endpoint: E::NAME,
        uid: &answer.uid,
        kind: &answer.kind,
        namespace: &answer.namespace,
        name: &answer.name,
        user: &answer.user,
        operation: answer.operation,
        mode: answer.mode.as_str(),
        decision: answer.outcome,
        dry_run: answer.dry_run,
        rules: &answer.rules,
        latency_ms: secs * 1000.0,
    });
    json_response(out)
}

/// What the registry says about `images` (none asked: `None`).
async fn ask_registry(eval: &Evaluator, images: Vec<String>) -> Option<Online> {
    let supply = eval.supply()?;
    if images.is_empty() {
        return None;
    }
    Some(supply.check_all(images).await)
}

/// The AdmissionReview response. The patch is written as the API defines
/// it, a base64 string (Go's `[]byte`); kube-core would write an array of
/// numbers.
fn encode_review(decision: &Decision) -> Result<Vec<u8>, serde_json::Error> {
    let mut v = serde_json::to_value(decision.response.clone().into_review())?;
    if let Some(p) = &decision.response.patch {
        v["response"]["patch"] =
            serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(p));
    }
    serde_json::to_vec(&v)
}

pub(super) async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if !state.policy_loaded.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "policy not loaded").into_response();
    }
    if state.live.as_ref().is_some_and(|l| !l.synced()) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "namespace labels not yet synchronised from the cluster",
        )
            .into_response();
    }
    if !state.certs.valid_now() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "serving certificate expired",
        )
            .into_response();
    }
    "ready".into_response()
}

pub(super) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}
