//! palisade's change: indentation inside flow collections and on quoted
//! scalars' continuation lines is not checked, as libyaml (and so go-yaml
//! and kubectl) does not check it. Block indentation is still checked.

use saphyr_parser::{Event, Parser};

/// The scalar values of a stream, in order, or the parser's error.
fn scalars(yaml: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for next in Parser::new_from_str(yaml) {
        match next {
            Ok((Event::Scalar(text, ..), _)) => out.push(text.into_owned()),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(out)
}

#[test]
fn closing_bracket_at_the_keys_column() {
    let yaml =
        "spec:\n  containers:\n  - name: a\n    args: [\n      \"-a\",\n      \"-b\"\n    ]\n";
    assert_eq!(
        scalars(yaml).unwrap(),
        ["spec", "containers", "name", "a", "args", "-a", "-b"]
    );
    let top = "args: [\n  \"-a\"\n]\nother: 1\n";
    assert_eq!(scalars(top).unwrap(), ["args", "-a", "other", "1"]);
}

#[test]
fn flow_entries_at_the_keys_column() {
    // Test 9C9N of the YAML test suite, which YAML 1.2 rejects and libyaml reads.
    assert_eq!(
        scalars("---\nflow: [a,\nb,\nc]\n").unwrap(),
        ["flow", "a", "b", "c"]
    );
    assert_eq!(
        scalars("a:\n  b: {x: 1,\n  y: 2}\n").unwrap(),
        ["a", "b", "x", "1", "y", "2"]
    );
}

#[test]
fn quoted_scalar_continued_at_the_keys_column() {
    // Test QB6E of the YAML test suite, which YAML 1.2 rejects and libyaml reads.
    assert_eq!(
        scalars("---\nquoted: \"a\nb\nc\"\n").unwrap(),
        ["quoted", "a b c"]
    );
    let nested =
        "metadata:\n  description: \"Requires all\n  containers to be\n  nice\"\n  name: x\n";
    assert_eq!(
        scalars(nested).unwrap(),
        [
            "metadata",
            "description",
            "Requires all containers to be nice",
            "name",
            "x"
        ]
    );
    assert_eq!(scalars("key: 'one\ntwo'\n").unwrap(), ["key", "one two"]);
}

#[test]
fn block_indentation_is_still_checked() {
    // A block mapping's key less indented than its siblings is an error.
    assert!(scalars("a:\n    b: 1\n  c: 2\n").is_err());
    // A sequence entry dedented under its mapping value is still an error.
    assert!(scalars("key:\n  - a\n - b\n").is_err());
}
