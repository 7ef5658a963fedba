//! The deterministic checks run on one sentence against the prepared
//! transcript. Each returns flags whose `detail` names the mismatch for the
//! clinician's review screen.

use std::collections::HashSet;

use crate::index::{
    dose_owner, eq_num, number_mentions, polarity_at, symptom_mentions, Index, Polarity,
};
use crate::lexicon::{self, DrugClass};
use crate::text::{stem, Tok};
use crate::{Flag, FlagKind};

fn fmt_num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn fmt_unit(v: f64, unit: Option<(&str, bool)>) -> String {
    match unit {
        Some((u, _)) => format!("{} {u}", fmt_num(v)),
        None => fmt_num(v),
    }
}

/// Segment indices of the evidence plus one neighbour each side.
fn near(evidence: &[usize], len: usize) -> HashSet<usize> {
    let mut s = HashSet::new();
    for &e in evidence {
        for k in e.saturating_sub(1)..=(e + 1).min(len.saturating_sub(1)) {
            s.insert(k);
        }
    }
    s
}

/// A dose the transcript gives a drug differently: (drug, the doses said
/// with it, segment index of the first).
type DrugConflict = (String, Vec<(f64, &'static str)>, usize);

/// Numbers, units and pairs ("120/80") must occur in the transcript.
pub(crate) fn numbers(toks: &[Tok], idx: &Index, evidence: &[usize], flags: &mut Vec<Flag>) {
    let (singles, pairs) = number_mentions(toks, 0);
    let nearby = near(evidence, idx.segs.len());
    let drugs: Vec<(usize, String)> = toks
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.word().map(|w| (i, w)))
        .filter(|(_, w)| lexicon::is_drug(w))
        .map(|(i, w)| (i, lexicon::generic(w)))
        .collect();
    for m in &singles {
        let same_value: Vec<_> = idx
            .numbers
            .iter()
            .filter(|n| eq_num(n.value, m.value))
            .collect();
        // A dose needs its unit (or a bare number in the linked evidence);
        // other units are often dropped in speech ("ninety eight point six").
        let ok = match m.unit {
            Some((u, true)) => same_value.iter().any(|n| {
                n.unit.map(|x| x.0) == Some(u) || (n.unit.is_none() && nearby.contains(&n.seg))
            }),
            Some((u, false)) => same_value.iter().any(|n| {
                n.unit.map(|x| x.0) == Some(u) || (n.unit.is_none() && nearby.contains(&n.seg))
            }),
            None => !same_value.is_empty(),
        };
        let is_dose = m.unit.is_some_and(|u| u.1);
        // A dose next to a drug must be a dose said with that drug, when the
        // transcript gives that drug any dose at all.
        let mut drug_conflict: Option<DrugConflict> = None;
        if is_dose {
            if let Some(d) = dose_owner(&drugs, m.pos) {
                if let Some(doses) = idx.drug_doses.get(&d) {
                    let unit = m.unit.map(|u| u.0).unwrap_or("");
                    let matches = doses
                        .iter()
                        .any(|(v, u, _)| eq_num(*v, m.value) && *u == unit);
                    if !doses.is_empty() && !matches {
                        drug_conflict = Some((
                            d.clone(),
                            doses.iter().map(|(v, u, _)| (*v, *u)).collect(),
                            doses[0].2,
                        ));
                    }
                }
            }
        }
        if ok && drug_conflict.is_none() {
            continue;
        }
        let kind = if is_dose {
            FlagKind::DoseMismatch
        } else {
            FlagKind::NumberMismatch
        };
        let what = if is_dose { "dose" } else { "number" };
        let said = fmt_unit(m.value, m.unit);
        if let Some((drug, values, seg)) = drug_conflict {
            let list: Vec<String> =
                dedup(values.iter().map(|(v, u)| format!("{} {u}", fmt_num(*v))));
            flags.push(Flag::new(
                kind,
                format!(
                    "{what} {said} for {drug} is not what the transcript says ({})",
                    list.join(", ")
                ),
                Some(idx.segs[seg].id),
            ));
            continue;
        }
        // Name what the transcript has nearby with a compatible unit.
        let compatible: Vec<&crate::index::NumMention> = idx
            .numbers
            .iter()
            .filter(|n| n.unit.map(|u| u.0) == m.unit.map(|u| u.0))
            .collect();
        let local: Vec<_> = compatible
            .iter()
            .filter(|n| nearby.contains(&n.seg))
            .collect();
        let pick: Vec<_> = if local.is_empty() {
            compatible.iter().take(3).collect()
        } else {
            local.into_iter().take(3).collect()
        };
        let detail = if pick.is_empty() {
            format!("{what} {said} is not in the transcript")
        } else {
            let list = dedup(pick.iter().map(|n| fmt_unit(n.value, n.unit)));
            format!(
                "{what} {said} is not in the transcript (transcript says {})",
                list.join(", ")
            )
        };
        flags.push(Flag::new(
            kind,
            detail,
            pick.first().map(|n| idx.segs[n.seg].id),
        ));
    }
    for &(a, b) in &pairs {
        if idx
            .pairs
            .iter()
            .any(|&(x, y, _)| eq_num(x, a) && eq_num(y, b))
        {
            continue;
        }
        let local: Vec<_> = idx.pairs.iter().filter(|p| nearby.contains(&p.2)).collect();
        let pick: Vec<_> = if local.is_empty() {
            idx.pairs.iter().take(3).collect()
        } else {
            local.into_iter().take(3).collect()
        };
        let detail = if pick.is_empty() {
            format!("{}/{} is not in the transcript", fmt_num(a), fmt_num(b))
        } else {
            let list = dedup(
                pick.iter()
                    .map(|p| format!("{}/{}", fmt_num(p.0), fmt_num(p.1))),
            );
            format!(
                "{}/{} is not in the transcript (transcript says {})",
                fmt_num(a),
                fmt_num(b),
                list.join(", ")
            )
        };
        flags.push(Flag::new(
            FlagKind::NumberMismatch,
            detail,
            pick.first().map(|p| idx.segs[p.2].id),
        ));
    }
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Side {
    Left,
    Right,
    Bilateral,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Left => "left",
            Side::Right => "right",
            Side::Bilateral => "bilateral",
        }
    }
}

/// The side a token names, if it names one ("right" as in "all right" or
/// "right?" does not).
fn side_at(toks: &[Tok], i: usize) -> Option<Side> {
    let w = toks[i].word()?;
    match w {
        "left" => {
            // "i left", "days left", "left the office": the verb.
            let prev = i.checked_sub(1).and_then(|k| toks[k].word());
            if matches!(
                prev,
                Some("i" | "he" | "she" | "they" | "we" | "you" | "was" | "is")
            ) {
                return None;
            }
            match toks.get(i + 1) {
                None | Some(Tok::Sym(_)) => None,
                Some(Tok::Word(n))
                    if matches!(
                        n.as_str(),
                        "the"
                            | "it"
                            | "him"
                            | "her"
                            | "them"
                            | "for"
                            | "to"
                            | "with"
                            | "and"
                            | "over"
                            | "home"
                            | "work"
                            | "me"
                            | "us"
                            | "a"
                            | "an"
                            | "in"
                            | "on"
                            | "at"
                            | "out"
                            | "behind"
                            | "alone"
                    ) =>
                {
                    None
                }
                _ => Some(Side::Left),
            }
        }
        "right" => {
            let prev = i.checked_sub(1).and_then(|k| toks[k].word());
            let next = toks.get(i + 1);
            if matches!(
                prev,
                Some("all" | "that's" | "is" | "you're" | "alright" | "exactly" | "yeah" | "okay")
            ) {
                return None;
            }
            match next {
                None | Some(Tok::Sym(_)) => None,
                Some(Tok::Word(n))
                    if matches!(
                        n.as_str(),
                        "now"
                            | "away"
                            | "here"
                            | "there"
                            | "so"
                            | "after"
                            | "before"
                            | "and"
                            | "on"
                            | "in"
                            | "at"
                            | "over"
                            | "under"
                            | "about"
                            | "back"
                            | "where"
                    ) =>
                {
                    None
                }
                _ => Some(Side::Right),
            }
        }
        "bilateral" | "bilaterally" => Some(Side::Bilateral),
        _ => None,
    }
}

fn is_side_filler(w: &str) -> bool {
    matches!(
        w,
        "side"
            | "sided"
            | "sides"
            | "lower"
            | "upper"
            | "left"
            | "right"
            | "bilateral"
            | "medial"
            | "lateral"
            | "proximal"
            | "distal"
            | "anterior"
            | "posterior"
            | "inner"
            | "outer"
            | "hand"
    )
}

/// A side word negated in place ("not the right knee").
fn side_negated(toks: &[Tok], i: usize) -> bool {
    toks[i.saturating_sub(3)..i]
        .iter()
        .filter_map(Tok::word)
        .any(|w| w == "not" || w == "no" || w.ends_with("n't"))
}

/// Left/right/bilateral in the sentence against the transcript near the
/// same body word.
pub(crate) fn laterality(toks: &[Tok], idx: &Index, evidence: &[usize], flags: &mut Vec<Flag>) {
    let nearby = near(evidence, idx.segs.len());
    for i in 0..toks.len() {
        let Some(side) = side_at(toks, i) else {
            continue;
        };
        // Anchors: the next two content words ("left lower extremity"), or
        // the previous one for "bilateral" after its noun ("edema bilateral").
        // The body word: the first content word after the side that the
        // transcript says (or a plain word for it), else the next one.
        let candidates: Vec<&str> = toks[i + 1..]
            .iter()
            .take(5)
            .filter_map(Tok::word)
            .filter(|w| !crate::text::is_stopword(w) && !is_side_filler(w) && w.len() > 2)
            .take(2)
            .collect();
        let said = |w: &str| -> Vec<String> {
            let mut keys = vec![stem(w)];
            keys.extend(lexicon::plain_words(w).iter().map(|p| stem(p)));
            let mut v: Vec<String> = keys
                .iter()
                .flat_map(|k| idx.matching_ids(k))
                .filter_map(|id| idx.vocab_words.get(id as usize).cloned())
                .collect();
            v.sort();
            v.dedup();
            v
        };
        let mut anchors: Vec<String> = candidates
            .iter()
            .map(|w| said(w))
            .find(|v| !v.is_empty())
            .unwrap_or_default();
        if side == Side::Bilateral || anchors.is_empty() {
            if let Some(prev) = toks[..i]
                .iter()
                .rev()
                .take(3)
                .filter_map(Tok::word)
                .find(|w| !crate::text::is_stopword(w) && w.len() > 2)
            {
                anchors.push(stem(prev));
            }
        }
        let mut global: HashSet<Side> = HashSet::new();
        let mut local: HashSet<Side> = HashSet::new();
        let mut where_seen: Option<(Side, usize)> = None;
        if anchors.is_empty() {
            // The body word is never said: fall back to the sides named in
            // the linked evidence.
            for &si in evidence {
                let st = &idx.segs[si].toks;
                for k in 0..st.len() {
                    if side_negated(st, k) {
                        continue;
                    }
                    if let Some(sd) = side_at(st, k) {
                        local.insert(sd);
                        if sd != side && where_seen.is_none() {
                            where_seen = Some((sd, si));
                        }
                    }
                }
            }
        }
        for (si, seg) in idx.segs.iter().enumerate() {
            let st = &seg.toks;
            for (j, t) in st.iter().enumerate() {
                let Some(w) = t.word() else { continue };
                let s = stem(w);
                if !anchors.contains(&s) {
                    continue;
                }
                let lo = j.saturating_sub(6);
                let hi = (j + 4).min(st.len());
                for k in lo..hi {
                    if side_negated(st, k) {
                        continue;
                    }
                    if let Some(sd) = side_at(st, k) {
                        global.insert(sd);
                        if nearby.contains(&si) {
                            local.insert(sd);
                        }
                        if sd != side && where_seen.is_none() {
                            where_seen = Some((sd, si));
                        }
                    }
                }
            }
        }
        let conflicts = |found: &HashSet<Side>| -> bool {
            if found.is_empty() || found.contains(&side) {
                return false;
            }
            match side {
                Side::Left => found.contains(&Side::Right) && !found.contains(&Side::Bilateral),
                Side::Right => found.contains(&Side::Left) && !found.contains(&Side::Bilateral),
                Side::Bilateral => found.len() == 1,
            }
        };
        if conflicts(&global) || conflicts(&local) {
            let (other, seg) = where_seen.unwrap_or((side, 0));
            flags.push(Flag::new(
                FlagKind::Laterality,
                format!(
                    "the note says {} but the transcript says {} for the same finding",
                    side.name(),
                    other.name()
                ),
                idx.segs.get(seg).map(|s| s.id),
            ));
            return;
        }
    }
}

/// A finding asserted where the transcript negates it, or the reverse.
pub(crate) fn negation(toks: &[Tok], idx: &Index, evidence: &[usize], flags: &mut Vec<Flag>) {
    // Only the linked segments themselves: an answer's polarity is already
    // attached to the question's segment.
    let nearby: HashSet<usize> = evidence.iter().copied().collect();
    let mut seen_groups = HashSet::new();
    for (g, start, len) in symptom_mentions(toks) {
        if !seen_groups.insert(g) {
            continue;
        }
        let Some(p) = polarity_at(toks, start, len, true) else {
            continue;
        };
        let mentions = &idx.symptoms[g];
        let global: HashSet<Polarity> = mentions.iter().map(|m| m.1).collect();
        let local: HashSet<Polarity> = mentions
            .iter()
            .filter(|m| nearby.contains(&m.0))
            .map(|m| m.1)
            .collect();
        let conflict = (!global.is_empty() && !global.contains(&p))
            || (!local.is_empty() && !local.contains(&p));
        if !conflict {
            continue;
        }
        let seg = mentions
            .iter()
            .find(|m| m.1 != p && nearby.contains(&m.0))
            .or_else(|| mentions.iter().find(|m| m.1 != p))
            .map(|m| idx.segs[m.0].id);
        let name = lexicon::SYMPTOMS[g][0];
        let detail = match p {
            Polarity::Affirmed => {
                format!("the note states {name} is present; the transcript says it is absent")
            }
            Polarity::Negated => {
                format!("the note states {name} is absent; the transcript says it is present")
            }
        };
        flags.push(Flag::new(FlagKind::Negation, detail, seg));
    }
}

fn documents_allergy(toks: &[Tok]) -> bool {
    toks.iter().filter_map(Tok::word).any(|w| {
        w.starts_with("allerg")
            || w.starts_with("intoleran")
            || w.starts_with("anaphyla")
            || w.starts_with("contraindicat")
            || matches!(w, "avoid" | "reaction" | "reactions" | "hives")
    })
}

fn drug_negated(toks: &[Tok], i: usize) -> bool {
    toks[i.saturating_sub(4)..i]
        .iter()
        .filter_map(Tok::word)
        .any(|w| {
            matches!(
                w,
                "no" | "not"
                    | "stop"
                    | "stopped"
                    | "discontinue"
                    | "discontinued"
                    | "hold"
                    | "held"
                    | "avoid"
                    | "instead"
                    | "without"
                    | "never"
            ) || w.ends_with("n't")
        })
}

/// A drug the patient said they are allergic to, or one of its class.
pub(crate) fn allergy(toks: &[Tok], idx: &Index, flags: &mut Vec<Flag>) {
    if idx.allergens.is_empty() || documents_allergy(toks) {
        return;
    }
    for (i, t) in toks.iter().enumerate() {
        let Some(w) = t.word() else { continue };
        let is_drugish = lexicon::is_drug(w) || lexicon::class_of(w).is_some();
        if !is_drugish || drug_negated(toks, i) {
            continue;
        }
        let g = lexicon::generic(w);
        let class = lexicon::class_of(w);
        for (allergen, a_class, seg) in &idx.allergens {
            let seg_id = idx.segs.get(*seg).map(|s| s.id);
            let same = *allergen == g || (class.is_some() && class == *a_class);
            if same {
                let via = if *allergen == g {
                    String::new()
                } else {
                    format!(
                        " ({} is one of the {})",
                        w,
                        class.map(DrugClass::name).unwrap_or("")
                    )
                };
                flags.push(Flag::new(
                    FlagKind::AllergyConflict,
                    format!(
                        "the patient said they are allergic to {allergen}; the note names {w}{via}"
                    ),
                    seg_id,
                ));
                return;
            }
            if *a_class == Some(DrugClass::Penicillins) && class == Some(DrugClass::Cephalosporins)
            {
                flags.push(Flag::new(
                    FlagKind::AllergyConflict,
                    format!(
                        "lower severity: the patient said they are allergic to {allergen}; \
                         {w} is a cephalosporin, which can cross-react with penicillins"
                    ),
                    seg_id,
                ));
                return;
            }
        }
    }
}

fn edit_distance_at_most(a: &str, b: &str, max: usize) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        if cur.iter().min().copied().unwrap_or(0) > max {
            return false;
        }
        prev = cur;
    }
    prev[b.len()] <= max
}

/// A drug named in the note but never in the transcript.
pub(crate) fn unknown_medication(toks: &[Tok], idx: &Index, flags: &mut Vec<Flag>) {
    let mut done = HashSet::new();
    for t in toks {
        let Some(w) = t.word() else { continue };
        if !lexicon::is_drug(w) || !done.insert(w.to_string()) {
            continue;
        }
        let g = lexicon::generic(w);
        if idx.words.contains(w) || idx.drug_generics.contains_key(&g) {
            continue;
        }
        // Transcription misspells drug names: allow one or two edits.
        let max = if w.chars().count() >= 8 { 2 } else { 1 };
        if w.chars().count() >= 5
            && idx
                .words
                .iter()
                .any(|x| x.chars().count() >= 4 && edit_distance_at_most(w, x, max))
        {
            continue;
        }
        flags.push(Flag::new(
            FlagKind::UnknownMedication,
            format!("medication {w} is not mentioned in the transcript"),
            None,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance() {
        assert!(edit_distance_at_most("lisinopril", "lisinipril", 2));
        assert!(!edit_distance_at_most("lisinopril", "losartan", 2));
        assert!(edit_distance_at_most("abc", "abc", 0));
    }
}
