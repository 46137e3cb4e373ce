//! Unit tests of `loader`.

use super::*;

fn load(text: &str) -> Loaded {
    load_str(text, &Limits::default())
}

#[test]
fn yaml11_booleans_resolve_as_kubectl_reads_them() {
    assert_eq!(resolve_plain("yes"), Value::Bool(true));
    assert_eq!(resolve_plain("Off"), Value::Bool(false));
    assert_eq!(resolve_plain("0755"), Value::Int(0o755));
    assert_eq!(resolve_plain("0x1F"), Value::Int(31));
    assert_eq!(resolve_plain("1_000"), Value::Int(1000));
    assert_eq!(resolve_plain("1.5e3"), Value::Float(1500.0));
    assert_eq!(resolve_plain("1.2.3"), Value::Str("1.2.3".into()));
    assert_eq!(resolve_plain("~"), Value::Null);
    assert_eq!(resolve_plain("-9223372036854775808"), Value::Int(i64::MIN));
}

#[test]
fn keys_and_values_carry_line_and_column() {
    let l = load("a: 1\nspec:\n  containers:\n  - name: x\n    privileged: yes\n");
    assert!(l.errors.is_empty());
    let root = &l.documents[0].root;
    let c = &root.get_path(&["spec", "containers"]).unwrap().items()[0];
    let e = c.entry("privileged").unwrap();
    assert_eq!(e.key_pos, Pos { line: 5, col: 5 });
    assert_eq!(e.node.value, Value::Bool(true));
}

#[test]
fn malformed_document_is_reported_and_later_documents_still_load() {
    let l = load("a: 1\n---\nb: [1, 2\nc: 3\n---\nd: 4\n");
    assert_eq!(l.documents.len(), 2);
    assert_eq!(l.errors.len(), 1);
    assert!(l.errors[0].pos.line >= 3, "{:?}", l.errors);
    assert_eq!(l.documents[1].root.get("d").unwrap().as_i64(), Some(4));
}

#[test]
fn document_marker_with_trailing_text_and_empty_documents() {
    let l = load("--- # first\na: 1\n---\n---\n# only a comment\n--- {b: 2}\n...\n");
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    assert_eq!(l.documents.len(), 2);
    assert_eq!(l.documents[1].root.get("b").unwrap().pos.line, 6);
}

#[test]
fn duplicate_keys_last_wins_and_are_recorded() {
    let l = load("a: 1\nb: 2\na: 3\n");
    let d = &l.documents[0];
    assert_eq!(d.root.get("a").unwrap().as_i64(), Some(3));
    assert_eq!(d.duplicate_keys.len(), 1);
    assert_eq!(d.duplicate_keys[0].first.line, 1);
    assert_eq!(d.duplicate_keys[0].again.line, 3);
}

#[test]
fn merge_keys_fill_in_without_overriding() {
    let l = load("base: &b {a: 1, b: 2}\nm:\n  <<: *b\n  b: 3\n");
    let m = l.documents[0].root.get("m").unwrap();
    assert_eq!(m.get("a").unwrap().as_i64(), Some(1));
    assert_eq!(m.get("b").unwrap().as_i64(), Some(3));
}

#[test]
fn plain_yaml11_boolean_keys_become_true_false_as_in_kubectl() {
    let l = load("y: 1\non: 2\n");
    let r = &l.documents[0].root;
    assert_eq!(r.get("true").unwrap().as_i64(), Some(2));
}

#[test]
fn alias_bomb_is_refused() {
    let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let p = i - 1;
        s.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let l = load(&s);
    assert!(l.documents.is_empty());
    assert!(
        l.errors[0].message.contains("alias expansion"),
        "{:?}",
        l.errors
    );
}

#[test]
fn deep_nesting_is_refused() {
    let s = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let l = load(&s);
    assert!(
        l.errors[0].message.contains("nesting deeper"),
        "{:?}",
        l.errors
    );
    let s = "a:\n".to_string()
        + &(1..200)
            .map(|i| format!("{}- x:\n", "  ".repeat(i)))
            .collect::<String>();
    let l = load(&s);
    assert!(
        l.errors[0].message.contains("nesting deeper"),
        "{:?}",
        l.errors
    );
}

#[test]
fn binary_and_utf16_are_errors() {
    let l = load_bytes(b"\x7fELF\x00\x01", &Limits::default());
    assert!(l.errors[0].message.contains("binary"));
    let l = load_bytes(b"a: \xff\xfe", &Limits::default());
    assert!(l.errors[0].message.contains("UTF-8"));
}

#[test]
fn helm_templates_are_errors_but_go_templates_in_data_are_not() {
    let l = load("image: {{ .Values.image }}\n");
    assert!(l.errors[0].message.contains("helm template"));
    let l = load("{{- if .Values.x }}\na: 1\n{{- end }}\n");
    assert!(l.errors[0].message.contains("helm template"));
    let l = load("image: \"{{ .Values.image }}\"\n");
    assert!(l.errors[0].message.contains("helm template"));
    let l = load("data:\n  tmpl: |\n    {{ define \"x\" }}{{ .Labels.alertname }}\n");
    assert!(l.errors.is_empty(), "{:?}", l.errors);
}

#[test]
fn json_with_tabs_loads_with_positions() {
    let l = load("{\n\t\"kind\": \"Pod\",\n\t\"spec\": {\"hostNetwork\": true}\n}\n");
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    let e = l.documents[0]
        .root
        .get("spec")
        .unwrap()
        .entry("hostNetwork")
        .unwrap();
    assert_eq!(e.key_pos.line, 3);
}

#[test]
fn oversized_document_is_refused() {
    let limits = Limits {
        max_document_bytes: 10,
        ..Limits::default()
    };
    let l = load_str("a: 1\n---\nb: 0123456789\n", &limits);
    assert_eq!(l.documents.len(), 1);
    assert!(l.errors[0].message.contains("over the limit"));
}

#[test]
fn concatenated_json_objects_are_separate_documents_with_positions() {
    let l = load(
        "{\"kind\": \"Pod\", \"a\": \"}\"}{\"kind\": \"Service\"}\n  {\"kind\":\n \"ConfigMap\"}\n",
    );
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    let kinds: Vec<_> = l
        .documents
        .iter()
        .map(|d| d.root.get("kind").unwrap().as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["Pod", "Service", "ConfigMap"]);
    // The second object starts mid-line, after the first one's 25 bytes.
    let svc = l.documents[1].root.entry("kind").unwrap();
    assert_eq!(svc.key_pos, Pos { line: 1, col: 27 });
    let cm = l.documents[2].root.entry("kind").unwrap();
    assert_eq!(cm.key_pos, Pos { line: 2, col: 4 });
    // One object, or objects with anything but whitespace between them, read as before.
    assert_eq!(load("{\"a\": 1}\n").documents.len(), 1);
    assert_eq!(load("{\"a\": 1} x {\"b\": 2}").errors.len(), 1);
}

#[test]
fn directives_stay_with_their_document_and_document_end_lines_cut() {
    let l = load("%YAML 1.2\n---\na: 1\n...\n%YAML 1.2\n---\nb: 2\n...\nc: 3\n");
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    assert_eq!(l.documents.len(), 3);
    assert_eq!(l.documents[2].root.entry("c").unwrap().key_pos.line, 9);
}

#[test]
fn libyaml_indentation_leniency_is_read_as_kubectl_reads_it() {
    // A flow sequence closed at the key's column (Istio's SPIRE quickstart)
    // and a double-quoted scalar continued at the key's column (Gatekeeper
    // library templates): both refused as "invalid indentation" before.
    let l =
        load("args: [\n  \"-a\",\n  \"-b\"\n]\nmetadata:\n  description: \"Requires\n  all\"\n");
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    let root = &l.documents[0].root;
    assert_eq!(root.get("args").unwrap().items().len(), 2);
    let d = root.get_path(&["metadata", "description"]).unwrap();
    assert_eq!(d.as_str(), Some("Requires all"));
}

#[test]
fn anchored_keys_and_the_non_specific_tag() {
    let l = load("&k key: value\nother: *k\nlist: [! 12, 12]\n");
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    let root = &l.documents[0].root;
    assert_eq!(root.get("other").unwrap().as_str(), Some("key"));
    let list = root.get("list").unwrap().items();
    assert_eq!(list[0].value, Value::Str("12".into()));
    assert_eq!(list[1].value, Value::Int(12));
}
