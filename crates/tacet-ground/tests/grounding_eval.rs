//! Issue #4 part 4's measurement as a test: recall of injected false facts
//! and the flag rate on untouched ACI-Bench reference sentences.

mod support;

use support::eval;

#[test]
fn grounding_catches_injected_facts() {
    let path = match eval::data_path() {
        Ok(p) => p,
        Err(why) => {
            println!("skipping: {why}");
            return;
        }
    };
    let encounters = eval::load(&path).unwrap();
    assert!(!encounters.is_empty());
    let c = eval::run(&encounters);
    println!("{}", eval::table(&c));
    assert_eq!(c.misaligned, 0, "injected sentences must be found again");
    // Goals of issue #4: recall >= 97%, untouched flag rate <= 10%.
    assert!(c.recall(None) >= 0.97, "recall {:.3}", c.recall(None));
    assert!(c.untouched_rate() <= 0.10, "untouched rate {:.3}", c.untouched_rate());
}
