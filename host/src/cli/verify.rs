//! `sigward verify --policy POLICY [--trusted-root FILE] [--oci-layout DIR] [--output json] IMAGE...`
//!
//! What Talos does at every image pull: match the image, and for a verify
//! rule resolve it to a digest, find its signatures, and let the component
//! decide. Nothing is fetched for skip, deny or no match.

use std::path::PathBuf;

use sigward_host::decide::Answer;

use super::judging::{Sources, judge_all};
use super::{Exit, fail, runtime};
use crate::Output;

#[derive(clap::Args)]
pub struct Args {
    /// The policy file (a Talos ImageVerificationConfig, YAML or JSON).
    #[arg(long)]
    policy: PathBuf,
    #[command(flatten)]
    sources: Sources,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Image references, by tag or digest.
    #[arg(required = true)]
    images: Vec<String>,
}

pub fn run(args: &Args) -> Exit {
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let images: Vec<&str> = args.images.iter().map(String::as_str).collect();
    let rows = match judge_all(&runtime, &args.policy, &args.sources, &images) {
        Ok(rows) => rows,
        Err(exit) => return exit,
    };
    for row in &rows {
        match args.output {
            Output::Json => println!("{}", row.to_json()),
            Output::Text => print_text(row),
        }
    }
    if rows.iter().any(|r| r.decision.is_err()) {
        Exit::Invalid
    } else if rows.iter().any(|r| !r.allowed()) {
        Exit::Refused
    } else {
        Exit::Ok
    }
}

fn print_text(row: &Answer) {
    match &row.decision {
        Ok(d) => {
            let verdict = if d.allowed { "ALLOWED" } else { "REFUSED" };
            let rule = d
                .rule
                .map_or_else(|| "-".to_owned(), |r| format!("({r:04})"));
            println!("{verdict}  {}  {rule}  {}", row.image, d.message);
            if d.reference.contains('@') && d.reference != row.image {
                println!("         digest ref: {}", d.reference);
            }
        }
        Err(e) => println!("ERROR    {}  {e}", row.image),
    }
}
