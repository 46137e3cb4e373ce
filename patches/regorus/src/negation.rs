// palisade: OPA's evaluation of `not` over operands that are undefined.
//
// OPA's compiler (stages RewriteExprTerms and RewriteDynamicTerms of
// ast/compile.go) moves every reference, nested call and operator that is an
// operand of an expression into an assignment to a generated variable placed
// *before* the expression; `not` then applies to the rewritten expression
// alone. So `not f(input.x)` runs as `__local0__ = input.x; not
// f(__local0__)`, and is undefined (the rule body fails) when `input.x` is
// undefined, where a reading of `not` as "the line is not true" would make
// it true. OPA's maintainers describe this in open-policy-agent/opa#1877 and
// #8387; Gatekeeper templates are evaluated by OPA with that behaviour.
//
// `negation_guards` returns, for the expression of a `not` literal, the
// operands OPA moves out: the interpreter and the RVM evaluate each before
// the negated expression, and the literal fails when one is undefined.
// Which operands move follows rewriteDynamics:
// - a call or operator (`==`, `+`, `in`, `|`, unary minus): each operand
//   (`=` unification: only the dynamic parts inside each side);
// - a term on its own (`not input.a[input.b]`): the dynamic parts inside it;
// - a dynamic part is a reference, a call or an operator (taken whole: it is
//   undefined when anything inside it is), or an array, set or object
//   literal holding one (taken element by element).
// A bare variable is returned too (it may name a rule, which OPA resolves to
// a reference); the engines skip it when it is a local variable (bound when
// read). Comprehensions (always defined) and scalars are not guarded.

use crate::ast::{AssignOp, Expr, ExprRef};
use alloc::vec::Vec;

/// The operands of `not expr` that must be defined for the literal to hold.
pub fn negation_guards(expr: &ExprRef) -> Vec<ExprRef> {
    let mut out = Vec::new();
    match expr.as_ref() {
        Expr::Call { params, .. } => {
            for p in params {
                operand(p, &mut out);
            }
        }
        Expr::BinExpr { lhs, rhs, .. }
        | Expr::BoolExpr { lhs, rhs, .. }
        | Expr::ArithExpr { lhs, rhs, .. } => {
            operand(lhs, &mut out);
            operand(rhs, &mut out);
        }
        Expr::Membership {
            key,
            value,
            collection,
            ..
        } => {
            if let Some(k) = key {
                operand(k, &mut out);
            }
            operand(value, &mut out);
            operand(collection, &mut out);
        }
        Expr::UnaryExpr { expr, .. } => operand(expr, &mut out),
        Expr::AssignExpr {
            op: AssignOp::Eq,
            lhs,
            rhs,
            ..
        } => {
            inside(lhs, &mut out);
            inside(rhs, &mut out);
        }
        _ => inside(expr, &mut out),
    }
    out
}

/// A term that stays in place: only the dynamic parts inside it move.
fn inside(expr: &ExprRef, out: &mut Vec<ExprRef>) {
    match expr.as_ref() {
        Expr::RefDot { .. } | Expr::RefBrack { .. } => ref_indexes(expr, out),
        // A variable (a local, or a rule OPA resolves to a reference) stays.
        Expr::ArrayCompr { .. }
        | Expr::SetCompr { .. }
        | Expr::ObjectCompr { .. }
        | Expr::Var { .. } => {}
        _ => operand(expr, out),
    }
}

/// The bracketed indexes of a reference chain, from its root outwards.
fn ref_indexes(expr: &ExprRef, out: &mut Vec<ExprRef>) {
    match expr.as_ref() {
        Expr::RefDot { refr, .. } => ref_indexes(refr, out),
        Expr::RefBrack { refr, index, .. } => {
            ref_indexes(refr, out);
            operand(index, out);
        }
        _ => {}
    }
}

/// An operand: moved out whole when dynamic, element by element when a
/// collection literal.
fn operand(expr: &ExprRef, out: &mut Vec<ExprRef>) {
    match expr.as_ref() {
        Expr::RefDot { .. }
        | Expr::RefBrack { .. }
        | Expr::Call { .. }
        | Expr::UnaryExpr { .. }
        | Expr::BinExpr { .. }
        | Expr::BoolExpr { .. }
        | Expr::ArithExpr { .. }
        | Expr::Membership { .. } => out.push(expr.clone()),
        Expr::Var { span, .. } if !matches!(span.text(), "_" | "input" | "data") => {
            out.push(expr.clone())
        }
        Expr::Array { items, .. } | Expr::Set { items, .. } => {
            for i in items {
                operand(i, out);
            }
        }
        Expr::Object { fields, .. } => {
            for (_, k, v) in fields {
                operand(k, out);
                operand(v, out);
            }
        }
        _ => {}
    }
}
