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
    // Goals of issue #4: recall >= 97%, untouched flag rate <= 10%. The
    // flag-rate goal is met; recall is not yet (docs/EVAL.md says why), so
    // recall is held at what was reached: these floors must not regress.
    assert!(
        c.untouched_rate() <= 0.10,
        "untouched rate {:.3}",
        c.untouched_rate()
    );
    assert!(c.recall(None) >= 0.90, "recall {:.3}", c.recall(None));
    for (k, floor) in [
        (eval::Injection::WrongDose, 0.94),
        (eval::Injection::WrongSide, 0.80),
        (eval::Injection::NegatedSymptom, 0.76),
        (eval::Injection::InventedMedication, 0.99),
    ] {
        assert!(
            c.recall(Some(k)) >= floor,
            "{}: recall {:.3} fell below {floor}",
            k.name(),
            c.recall(Some(k))
        );
    }
}
