//! `sigward check POLICY`

use std::path::Path;

use super::{Exit, Line, Loaded, fail, load_policy, runtime};

pub fn run(path: &Path) -> Exit {
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let name = path.display();
    match load_policy(&runtime, path) {
        Err(e) => fail(e),
        Ok(Loaded::Invalid(errors)) => {
            println!("{name}: invalid, {}", count(errors.len(), "error"));
            for error in &errors {
                println!("  error: {}", Line(error));
            }
            Exit::Invalid
        }
        Ok(Loaded::Valid(mut session)) => {
            let (rules, warnings) = match (session.rule_count(), session.warnings()) {
                (Ok(r), Ok(w)) => (r, w),
                (Err(e), _) | (_, Err(e)) => return fail(e),
            };
            println!(
                "{name}: valid, {}, {}",
                count(rules as usize, "rule"),
                count(warnings.len(), "warning")
            );
            for warning in &warnings {
                println!("  warning: {}", Line(warning));
            }
            Exit::Ok
        }
    }
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
