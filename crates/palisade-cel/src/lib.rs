//! The CEL engine shared by ValidatingAdmissionPolicies and Gatekeeper's
//! `K8sNativeValidation` templates.
//!
//! - [`Expression::compile`] parses an expression once; a syntax error
//!   carries the line and column inside the expression.
//! - [`Activation`] holds the variables of one evaluation (`object`,
//!   `request`, ...), converted once from JSON with integers kept as CEL
//!   `int` (as the API server types them).
//! - [`Expression::eval`] runs under a [`Budget`]: every evaluated node costs
//!   one unit and building a list or string costs its size, so a runaway
//!   comprehension stops with [`EvalError::Budget`], never a pass.
//!
//! The functions are those of the `cel` interpreter and the Kubernetes
//! libraries of `kube-cel`; what neither has is listed in docs/cel.md.

mod authz;
mod check;
mod value;

use std::sync::{Arc, OnceLock};

use kube_cel::cel::{self, Context, Program};
use kube_cel::KubeCelExt;

pub use authz::{authorizer_value, Authorizer, AuthzDecision, AuthzRequest};
pub use check::{known_kind, FieldWarning};
pub use value::{from_json, to_json, Data};

/// The API server's limit for one expression (`PerCallLimit`).
pub const PER_CALL_LIMIT: u64 = 1_000_000;
/// The API server's budget for one policy, binding and param together
/// (`RuntimeCELCostBudget`).
pub const RUNTIME_BUDGET: u64 = 10_000_000;
/// The longest expression accepted, in bytes.
pub const MAX_EXPRESSION_BYTES: usize = 64 * 1024;

/// The root context: every function, registered once and shared.
fn root() -> &'static Context<'static> {
    static ROOT: OnceLock<Context<'static>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let mut ctx = Context::default();
        ctx.register_all();
        authz::register(&mut ctx);
        ctx
    })
}

/// A compile error: the position inside the expression (1-based) and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// Line inside the expression.
    pub line: u32,
    /// Column inside the expression.
    pub column: u32,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Why an evaluation gave no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalError {
    /// The expression failed (no such key, no such overload, ...).
    Runtime(String),
    /// The cost budget ran out.
    Budget,
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EvalError::Runtime(m) => f.write_str(m),
            EvalError::Budget => f.write_str("the expression ran out of cost budget"),
        }
    }
}

/// A cost budget shared by the expressions of one evaluation.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    left: u64,
    per_call: u64,
}

impl Budget {
    /// `total` units for everything, at most `per_call` for one expression.
    pub fn new(total: u64, per_call: u64) -> Self {
        Budget {
            left: total,
            per_call,
        }
    }

    /// The units left.
    pub fn left(&self) -> u64 {
        self.left
    }
}

/// A compiled expression. `Send + Sync`: compiled once, evaluated from any thread.
#[derive(Debug, Clone)]
pub struct Expression {
    program: Arc<Program>,
    source: Arc<str>,
}

impl Expression {
    /// Parses `source`.
    pub fn compile(source: &str) -> Result<Expression, CompileError> {
        if source.len() > MAX_EXPRESSION_BYTES {
            return Err(CompileError {
                line: 1,
                column: 1,
                message: format!(
                    "the expression is {} bytes, over the limit of {MAX_EXPRESSION_BYTES}",
                    source.len()
                ),
            });
        }
        let parsed = std::panic::catch_unwind(|| Program::compile(source));
        match parsed {
            Ok(Ok(program)) => Ok(Expression {
                program: Arc::new(program),
                source: source.into(),
            }),
            Ok(Err(errors)) => {
                let first = errors.errors.first();
                Err(CompileError {
                    line: first.map_or(1, |e| e.pos.0.max(1) as u32),
                    column: first.map_or(1, |e| e.pos.1.max(0) as u32 + 1),
                    message: first.map_or_else(|| "syntax error".to_string(), |e| e.msg.clone()),
                })
            }
            Err(_) => Err(CompileError {
                line: 1,
                column: 1,
                message: "the expression cannot be parsed".into(),
            }),
        }
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the expression names the variable `name` anywhere.
    pub fn uses_variable(&self, name: &str) -> bool {
        self.program.references().has_variable(name)
    }

    /// Evaluates against `activation`, charging `budget`.
    pub fn eval(&self, activation: &Activation, budget: &mut Budget) -> Result<Data, EvalError> {
        let limit = budget.left.min(budget.per_call);
        let (result, spent, exhausted) = cel::cost::with_budget(limit, || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.program.execute_val(&activation.ctx)
            }))
        });
        budget.left = budget.left.saturating_sub(spent);
        if exhausted {
            return Err(EvalError::Budget);
        }
        match result {
            Ok(Ok(v)) => Ok(Data(v)),
            Ok(Err(e)) => Err(EvalError::Runtime(e.to_string())),
            Err(_) => Err(EvalError::Runtime(
                "internal error in the CEL interpreter".into(),
            )),
        }
    }
}

/// The variables of one evaluation, converted for the interpreter once
/// when set (not once per expression evaluated against them).
pub struct Activation {
    vars: Vec<(String, Data)>,
    ctx: Context<'static>,
}

impl Default for Activation {
    fn default() -> Self {
        Activation {
            vars: Vec::new(),
            ctx: root().new_inner_scope(),
        }
    }
}

impl Clone for Activation {
    fn clone(&self) -> Self {
        let mut a = Activation::default();
        for (name, value) in &self.vars {
            a.set(name, value.clone());
        }
        a
    }
}

impl std::fmt::Debug for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.vars.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl Activation {
    /// No variables.
    pub fn new() -> Self {
        Activation::default()
    }

    /// Sets `name` (replacing an earlier value); lists and maps are shared.
    pub fn set(&mut self, name: &str, value: Data) {
        self.ctx.add_variable_as_val(name, value.0.clone_as_boxed());
        match self.vars.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.vars.push((name.to_string(), value)),
        }
    }

    /// Sets `name` from JSON.
    pub fn set_json(&mut self, name: &str, value: &serde_json::Value) {
        self.set(name, Data::from_json(value));
    }
}

/// Re-export of the interpreter's value type.
pub use kube_cel::cel::Value as CelValue;

#[cfg(test)]
mod tests;
