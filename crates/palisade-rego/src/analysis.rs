//! Checks on parsed Rego that OPA makes at compile time and regorus makes
//! only when an expression runs: a call to a function that neither the
//! builtins nor the template and its libs define. Without this a typo such
//! as `spritnf` would surface only on the first object that reaches it.

use std::collections::BTreeSet;

use regorus::unstable::{Expr, Literal, Module, Query, Rule, RuleHead, BUILTINS};

/// A call to a function nothing defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnknownCall {
    /// The name as written (`spritnf`, `strings.foo`).
    pub name: String,
    /// 1-based line in the module's source.
    pub line: u32,
    /// 1-based column in the module's source.
    pub col: u32,
    /// The module's source path.
    pub source: String,
}

/// Every call in `modules` whose name is not a builtin and whose last
/// segment is not a rule or function defined in one of `modules`.
pub(crate) fn unknown_calls<'a>(
    modules: impl Iterator<Item = &'a Module> + Clone,
) -> Vec<UnknownCall> {
    let mut defined = BTreeSet::new();
    for m in modules.clone() {
        for rule in &m.policy {
            let refr = match &**rule {
                Rule::Spec { head, .. } => match head {
                    RuleHead::Compr { refr, .. }
                    | RuleHead::Set { refr, .. }
                    | RuleHead::Func { refr, .. } => refr,
                },
                Rule::Default { refr, .. } => refr,
            };
            if let Some(name) = last_segment(refr) {
                defined.insert(name);
            }
        }
    }
    let mut calls = Vec::new();
    for m in modules {
        for rule in &m.policy {
            walk_rule(rule, &mut calls);
        }
    }
    calls
        .into_iter()
        .filter(|c| {
            let last = c.name.rsplit('.').next().unwrap_or(&c.name);
            c.name != "print" && !BUILTINS.contains_key(c.name.as_str()) && !defined.contains(last)
        })
        .collect()
}

fn last_segment(e: &Expr) -> Option<String> {
    match e {
        Expr::Var { span, .. } => Some(span.text().to_string()),
        Expr::RefDot { field, .. } => Some(field.0.text().to_string()),
        Expr::RefBrack { index, .. } => match &**index {
            Expr::String { value, .. } => value.as_string().ok().map(|s| s.to_string()),
            _ => None,
        },
        _ => None,
    }
}

fn dotted(e: &Expr) -> Option<String> {
    match e {
        Expr::Var { span, .. } => Some(span.text().to_string()),
        Expr::RefDot { refr, field, .. } => Some(format!("{}.{}", dotted(refr)?, field.0.text())),
        _ => None,
    }
}

fn walk_rule(rule: &Rule, out: &mut Vec<UnknownCall>) {
    match rule {
        Rule::Spec { head, bodies, .. } => {
            match head {
                RuleHead::Compr { assign, .. } => {
                    if let Some(a) = assign {
                        walk_expr(&a.value, out);
                    }
                }
                RuleHead::Set { key, .. } => {
                    if let Some(k) = key {
                        walk_expr(k, out);
                    }
                }
                RuleHead::Func { args, assign, .. } => {
                    for a in args {
                        walk_expr(a, out);
                    }
                    if let Some(a) = assign {
                        walk_expr(&a.value, out);
                    }
                }
            }
            for b in bodies {
                if let Some(a) = &b.assign {
                    walk_expr(&a.value, out);
                }
                walk_query(&b.query, out);
            }
        }
        Rule::Default { args, value, .. } => {
            for a in args {
                walk_expr(a, out);
            }
            walk_expr(value, out);
        }
    }
}

fn walk_query(q: &Query, out: &mut Vec<UnknownCall>) {
    for stmt in &q.stmts {
        match &stmt.literal {
            Literal::SomeVars { .. } => {}
            Literal::SomeIn {
                key,
                value,
                collection,
                ..
            } => {
                if let Some(k) = key {
                    walk_expr(k, out);
                }
                walk_expr(value, out);
                walk_expr(collection, out);
            }
            Literal::Expr { expr, .. } | Literal::NotExpr { expr, .. } => walk_expr(expr, out),
            Literal::Every { domain, query, .. } => {
                walk_expr(domain, out);
                walk_query(query, out);
            }
        }
        // `with f as g` replaces f; only the replacement is evaluated.
        for w in &stmt.with_mods {
            walk_expr(&w.r#as, out);
        }
    }
}

fn walk_expr(e: &Expr, out: &mut Vec<UnknownCall>) {
    match e {
        Expr::String { .. }
        | Expr::RawString { .. }
        | Expr::Number { .. }
        | Expr::Bool { .. }
        | Expr::Null { .. }
        | Expr::Var { .. } => {}
        Expr::Array { items, .. } | Expr::Set { items, .. } => {
            for i in items {
                walk_expr(i, out);
            }
        }
        Expr::Object { fields, .. } => {
            for (_, k, v) in fields {
                walk_expr(k, out);
                walk_expr(v, out);
            }
        }
        Expr::ArrayCompr { term, query, .. } | Expr::SetCompr { term, query, .. } => {
            walk_expr(term, out);
            walk_query(query, out);
        }
        Expr::ObjectCompr {
            key, value, query, ..
        } => {
            walk_expr(key, out);
            walk_expr(value, out);
            walk_query(query, out);
        }
        Expr::Call { fcn, params, .. } => {
            if let Some(name) = dotted(fcn) {
                let span = fcn.span();
                out.push(UnknownCall {
                    name,
                    line: span.line,
                    col: span.col,
                    source: span.source.get_path().clone(),
                });
            } else {
                walk_expr(fcn, out);
            }
            for p in params {
                walk_expr(p, out);
            }
        }
        Expr::UnaryExpr { expr, .. } => walk_expr(expr, out),
        Expr::RefDot { refr, .. } => walk_expr(refr, out),
        Expr::RefBrack { refr, index, .. } => {
            walk_expr(refr, out);
            walk_expr(index, out);
        }
        Expr::BinExpr { lhs, rhs, .. }
        | Expr::BoolExpr { lhs, rhs, .. }
        | Expr::ArithExpr { lhs, rhs, .. }
        | Expr::AssignExpr { lhs, rhs, .. } => {
            walk_expr(lhs, out);
            walk_expr(rhs, out);
        }
        Expr::Membership {
            key,
            value,
            collection,
            ..
        } => {
            if let Some(k) = key {
                walk_expr(k, out);
            }
            walk_expr(value, out);
            walk_expr(collection, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(sources: &[&str]) -> Vec<String> {
        let mut e = regorus::Engine::new();
        e.set_rego_v0(true);
        for (i, s) in sources.iter().enumerate() {
            if let Err(err) = e.add_policy(format!("m{i}.rego"), s.to_string()) {
                panic!("{err}");
            }
        }
        let modules: Vec<_> = e.get_modules().clone();
        unknown_calls(modules.iter().map(|m| &**m))
            .into_iter()
            .map(|c| format!("{}@{}:{}", c.name, c.line, c.col))
            .collect()
    }

    #[test]
    fn misspelt_builtin_is_found_with_its_position() {
        let found =
            unknown(&["package a\nviolation[{\"msg\": m}] {\n  m := spritnf(\"%v\", [1])\n}\n"]);
        assert_eq!(found, vec!["spritnf@3:8"]);
    }

    #[test]
    fn builtins_local_functions_and_lib_functions_are_known() {
        let found = unknown(&[
            "package a\nimport data.lib.h\nviolation[{\"msg\": m}] {\n  regex.match(\"x\", input.a)\n  f(1)\n  h.g(2)\n  data.lib.h.g(3)\n  m := sprintf(\"%v\", [[x | x := count([1])]])\n}\nf(x) { x > 0 }\n",
            "package lib.h\ng(x) = y { y := lower(\"A\") }\n",
        ]);
        assert!(found.is_empty(), "{found:?}");
    }
}
