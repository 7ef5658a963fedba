//! Prints the grounding evaluation table (docs/EVAL.md, "Grounding checks"):
//! `cargo run -p tacet-ground --example grounding_eval`.

#[path = "../tests/support/eval.rs"]
mod eval;

fn main() {
    let path = match eval::data_path() {
        Ok(p) => p,
        Err(why) => {
            println!("skipping the grounding evaluation: {why}");
            return;
        }
    };
    let encounters = match eval::load(&path) {
        Ok(e) => e,
        Err(why) => {
            eprintln!("cannot read the evaluation set: {why}");
            std::process::exit(1);
        }
    };
    let started = std::time::Instant::now();
    let counts = eval::run(&encounters);
    println!(
        "Grounding checks on {} (seed {:#x}, up to {} injections per note and type)\n",
        path.canonicalize().unwrap_or(path.clone()).display(),
        eval::SEED,
        eval::PER_NOTE
    );
    print!("{}", eval::table(&counts));
    println!("\n{:.1} s", started.elapsed().as_secs_f64());
}
