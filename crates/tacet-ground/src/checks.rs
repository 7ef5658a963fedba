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
        // A bare spoken "one" is mostly a pronoun ("the right one", "one of
        // them"): it does not stand for a number with a unit.
        let bare_ok = |n: &crate::index::NumMention| {
            n.unit.is_none() && nearby.contains(&n.seg) && !eq_num(n.value, 1.0)
        };
        let ok = match m.unit {
            Some((u, _)) => same_value
                .iter()
                .any(|n| n.unit.map(|x| x.0) == Some(u) || bare_ok(n)),
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
pub(crate) enum Side {
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

/// "left-sided", "on the left.": a side word before a hyphen or at the end
/// of a clause names a side only when it is "-sided" or follows "the"
/// (so "all right." and "right?" do not).
fn side_word_at_end(toks: &[Tok], i: usize) -> bool {
    match toks.get(i + 1) {
        Some(Tok::Sym('-')) => {
            matches!(toks.get(i + 2).and_then(Tok::word), Some("sided" | "side"))
        }
        None | Some(Tok::Sym(_)) => i.checked_sub(1).and_then(|k| toks[k].word()) == Some("the"),
        _ => false,
    }
}

/// "the right and", "your left for": after an article or a possessive a
/// side word is a side whatever follows.
fn after_determiner(toks: &[Tok], i: usize) -> bool {
    matches!(
        i.checked_sub(1).and_then(|k| toks[k].word()),
        Some("the" | "your" | "my" | "his" | "her")
    )
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
                None | Some(Tok::Sym(_)) => side_word_at_end(toks, i).then_some(Side::Left),
                _ if after_determiner(toks, i) => Some(Side::Left),
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
                None | Some(Tok::Sym(_)) => side_word_at_end(toks, i).then_some(Side::Right),
                _ if after_determiner(toks, i) => Some(Side::Right),
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

/// Words after (or, for a side at a clause's end, before) a side word that
/// say what the side is about: "left lower extremity" → extremity, "CVA
/// tenderness on the left" → tenderness, cva. At most two content words,
/// within the same clause ("left knee and right hip" stops at "and").
fn side_subject(toks: &[Tok], i: usize) -> Vec<String> {
    fn breaks(t: &Tok) -> bool {
        match t {
            Tok::Sym(c) => *c != '-' && *c != '/',
            Tok::Word(w) => matches!(
                w.as_str(),
                "and" | "or" | "but" | "versus" | "vs" | "than" | "compared" | "while"
            ),
            Tok::Num(_) => false,
        }
    }
    fn content(t: &Tok) -> Option<String> {
        let w = t.word()?;
        (!crate::text::is_stopword(w) && !is_side_filler(w) && w.chars().count() > 2)
            .then(|| stem(w))
    }
    let word = |j: usize| toks.get(j).and_then(Tok::word);
    // "on the right (side)." is about what comes before it, unless "side of
    // the chest" follows.
    let after_the = i >= 2
        && word(i - 1) == Some("the")
        && matches!(word(i - 2), Some("on" | "to" | "at" | "in"));
    let side_then_of = matches!(word(i + 1), Some("side" | "sided")) && word(i + 2) == Some("of");
    let backward_first = after_the
        && !side_then_of
        && (matches!(word(i + 1), Some("side" | "sided")) || word(i + 1).is_none());
    let mut out = Vec::new();
    if !backward_first {
        // The phrase after the side: up to six tokens, ended by a clause
        // break, or by a preposition once a content word was passed ("left
        // base on your lung exam" is about the base; "left side of the
        // chest" about the chest).
        let mut ahead: Vec<&Tok> = Vec::new();
        for (j, t) in toks.iter().enumerate().skip(i + 1).take(6) {
            // Another side on the way is nearer to what follows it: "landed
            // right onto my left foot" is about the left foot.
            if breaks(t) || side_at(toks, j).is_some_and(|s| s != Side::Bilateral) {
                break;
            }
            let is_prep = t
                .word()
                .is_some_and(|w| matches!(w, "on" | "in" | "at" | "of" | "with" | "to" | "for"));
            if is_prep && ahead.iter().any(|a| content(a).is_some()) {
                break;
            }
            ahead.push(t);
        }
        // A body part in reach is what the side is about ("left non-healing
        // diabetic foot ulcer"); else the next two content words.
        out = ahead
            .iter()
            .filter_map(|t| t.word())
            .filter(|w| lexicon::is_body_part(w))
            .map(stem)
            .collect();
        if out.is_empty() {
            out = ahead.iter().filter_map(|t| content(t)).take(2).collect();
        }
    }
    if out.is_empty() {
        for t in toks[..i].iter().rev().take(4) {
            if breaks(t) || out.len() == 2 {
                break;
            }
            out.extend(content(t));
        }
    }
    if !side_then_of && matches!(word(i + 1), Some("side" | "sided" | "sides")) {
        // "all around on my left side", "aching along my right side": a side
        // of the body as well as whatever it is said of.
        out.push(SIDE_OF_BODY.to_string());
    }
    out
}

/// The subject of a side said of the body as a whole ("my left side").
pub(crate) const SIDE_OF_BODY: &str = "side";

/// A side named in a segment and what it is about.
#[derive(Clone, Debug)]
pub(crate) struct SideMention {
    pub side: Side,
    pub seg: usize,
    /// Stems of the words the side qualifies ([`side_subject`]).
    pub subject: Vec<String>,
    /// The body part was borrowed from the turn before (a bare "right." in
    /// answer): enough to say which side, too weak to outvote.
    pub borrowed: bool,
}

/// The sides a segment names, leaving out negated ones ("not the right
/// knee") and choices offered in a question ("left or right?").
pub(crate) fn side_mentions(toks: &[Tok], seg: usize) -> Vec<SideMention> {
    let mut out = Vec::new();
    for k in 0..toks.len() {
        let Some(side) = side_at(toks, k) else {
            continue;
        };
        if side_negated(toks, k) {
            continue;
        }
        let is_side_word = |j: usize| {
            toks.get(j)
                .and_then(Tok::word)
                .is_some_and(|w| matches!(w, "left" | "right"))
        };
        let next_or = toks.get(k + 1).and_then(Tok::word) == Some("or");
        let prev_or = k > 0 && toks[k - 1].word() == Some("or");
        if (next_or && is_side_word(k + 2)) || (prev_or && k >= 2 && is_side_word(k - 2)) {
            continue;
        }
        out.push(SideMention {
            side,
            seg,
            subject: side_subject(toks, k),
            borrowed: false,
        });
    }
    out
}

/// Whether a transcript stem names the same thing as a note word's stem or
/// one of its plain-language words.
fn same_subject(note: &[String], said: &str) -> bool {
    note.iter().any(|n| {
        n == said || {
            let (s, l) = if n.len() <= said.len() {
                (n.as_str(), said)
            } else {
                (said, n.as_str())
            };
            s.chars().count() >= 5 && l.starts_with(s)
        }
    })
}

/// Left/right/bilateral in the sentence against what the transcript says
/// about the same body part: the side the note gives is contradicted when
/// the transcript gives that body part only the other side, or the other
/// side at least twice as often and at least twice (a transcript that says
/// "right knee" twice and "left knee" once is about the right knee), or when
/// the linked evidence gives it only the other side. A body part the
/// transcript never names with a side is checked the same way against the
/// sides the whole visit gives to body parts: a note's "left" where the
/// transcript names only "right" is flagged. "Bilateral" is contradicted
/// only by the same body part said with one side.
pub(crate) fn laterality(toks: &[Tok], idx: &Index, evidence: &[usize], flags: &mut Vec<Flag>) {
    let linked: HashSet<usize> = evidence.iter().copied().collect();
    let mentions = side_mentions(toks, 0);
    // "4/5 on the left and 5/5 on the right": a sentence naming both sides
    // is only checked per body part.
    let both_sides = mentions.iter().any(|m| m.side == Side::Left)
        && mentions.iter().any(|m| m.side == Side::Right);
    for m in mentions {
        // The note's body words with their plain-language alternatives.
        // A side of the body is about a body part only when the note names
        // none ("pain on his left side"); else the part it names decides.
        let mut subject: Vec<String> = m.subject.clone();
        if subject.len() > 1 {
            subject.retain(|w| w != SIDE_OF_BODY);
        }
        for w in toks.iter().filter_map(Tok::word) {
            if m.subject.contains(&stem(w)) {
                subject.extend(lexicon::plain_words(w).iter().map(|p| stem(p)));
            }
        }
        let about: Vec<&SideMention> = idx
            .sides
            .iter()
            .filter(|s| s.subject.iter().any(|w| same_subject(&subject, w)))
            .collect();
        let count = |v: &[&SideMention], s: Side, all: bool| {
            v.iter()
                .filter(|x| x.side == s && (all || !x.borrowed))
                .count()
        };
        let verdict = |v: &[&SideMention], majority: bool| -> bool {
            let sides = |all: bool| {
                (
                    count(v, Side::Left, all),
                    count(v, Side::Right, all),
                    count(v, Side::Bilateral, all),
                )
            };
            let ((l, r, b), (ol, or, ob)) = (sides(true), sides(false));
            let ((mine, other), (own_mine, own_other)) = match m.side {
                Side::Left => ((l + b, r), (ol + ob, or)),
                Side::Right => ((r + b, l), (or + ob, ol)),
                // Bilateral: contradicted when only one side is named.
                Side::Bilateral => return b == 0 && (l == 0) != (r == 0),
            };
            // Outvoted: the other side said at least twice as often, and at
            // least twice, by mentions that name their body part.
            let outvoted = majority && own_other >= 2 * own_mine && own_other >= 2;
            (mine == 0 && other > 0) || outvoted
        };
        let local: Vec<&SideMention> = about
            .iter()
            .copied()
            .filter(|s| linked.contains(&s.seg))
            .collect();
        let mut conflict = verdict(&about, true) || verdict(&local, false);
        if about.is_empty() && m.side != Side::Bilateral && !both_sides {
            // Nothing said about this body part with a side: the visit's
            // sides as a whole.
            let all: Vec<&SideMention> = idx
                .sides
                .iter()
                .filter(|s| {
                    s.side != Side::Bilateral
                        && s.subject
                            .iter()
                            .any(|w| lexicon::is_body_part(w) || w == SIDE_OF_BODY)
                })
                .collect();
            conflict = verdict(&all, true);
        }
        if !conflict {
            continue;
        }
        let shown = about
            .iter()
            .copied()
            .find(|s| s.side != m.side)
            .or_else(|| {
                idx.sides
                    .iter()
                    .find(|s| s.side != m.side && !s.subject.is_empty())
            });
        let other = shown.map(|s| s.side.name()).unwrap_or("the other side");
        flags.push(Flag::new(
            FlagKind::Laterality,
            format!(
                "the note says {} but the transcript says {} for the same finding",
                m.side.name(),
                other
            ),
            shown.and_then(|s| idx.segs.get(s.seg)).map(|s| s.id),
        ));
        return;
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
        let name = &lexicon::symptoms()[g][0];
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

    use crate::text::tokenize;

    fn subjects(text: &str) -> Vec<(Side, Vec<String>)> {
        side_mentions(&tokenize(text), 0)
            .into_iter()
            .map(|m| (m.side, m.subject))
            .collect()
    }

    #[test]
    fn sides_and_what_they_qualify() {
        assert_eq!(
            subjects("left lower extremity edema"),
            vec![(Side::Left, vec![stem("extremity")])]
        );
        assert_eq!(
            subjects("left non-healing diabetic foot ulcer"),
            vec![(Side::Left, vec![stem("foot")])]
        );
        assert_eq!(
            subjects("cva tenderness on the right."),
            vec![(Side::Right, vec![stem("tenderness"), stem("cva")])]
        );
        assert_eq!(
            subjects("erythema on the right side of the chest"),
            vec![(Side::Right, vec![stem("chest")])]
        );
        assert_eq!(
            subjects("a murmur at the left base on your lung exam"),
            vec![(Side::Left, vec![stem("base")])]
        );
        assert_eq!(
            subjects("right-sided abdominal pain"),
            vec![(Side::Right, vec![stem("abdominal")])]
        );
        // Choices, negated sides and "all right" are not sides.
        assert!(subjects("which wrist left or right").is_empty());
        assert!(subjects("not the right knee").is_empty());
        assert!(subjects("all right, okay.").is_empty());
        // "left knee and right hip": each side its own body part.
        assert_eq!(
            subjects("left knee and right hip"),
            vec![
                (Side::Left, vec![stem("knee")]),
                (Side::Right, vec![stem("hip")])
            ]
        );
    }

    #[test]
    fn edit_distance() {
        assert!(edit_distance_at_most("lisinopril", "lisinipril", 2));
        assert!(!edit_distance_at_most("lisinopril", "losartan", 2));
        assert!(edit_distance_at_most("abc", "abc", 0));
    }
}

/// A vital sign a note can state, by the words that name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Vital {
    Temperature,
    HeartRate,
    RespiratoryRate,
    OxygenSaturation,
    BloodPressure,
}

impl Vital {
    fn name(self) -> &'static str {
        match self {
            Vital::Temperature => "temperature",
            Vital::HeartRate => "heart rate",
            Vital::RespiratoryRate => "respiratory rate",
            Vital::OxygenSaturation => "oxygen saturation",
            Vital::BloodPressure => "blood pressure",
        }
    }

    /// The range a living person's value falls in, in words, when `v` (and
    /// `over`, a blood pressure's second number) is outside it.
    fn outside(self, v: f64, over: Option<f64>) -> Option<&'static str> {
        let within = |lo: f64, hi: f64, x: f64| (lo..=hi).contains(&x);
        match self {
            Vital::Temperature => (!within(25.0, 45.0, v) && !within(77.0, 113.0, v))
                .then_some("25–45 °C or 77–113 °F"),
            Vital::HeartRate => (!within(20.0, 300.0, v)).then_some("20–300 per minute"),
            Vital::RespiratoryRate => (!within(4.0, 80.0, v)).then_some("4–80 per minute"),
            Vital::OxygenSaturation => (!within(40.0, 100.0, v)).then_some("40–100%"),
            Vital::BloodPressure => {
                let bad = !within(40.0, 300.0, v)
                    || over.is_some_and(|d| !within(20.0, 200.0, d) || d >= v);
                bad.then_some("40–300 over 20–200, the first above the second")
            }
        }
    }
}

/// The vital named at `i`, and how many words name it; a temperature of
/// the room, the water or the air is not the patient's.
fn vital_at(toks: &[Tok], i: usize) -> Option<(Vital, usize)> {
    let w = |k: usize| toks.get(k).and_then(Tok::word);
    let two = |a: &str, b: &str| w(i) == Some(a) && w(i + 1) == Some(b);
    if two("heart", "rate") {
        return Some((Vital::HeartRate, 2));
    }
    if two("respiratory", "rate") || two("breathing", "rate") {
        return Some((Vital::RespiratoryRate, 2));
    }
    if two("blood", "pressure") {
        return Some((Vital::BloodPressure, 2));
    }
    if two("oxygen", "saturation") {
        return Some((Vital::OxygenSaturation, 2));
    }
    let surroundings = [
        "room", "water", "bath", "air", "outside", "oven", "fridge", "freezer",
    ];
    match w(i)? {
        "temperature" | "temp" => {
            let of_a_thing = i > 0 && w(i - 1).is_some_and(|p| surroundings.contains(&p));
            (!of_a_thing).then_some((Vital::Temperature, 1))
        }
        "pulse" => Some((Vital::HeartRate, 1)),
        "respirations" => Some((Vital::RespiratoryRate, 1)),
        "bp" => Some((Vital::BloodPressure, 1)),
        "saturation" | "sats" => Some((Vital::OxygenSaturation, 1)),
        _ => None,
    }
}

/// A vital sign stated with a value no living person has: a mishearing (a
/// recogniser that heard "138.5" for "38.5") or a slip, which the
/// transcript cannot catch because it says the same. The value is the
/// first number after the vital's name, before the next comma or full stop.
pub(crate) fn implausible_vitals(toks: &[Tok], flags: &mut Vec<Flag>) {
    let mut i = 0;
    while i < toks.len() {
        let Some((vital, words)) = vital_at(toks, i) else {
            i += 1;
            continue;
        };
        let mut j = i + words;
        let mut value = None;
        // Only the words that lead to a value ("is", "today", "of") may
        // stand between the name and its number: "high blood pressure and
        // one of them" states no reading.
        const LEAD: &[&str] = &[
            "is",
            "was",
            "were",
            "of",
            "at",
            "today",
            "now",
            "still",
            "reading",
            "measured",
            "about",
            "around",
            "approximately",
            "came",
            "back",
            "has",
            "been",
            "'s",
            "s",
        ];
        while j < toks.len() && j < i + words + 6 {
            match &toks[j] {
                Tok::Num(v) => {
                    value = Some((j, *v));
                    break;
                }
                Tok::Sym(':' | '=') => j += 1,
                Tok::Word(w) if LEAD.contains(&w.as_str()) => j += 1,
                _ => break,
            }
        }
        let Some((at, v)) = value else {
            i = j.max(i + 1);
            continue;
        };
        let over = match (toks.get(at + 1), toks.get(at + 2)) {
            (Some(Tok::Sym('/')), Some(Tok::Num(d))) => Some(*d),
            (Some(Tok::Word(w)), Some(Tok::Num(d))) if w == "over" => Some(*d),
            _ => None,
        };
        if let Some(range) = vital.outside(v, over) {
            let said = match over {
                Some(d) if vital == Vital::BloodPressure => {
                    format!("{}/{}", fmt_num(v), fmt_num(d))
                }
                _ => fmt_num(v),
            };
            flags.push(Flag::new(
                FlagKind::Implausible,
                format!(
                    "{} {said} is outside what a person's {} can be ({range}): check it against the recording",
                    vital.name(),
                    vital.name()
                ),
                None,
            ));
        }
        i = at + 1;
    }
}
