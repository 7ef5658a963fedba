//! Issue #4 part 4's measurement as a test: recall of injected false facts
//! and the flag rate on untouched ACI-Bench reference sentences. Skips with
//! a printed reason when the data is absent.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

mod support;

use support::eval;

/// Runs the measurement on one split and holds it to the given limits:
/// the largest untouched flag rate, the smallest overall recall, and a
/// recall floor per injection kind.
fn hold_split(
    file: &str,
    untouched_max: f64,
    recall_min: f64,
    floors: [(eval::Injection, f64); 4],
) {
    hold(eval::split_path(file), untouched_max, recall_min, floors);
}

fn hold(
    path: Result<std::path::PathBuf, String>,
    untouched_max: f64,
    recall_min: f64,
    floors: [(eval::Injection, f64); 4],
) {
    let path = match path {
        Ok(p) => p,
        Err(why) => {
            tacet_tests::skip(&why);
            return;
        }
    };
    let encounters = eval::load(&path).unwrap();
    assert!(!encounters.is_empty());
    let c = eval::run(&encounters);
    println!("{}", eval::table(&c));
    assert_eq!(c.misaligned, 0, "injected sentences must be found again");
    // Every flag that says the transcript contradicts the note names the
    // segment that does (issue 24, part 4), for the review screen to show.
    assert!(c.contradictions > 0);
    assert_eq!(c.contradictions_with_segment, c.contradictions);
    assert!(
        c.untouched_rate() <= untouched_max,
        "untouched rate {:.3}",
        c.untouched_rate()
    );
    assert!(c.recall(None) >= recall_min, "recall {:.3}", c.recall(None));
    for (k, floor) in floors {
        assert!(
            c.recall(Some(k)) >= floor,
            "{}: recall {:.3} fell below {floor}",
            k.name(),
            c.recall(Some(k))
        );
    }
}

/// Goals of issue #4 on valid.csv: recall >= 97%, untouched flag rate
/// <= 10%. Both are met (98.4%, 9.2%); the per-kind floors sit just below
/// what was reached so that none regresses silently.
#[test]
fn grounding_catches_injected_facts() {
    hold_split(
        "valid.csv",
        0.10,
        0.97,
        [
            (eval::Injection::WrongDose, 0.98),
            (eval::Injection::WrongSide, 0.96),
            (eval::Injection::NegatedSymptom, 0.90),
            (eval::Injection::InventedMedication, 0.99),
        ],
    );
}

/// The same measurement on `train.csv` (67 encounters), which the checks
/// were not tuned on first: a guard against rules that only fit valid.csv.
/// Train is harder (more two-sided visits); its figures are held, not the
/// issue's goals (docs/EVAL.md).
#[test]
fn grounding_holds_on_the_train_split() {
    hold_split(
        "train.csv",
        0.10,
        0.93,
        [
            (eval::Injection::WrongDose, 0.95),
            (eval::Injection::WrongSide, 0.86),
            (eval::Injection::NegatedSymptom, 0.86),
            (eval::Injection::InventedMedication, 0.99),
        ],
    );
}

/// Issue 24, part 3: a second set, from MTS-Dialog (each dialogue with the
/// one note section a clinician wrote from it; the same injections). Its
/// notes often state what their short dialogue never says (ages, dates,
/// "Noncontributory."), so the untouched rate is far above ACI-Bench's
/// (docs/EVAL.md); the figures reached are held here, not the goals.
#[test]
fn grounding_holds_on_mts_dialog() {
    hold(
        eval::mts_path("MTS-Dialog-ValidationSet.csv"),
        0.23,
        0.98,
        [
            (eval::Injection::WrongDose, 0.95),
            (eval::Injection::WrongSide, 0.80),
            (eval::Injection::NegatedSymptom, 0.90),
            (eval::Injection::InventedMedication, 0.99),
        ],
    );
    hold(
        eval::mts_path("MTS-Dialog-TrainingSet.csv"),
        0.22,
        0.98,
        [
            (eval::Injection::WrongDose, 0.97),
            (eval::Injection::WrongSide, 0.85),
            (eval::Injection::NegatedSymptom, 0.83),
            (eval::Injection::InventedMedication, 0.99),
        ],
    );
}
