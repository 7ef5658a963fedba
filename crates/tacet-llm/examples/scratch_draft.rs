use std::sync::atomic::AtomicBool;
use tacet_core::ports::{DraftProgress, Drafter};
use tacet_core::template::{Template, TemplateSection};
use tacet_core::transcript::{Segment, Transcript};
use tacet_llm::{GgufDrafter, LlmOptions, ModelInfo};
fn main() {
    let path = tacet_llm::cache_root().unwrap().join("files/SmolLM2-135M-Instruct.Q4_1.gguf");
    let mut d = GgufDrafter::load(&path, ModelInfo { id: "x".into(), sha256: "y".into() }, LlmOptions::default()).unwrap();
    let s = |h: &str, g: &str| TemplateSection { heading: h.into(), guidance: g.into() };
    let t = Template { id: "soap".into(), version: 1, name: "SOAP".into(), loinc: None, sections: vec![
        s("SUBJECTIVE", "The patient's own account: complaint, history, symptoms."),
        s("OBJECTIVE", "Examination findings and vital signs."),
        s("ASSESSMENT", "The clinician's impression or diagnosis."),
        s("PLAN", "Tests, treatment, follow-up.")]};
    let lines = ["Hi, what brings you in today?","My right knee has been hurting for about three weeks.","Did you injure it?","I twisted it playing football. It is worse on stairs.","Any swelling?","A little in the evenings.","On examination there is mild swelling and tenderness on the inner side of the right knee.","Blood pressure is 128 over 82.","This looks like a sprain of the medial ligament.","Take ibuprofen 400 milligrams three times a day with food, rest it, and come back in two weeks."];
    let tr = Transcript { language: "en".into(), model_sha256: String::new(), segments: lines.iter().enumerate().map(|(i, l)| Segment { id: i as u32, start_ms: i as u64 * 6000, end_ms: i as u64 * 6000 + 5000, speaker: None, text: l.to_string(), confidence: 1.0 }).collect() };
    let t0 = std::time::Instant::now();
    let draft = d.draft(&tr, &t, &mut |p| match p { DraftProgress::Section(h) => print!("\n[{h}] "), DraftProgress::Token(x) => print!("{x}") }, &AtomicBool::new(false)).unwrap();
    println!("\n---\n{}\n{:?}\n{:.1}s", draft.render_text(), draft.provenance, t0.elapsed().as_secs_f64());
}
