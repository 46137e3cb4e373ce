//! A template compiled for regorus's virtual machine (RVM), and its
//! evaluation on a VM kept per thread.
//!
//! The VM runs the fixture templates 2.3–3.1 times faster than the
//! tree-walking interpreter (`bash bench/rego/run.sh`, docs/benchmarks.md).
//! It is set up to fail as the interpreter does: builtin errors are errors
//! (`strict_builtin_errors`), not "undefined", so an error is never read as
//! "no violation"; the time limit is the template's, and the instruction
//! limit (25,000 by default, which a template over a large inventory
//! exceeds) is lifted so the time limit alone bounds an evaluation.
//! A template the VM cannot compile runs on the interpreter.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::program::Program;
use regorus::rvm::vm::RegoVM;

use super::*;

/// VMs kept per thread (one per template program, the least recently used
/// dropped beyond this).
const VMS_PER_THREAD: usize = 64;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// (program id, its VM), most recently used last.
    static VMS: RefCell<Vec<(u64, RegoVM)>> = const { RefCell::new(Vec::new()) };
}

/// A compiled program; clones share it (and its id, so they share VMs).
#[derive(Clone)]
pub(crate) struct VmProgram {
    id: u64,
    program: Arc<Program>,
    policy: regorus::CompiledPolicy,
}

impl std::fmt::Debug for VmProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VmProgram").field("id", &self.id).finish()
    }
}

impl VmProgram {
    /// Compiles `rule` of `policy` for the VM; `None` when the VM's
    /// compiler refuses it.
    pub(crate) fn compile(policy: &regorus::CompiledPolicy, rule: &str) -> Option<VmProgram> {
        let program = Compiler::compile_from_policy(policy, &[rule]).ok()?;
        Some(VmProgram {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            program,
            policy: policy.clone(),
        })
    }

    /// Evaluates the rule on `input`, within `limit`.
    pub(crate) fn run(&self, input: Value, limit: Duration) -> Result<Value, String> {
        VMS.with(|cell| {
            let mut vms = cell.borrow_mut();
            let at = match vms.iter().position(|(id, _)| *id == self.id) {
                Some(i) => i,
                None => {
                    if vms.len() >= VMS_PER_THREAD {
                        vms.remove(0);
                    }
                    vms.push((self.id, self.new_vm()));
                    vms.len() - 1
                }
            };
            // Most recently used last.
            let entry = vms.remove(at);
            vms.push(entry);
            let last = vms.len() - 1;
            let vm = &mut vms[last].1;
            vm.set_execution_timer_config(Some(ExecutionTimerConfig {
                limit,
                check_interval: NonZeroU32::new(64).unwrap_or(NonZeroU32::MIN),
            }));
            vm.set_input(input);
            let result = vm.execute_entry_point_by_index(0);
            // The input is not kept alive between evaluations.
            vm.set_input(Value::Null);
            result.map_err(|e| e.to_string())
        })
    }

    fn new_vm(&self) -> RegoVM {
        let mut vm = RegoVM::new_with_policy(self.policy.clone());
        vm.load_program(self.program.clone());
        vm.set_strict_builtin_errors(true);
        vm.set_max_instructions(usize::MAX);
        vm
    }
}
