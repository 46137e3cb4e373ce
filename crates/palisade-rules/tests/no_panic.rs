//! Property tests: the whole engine (loader, object model, every PSS check)
//! never panics, whatever bytes it is given, and always accounts for its input.

use palisade_core::{Context, Engine, Limits};
use proptest::prelude::*;

fn engine() -> Engine {
    Engine::new(
        palisade_rules::all_rules(),
        Context::default(),
        Limits::default(),
    )
}

/// YAML-shaped noise: fragments of Kubernetes manifests and YAML syntax.
fn yamlish() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "apiVersion: v1\n",
        "kind: Pod\n",
        "kind: List\n",
        "items:\n",
        "- ",
        "spec:\n",
        "  containers:\n",
        "  - name: c\n",
        "    securityContext:\n",
        "      privileged: yes\n",
        "metadata: {name: x}\n",
        "---\n",
        "...\n",
        "&a ",
        "*a\n",
        "<<: *a\n",
        "[",
        "]",
        "{",
        "}",
        ": ",
        "\"",
        "'",
        "|\n",
        ">\n",
        "  ",
        "\t",
        "\n",
        "# c\n",
        "!!str ",
        "!!int ",
        "~\n",
        "{{ .Values.x }}",
        "hostPID: true\n",
        "volumes:\n",
        "- name: v\n",
        "  hostPath: {}\n",
        "0x1F\n",
        "1e400\n",
        "\u{feff}",
        "é",
        "\r\n",
    ]);
    prop::collection::vec(atoms, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let r = engine().scan_bytes("fuzz", &bytes);
        prop_assert_eq!(r.summary.errors, r.errors.len());
    }

    #[test]
    fn yaml_shaped_noise_never_panics(text in yamlish()) {
        let r = engine().scan_bytes("fuzz.yaml", text.as_bytes());
        prop_assert_eq!(r.summary.errors, r.errors.len());
        for f in &r.findings {
            prop_assert!(f.line >= 1);
        }
    }
}
