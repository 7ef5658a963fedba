//! MTS-Dialog as a third check of section routing (issue 21): each short
//! dialogue comes with the one note section a clinician wrote from it
//! (GENHX, MEDICATIONS, EXAM, PLAN, …). Composed into the SOAP template, its
//! sentences should sit in the SOAP section that holds that kind of
//! content (history, medications, allergies, review of systems → SUBJECTIVE;
//! examination, imaging, labs → OBJECTIVE; assessment, diagnosis →
//! ASSESSMENT; plan → PLAN). Headers whose SOAP home is a matter of taste
//! (ED course, disposition, procedures) are left out. Speaker tags are
//! removed, as for ACI-Bench. Public data-set words; never run on real notes.
//!
//! `cargo run -p tacet-eval --example mts_routing -- CSV [CSV…]`
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture
use std::collections::BTreeMap;

fn expected(header: &str) -> Option<&'static str> {
    Some(match header {
        "FAM/SOCHX" | "GENHX" | "PASTMEDICALHX" | "CC" | "PASTSURGICAL" | "ALLERGY" | "ROS"
        | "MEDICATIONS" | "IMMUNIZATIONS" | "GYNHX" | "OTHER_HISTORY" => "SUBJECTIVE",
        "EXAM" | "IMAGING" | "LABS" => "OBJECTIVE",
        "ASSESSMENT" | "DIAGNOSIS" => "ASSESSMENT",
        "PLAN" => "PLAN",
        _ => return None,
    })
}

#[derive(Default)]
struct Tally {
    dialogues: usize,
    filled: usize,
    sentences: usize,
    routed: usize,
}

fn main() {
    let template =
        tacet_core::Template::from_toml(include_str!("../../../assets/templates/soap.toml"))
            .expect("the SOAP template");
    // `MTS_SHOW=EXAM` prints, for each dialogue of that header, the
    // sentences that landed outside the expected section.
    let show = std::env::var("MTS_SHOW").ok();
    for path in std::env::args().skip(1) {
        let mut rdr = csv::Reader::from_path(&path).expect("read the CSV");
        let mut by_section: BTreeMap<&'static str, Tally> = BTreeMap::new();
        let (mut roles_ok, mut roles_n) = (0, 0);
        for row in rdr.records() {
            let row = row.expect("a CSV row");
            let (header, dialogue) = (&row[1], &row[3]);
            // "Doctor: …" / "Patient: …" lines as the tagged turns the
            // ACI-Bench reader takes.
            let tagged: String = dialogue
                .lines()
                .map(|l| {
                    let l = l.trim();
                    match l.split_once(':') {
                        Some((who, rest)) if !who.contains(' ') && !who.is_empty() => {
                            format!("[{}] {}\n", who.to_lowercase(), rest.trim())
                        }
                        _ => format!("{l}\n"),
                    }
                })
                .collect();
            let tagged = tacet_eval::transcript_from_dialogue(&tagged);
            let (t, truth) = tacet_eval::untagged(&tagged);
            // Speaker roles over every dialogue, whatever its section.
            let (ok, n) = tacet_eval::role_accuracy(&t, &truth);
            roles_ok += ok;
            roles_n += n;
            let Some(home) = expected(header) else {
                continue;
            };
            let visit = tacet_facts::read_visit(&t, false);
            let note = tacet_facts::compose(&visit, &template);
            let tally = by_section.entry(home).or_default();
            tally.dialogues += 1;
            let mut any_home = false;
            for (heading, sentences) in &note.sections {
                tally.sentences += sentences.len();
                if heading == home {
                    tally.routed += sentences.len();
                    any_home |= !sentences.is_empty();
                } else if show.as_deref() == Some(header) {
                    for s in sentences {
                        eprintln!("{} {header} -> {heading}: {}", &row[0], s.text);
                    }
                }
            }
            tally.filled += usize::from(any_home);
        }
        println!("{path}");
        println!("| expected section | dialogues | expected section filled | sentences in it |");
        println!("|---|---|---|---|");
        let mut all = Tally::default();
        for (home, t) in &by_section {
            println!(
                "| {home} | {} | {}/{} ({:.1}%) | {}/{} ({:.1}%) |",
                t.dialogues,
                t.filled,
                t.dialogues,
                100.0 * t.filled as f64 / t.dialogues.max(1) as f64,
                t.routed,
                t.sentences,
                100.0 * t.routed as f64 / t.sentences.max(1) as f64
            );
            all.dialogues += t.dialogues;
            all.filled += t.filled;
            all.sentences += t.sentences;
            all.routed += t.routed;
        }
        println!(
            "| all | {} | {}/{} ({:.1}%) | {}/{} ({:.1}%) |",
            all.dialogues,
            all.filled,
            all.dialogues,
            100.0 * all.filled as f64 / all.dialogues.max(1) as f64,
            all.routed,
            all.sentences,
            100.0 * all.routed as f64 / all.sentences.max(1) as f64
        );
        println!(
            "speaker roles (tags removed, every dialogue): {roles_ok}/{roles_n} ({:.1}%)",
            100.0 * roles_ok as f64 / roles_n.max(1) as f64
        );
    }
}
