#[path = "../tests/support/eval.rs"]
mod eval;
use tacet_ground::*;
fn main() {
    let path = eval::data_path().unwrap();
    let encs = eval::load(&path).unwrap();
    let mode = std::env::args().nth(1).unwrap_or_default();
    if mode == "missed" {
        let c = eval::run(&encs);
        for (k, t) in &c.missed { println!("{:?} :: {}", k, t); }
        return;
    }
    for e in &encs {
        let g = ground(&e.draft, &e.transcript);
        for s in &g.sentences {
            for f in &s.flags {
                if mode.is_empty() || f.kind.label() == mode {
                    println!("[{}] {} :: {} :: {}", e.id, f.kind.label(), s.text, f.detail);
                }
            }
        }
    }
}
