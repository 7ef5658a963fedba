//! Built-in word lists: medications (generic and brand), drug classes for
//! allergy conflicts, symptoms for the negation check, units.
//!
//! Small and explicit by design. A list a reviewer can read is a list whose
//! misses can be found; the suffix rules (-cillin, -pril, -olol…) catch the
//! long tail of generics the list does not name.

/// Common generic and brand drug names (lower case). Brands map to their
/// generic through [`BRANDS`], so "Lasix" in a note matches "furosemide" in
/// a transcript.
const DRUGS: &str = "
acetaminophen paracetamol tylenol ibuprofen advil motrin naproxen aleve naprosyn aspirin
celecoxib celebrex meloxicam mobic diclofenac voltaren ketorolac toradol indomethacin etodolac
nabumetone tramadol ultram codeine hydrocodone vicodin norco oxycodone percocet oxycontin morphine
hydromorphone dilaudid fentanyl methadone buprenorphine suboxone naloxone narcan tapentadol
amoxicillin ampicillin penicillin augmentin dicloxacillin nafcillin oxacillin piperacillin
cephalexin keflex cefazolin cefdinir cefuroxime ceftriaxone rocephin cefepime cefpodoxime cefprozil
cefadroxil azithromycin zithromax clarithromycin erythromycin doxycycline minocycline tetracycline
ciprofloxacin cipro levofloxacin levaquin moxifloxacin sulfamethoxazole trimethoprim bactrim septra
nitrofurantoin macrobid metronidazole flagyl clindamycin vancomycin linezolid rifampin isoniazid
fluconazole diflucan nystatin terbinafine acyclovir valacyclovir valtrex oseltamivir tamiflu
lisinopril enalapril ramipril benazepril captopril quinapril losartan cozaar valsartan diovan
irbesartan olmesartan telmisartan candesartan amlodipine norvasc nifedipine diltiazem cardizem
verapamil metoprolol lopressor toprol atenolol carvedilol coreg propranolol labetalol bisoprolol
nebivolol hydrochlorothiazide hctz chlorthalidone furosemide lasix bumetanide bumex torsemide
spironolactone aldactone eplerenone hydralazine clonidine isosorbide nitroglycerin digoxin
amiodarone sotalol flecainide entresto sacubitril atorvastatin lipitor simvastatin zocor
rosuvastatin crestor pravastatin lovastatin ezetimibe zetia fenofibrate gemfibrozil niacin
warfarin coumadin apixaban eliquis rivaroxaban xarelto dabigatran pradaxa heparin enoxaparin
lovenox clopidogrel plavix ticagrelor brilinta prasugrel metformin glucophage glipizide glyburide
glimepiride pioglitazone actos sitagliptin januvia linagliptin empagliflozin jardiance
dapagliflozin farxiga canagliflozin liraglutide victoza semaglutide ozempic wegovy dulaglutide
trulicity insulin lantus humalog novolog levemir tresiba glargine lispro aspart levothyroxine
synthroid methimazole propylthiouracil prednisone prednisolone methylprednisolone medrol
dexamethasone hydrocortisone triamcinolone kenalog budesonide fluticasone flonase mometasone
albuterol ventolin proair levalbuterol ipratropium atrovent tiotropium spiriva salmeterol
advair symbicort montelukast singulair cetirizine zyrtec loratadine claritin fexofenadine allegra
diphenhydramine benadryl hydroxyzine omeprazole prilosec esomeprazole nexium pantoprazole
protonix lansoprazole prevacid famotidine pepcid ranitidine zantac ondansetron zofran
metoclopramide reglan promethazine phenergan docusate colace senna miralax polyethylene
loperamide imodium dicyclomine bentyl sucralfate mesalamine sertraline zoloft fluoxetine prozac
citalopram celexa escitalopram lexapro paroxetine paxil venlafaxine effexor duloxetine cymbalta
bupropion wellbutrin mirtazapine remeron trazodone amitriptyline nortriptyline buspirone
alprazolam xanax lorazepam ativan clonazepam klonopin diazepam valium zolpidem ambien
quetiapine seroquel olanzapine zyprexa risperidone risperdal aripiprazole abilify haloperidol
lithium lamotrigine lamictal valproate depakote levetiracetam keppra topiramate topamax
carbamazepine tegretol phenytoin dilantin gabapentin neurontin pregabalin lyrica
cyclobenzaprine flexeril methocarbamol robaxin tizanidine zanaflex baclofen sumatriptan
imitrex rizatriptan donepezil aricept memantine namenda carbidopa levodopa sinemet ropinirole
pramipexole methylphenidate ritalin adderall amphetamine atomoxetine tamsulosin flomax
finasteride proscar dutasteride oxybutynin tolterodine mirabegron sildenafil viagra tadalafil
cialis alendronate fosamax risedronate ibandronate zoledronic calcitriol allopurinol zyloprim
febuxostat colchicine hydroxychloroquine plaquenil methotrexate sulfasalazine leflunomide
adalimumab humira etanercept enbrel infliximab remicade ustekinumab stelara dupilumab dupixent
estradiol medroxyprogesterone progesterone norethindrone levonorgestrel testosterone
clotrimazole miconazole ketoconazole mupirocin bacitracin neosporin hydrocortisone benzoyl
tretinoin isotretinoin accutane permethrin ivermectin epinephrine epipen potassium
ferrous iron folic cyanocobalamin ergocalciferol cholecalciferol meclizine antivert
scopolamine dextromethorphan guaifenesin mucinex pseudoephedrine sudafed phenylephrine
oxymetazoline afrin naltrexone varenicline chantix nicotine lidocaine bupivacaine
";

/// Brand (or short) name → generic.
const BRANDS: &[(&str, &str)] = &[
    ("tylenol", "acetaminophen"),
    ("paracetamol", "acetaminophen"),
    ("advil", "ibuprofen"),
    ("motrin", "ibuprofen"),
    ("aleve", "naproxen"),
    ("naprosyn", "naproxen"),
    ("celebrex", "celecoxib"),
    ("mobic", "meloxicam"),
    ("voltaren", "diclofenac"),
    ("toradol", "ketorolac"),
    ("ultram", "tramadol"),
    ("vicodin", "hydrocodone"),
    ("norco", "hydrocodone"),
    ("percocet", "oxycodone"),
    ("oxycontin", "oxycodone"),
    ("dilaudid", "hydromorphone"),
    ("narcan", "naloxone"),
    ("augmentin", "amoxicillin"),
    ("keflex", "cephalexin"),
    ("rocephin", "ceftriaxone"),
    ("zithromax", "azithromycin"),
    ("cipro", "ciprofloxacin"),
    ("levaquin", "levofloxacin"),
    ("bactrim", "sulfamethoxazole"),
    ("septra", "sulfamethoxazole"),
    ("macrobid", "nitrofurantoin"),
    ("flagyl", "metronidazole"),
    ("diflucan", "fluconazole"),
    ("valtrex", "valacyclovir"),
    ("tamiflu", "oseltamivir"),
    ("cozaar", "losartan"),
    ("diovan", "valsartan"),
    ("norvasc", "amlodipine"),
    ("cardizem", "diltiazem"),
    ("lopressor", "metoprolol"),
    ("toprol", "metoprolol"),
    ("coreg", "carvedilol"),
    ("hctz", "hydrochlorothiazide"),
    ("lasix", "furosemide"),
    ("bumex", "bumetanide"),
    ("aldactone", "spironolactone"),
    ("lipitor", "atorvastatin"),
    ("zocor", "simvastatin"),
    ("crestor", "rosuvastatin"),
    ("zetia", "ezetimibe"),
    ("coumadin", "warfarin"),
    ("eliquis", "apixaban"),
    ("xarelto", "rivaroxaban"),
    ("pradaxa", "dabigatran"),
    ("lovenox", "enoxaparin"),
    ("plavix", "clopidogrel"),
    ("brilinta", "ticagrelor"),
    ("glucophage", "metformin"),
    ("actos", "pioglitazone"),
    ("januvia", "sitagliptin"),
    ("jardiance", "empagliflozin"),
    ("farxiga", "dapagliflozin"),
    ("victoza", "liraglutide"),
    ("ozempic", "semaglutide"),
    ("wegovy", "semaglutide"),
    ("trulicity", "dulaglutide"),
    ("lantus", "insulin"),
    ("humalog", "insulin"),
    ("novolog", "insulin"),
    ("levemir", "insulin"),
    ("tresiba", "insulin"),
    ("glargine", "insulin"),
    ("lispro", "insulin"),
    ("synthroid", "levothyroxine"),
    ("medrol", "methylprednisolone"),
    ("kenalog", "triamcinolone"),
    ("flonase", "fluticasone"),
    ("ventolin", "albuterol"),
    ("proair", "albuterol"),
    ("atrovent", "ipratropium"),
    ("spiriva", "tiotropium"),
    ("singulair", "montelukast"),
    ("zyrtec", "cetirizine"),
    ("claritin", "loratadine"),
    ("allegra", "fexofenadine"),
    ("benadryl", "diphenhydramine"),
    ("prilosec", "omeprazole"),
    ("nexium", "esomeprazole"),
    ("protonix", "pantoprazole"),
    ("prevacid", "lansoprazole"),
    ("pepcid", "famotidine"),
    ("zantac", "ranitidine"),
    ("zofran", "ondansetron"),
    ("reglan", "metoclopramide"),
    ("phenergan", "promethazine"),
    ("colace", "docusate"),
    ("imodium", "loperamide"),
    ("bentyl", "dicyclomine"),
    ("zoloft", "sertraline"),
    ("prozac", "fluoxetine"),
    ("celexa", "citalopram"),
    ("lexapro", "escitalopram"),
    ("paxil", "paroxetine"),
    ("effexor", "venlafaxine"),
    ("cymbalta", "duloxetine"),
    ("wellbutrin", "bupropion"),
    ("remeron", "mirtazapine"),
    ("xanax", "alprazolam"),
    ("ativan", "lorazepam"),
    ("klonopin", "clonazepam"),
    ("valium", "diazepam"),
    ("ambien", "zolpidem"),
    ("seroquel", "quetiapine"),
    ("zyprexa", "olanzapine"),
    ("risperdal", "risperidone"),
    ("abilify", "aripiprazole"),
    ("lamictal", "lamotrigine"),
    ("depakote", "valproate"),
    ("keppra", "levetiracetam"),
    ("topamax", "topiramate"),
    ("tegretol", "carbamazepine"),
    ("dilantin", "phenytoin"),
    ("neurontin", "gabapentin"),
    ("lyrica", "pregabalin"),
    ("flexeril", "cyclobenzaprine"),
    ("robaxin", "methocarbamol"),
    ("zanaflex", "tizanidine"),
    ("imitrex", "sumatriptan"),
    ("aricept", "donepezil"),
    ("namenda", "memantine"),
    ("sinemet", "carbidopa"),
    ("ritalin", "methylphenidate"),
    ("flomax", "tamsulosin"),
    ("proscar", "finasteride"),
    ("viagra", "sildenafil"),
    ("cialis", "tadalafil"),
    ("fosamax", "alendronate"),
    ("zyloprim", "allopurinol"),
    ("plaquenil", "hydroxychloroquine"),
    ("humira", "adalimumab"),
    ("enbrel", "etanercept"),
    ("remicade", "infliximab"),
    ("stelara", "ustekinumab"),
    ("dupixent", "dupilumab"),
    ("accutane", "isotretinoin"),
    ("epipen", "epinephrine"),
    ("antivert", "meclizine"),
    ("mucinex", "guaifenesin"),
    ("sudafed", "pseudoephedrine"),
    ("afrin", "oxymetazoline"),
    ("chantix", "varenicline"),
    ("suboxone", "buprenorphine"),
    ("entresto", "sacubitril"),
];

/// Suffixes that mark a generic drug name.
const DRUG_SUFFIXES: &[&str] = &[
    "cillin",
    "mycin",
    "micin",
    "pril",
    "sartan",
    "olol",
    "statin",
    "prazole",
    "oxacin",
    "azole",
    "tidine",
    "dronate",
    "gliptin",
    "gliflozin",
    "glutide",
    "cycline",
    "dipine",
    "floxacin",
    "triptan",
    "setron",
    "semide",
    "thiazide",
    "parin",
    "xaban",
    "grel",
    "tretinoin",
];

/// Words that end like a drug but are not one.
const NOT_DRUGS: &[&str] = &[
    "april",
    "control",
    "controlled",
    "patrol",
    "cholesterol",
    "parol",
];

/// Drug classes for allergy conflicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DrugClass {
    Penicillins,
    Cephalosporins,
    Sulfonamides,
    Nsaids,
    Opioids,
    Macrolides,
    Fluoroquinolones,
    Tetracyclines,
    AceInhibitors,
    Statins,
    Latex,
}

impl DrugClass {
    pub(crate) fn name(self) -> &'static str {
        match self {
            DrugClass::Penicillins => "penicillins",
            DrugClass::Cephalosporins => "cephalosporins",
            DrugClass::Sulfonamides => "sulfonamides",
            DrugClass::Nsaids => "NSAIDs",
            DrugClass::Opioids => "opioids",
            DrugClass::Macrolides => "macrolides",
            DrugClass::Fluoroquinolones => "fluoroquinolones",
            DrugClass::Tetracyclines => "tetracyclines",
            DrugClass::AceInhibitors => "ACE inhibitors",
            DrugClass::Statins => "statins",
            DrugClass::Latex => "latex",
        }
    }
}

/// The class of a (generic, lower-case) drug or allergen word.
pub(crate) fn class_of(word: &str) -> Option<DrugClass> {
    let g = generic(word);
    let w = g.as_str();
    use DrugClass::*;
    let explicit = match w {
        "penicillin" | "penicillins" | "pcn" | "amoxicillin" | "ampicillin" | "dicloxacillin"
        | "nafcillin" | "oxacillin" | "piperacillin" => Some(Penicillins),
        "cephalosporin" | "cephalosporins" | "cephalexin" | "cefazolin" | "cefdinir"
        | "cefuroxime" | "ceftriaxone" | "cefepime" | "cefpodoxime" | "cefprozil"
        | "cefadroxil" => Some(Cephalosporins),
        "sulfa" | "sulfas" | "sulfonamide" | "sulfonamides" | "sulfamethoxazole"
        | "trimethoprim" | "sulfasalazine" => Some(Sulfonamides),
        "nsaid" | "nsaids" | "ibuprofen" | "naproxen" | "aspirin" | "celecoxib" | "meloxicam"
        | "diclofenac" | "ketorolac" | "indomethacin" | "etodolac" | "nabumetone" => Some(Nsaids),
        "opioid" | "opioids" | "opiate" | "opiates" | "narcotic" | "narcotics" | "codeine"
        | "hydrocodone" | "oxycodone" | "morphine" | "hydromorphone" | "fentanyl" | "methadone"
        | "tramadol" | "tapentadol" | "buprenorphine" => Some(Opioids),
        "macrolide" | "macrolides" | "azithromycin" | "clarithromycin" | "erythromycin" => {
            Some(Macrolides)
        }
        "quinolone" | "quinolones" | "fluoroquinolone" | "fluoroquinolones" => {
            Some(Fluoroquinolones)
        }
        "tetracycline" | "tetracyclines" | "doxycycline" | "minocycline" => Some(Tetracyclines),
        "latex" => Some(Latex),
        _ => None,
    };
    explicit.or_else(|| {
        if w.ends_with("cillin") {
            Some(Penicillins)
        } else if w.starts_with("cef") || w.starts_with("ceph") {
            Some(Cephalosporins)
        } else if w.ends_with("floxacin") {
            Some(Fluoroquinolones)
        } else if w.ends_with("pril") && w != "april" {
            Some(AceInhibitors)
        } else if w.ends_with("statin") && w != "nystatin" {
            Some(Statins)
        } else {
            None
        }
    })
}

/// The generic name for a brand (or the word itself).
pub(crate) fn generic(word: &str) -> String {
    BRANDS
        .iter()
        .find(|(b, _)| *b == word)
        .map(|(_, g)| (*g).to_string())
        .unwrap_or_else(|| word.to_string())
}

/// Whether a lower-case word names a medication.
pub(crate) fn is_drug(word: &str) -> bool {
    if word.len() < 4 || NOT_DRUGS.contains(&word) {
        return false;
    }
    if DRUGS.split_whitespace().any(|d| d == word) {
        return true;
    }
    word.len() >= 6
        && DRUG_SUFFIXES
            .iter()
            .any(|s| word.ends_with(s) && word != *s)
}

/// Symptom groups for the negation check: each group is a list of phrases
/// (space-separated stems-to-be) that mean the same finding.
pub(crate) const SYMPTOMS: &[&[&str]] = &[
    &["fever", "fevers", "febrile"],
    &["chills", "chill"],
    &["night sweats", "sweats", "sweating"],
    &["cough", "coughing"],
    &[
        "shortness of breath",
        "short of breath",
        "dyspnea",
        "breathless",
    ],
    &["wheezing", "wheeze"],
    &["chest pain"],
    &["palpitations", "palpitation", "racing heart"],
    &["nausea", "nauseous", "nauseated"],
    &["vomiting", "vomit", "threw up", "throwing up"],
    &["diarrhea"],
    &["constipation", "constipated"],
    &[
        "abdominal pain",
        "belly pain",
        "stomach pain",
        "stomach ache",
    ],
    &["headache", "headaches"],
    &[
        "dizziness",
        "dizzy",
        "lightheaded",
        "lightheadedness",
        "vertigo",
    ],
    &["fatigue", "fatigued", "tired", "tiredness"],
    &["weakness", "weak"],
    &["numbness", "numb"],
    &["tingling"],
    &["swelling", "swollen", "edema"],
    &["rash", "rashes"],
    &["itching", "itchy", "pruritus"],
    &["bleeding"],
    &["bruising", "bruise"],
    &["weight loss", "lost weight", "losing weight"],
    &["weight gain", "gained weight", "gaining weight"],
    &["sore throat"],
    &["congestion", "congested", "stuffy"],
    &["runny nose", "rhinorrhea"],
    &["blurred vision", "blurry vision"],
    &["syncope", "fainting", "passed out", "pass out"],
    &["anxiety", "anxious"],
    &["depression", "depressed"],
    &["insomnia", "trouble sleeping"],
    &["dysuria", "burning with urination", "pain with urination"],
    &["hematuria", "blood in urine", "blood in the urine"],
    &["seizure", "seizures"],
    &["redness"],
    &["stiffness", "stiff"],
    &["bloating", "bloated"],
    &["heartburn", "reflux"],
    &["snoring"],
];

/// Body parts a side can qualify: whole words (singular or plural)…
const BODY_PARTS: &[&str] = &[
    "head", "scalp", "temple", "forehead", "face", "cheek", "jaw", "eye", "eyelid", "ear",
    "nostril", "tonsil", "neck", "shoulder", "arm", "elbow", "forearm", "wrist", "hand", "palm",
    "finger", "thumb", "knuckle", "digit", "chest", "breast", "nipple", "rib", "lung", "flank",
    "kidney", "belly", "quadrant", "back", "hip", "groin", "buttock", "thigh", "leg", "knee",
    "kneecap", "shin", "calf", "calves", "ankle", "foot", "feet", "heel", "sole", "toe", "femur",
    "tibia", "fibula", "radius", "ulna", "carotid", "lobe", "ureter", "testicle", "testis",
];

/// …and stems of longer clinical words ("extremities", "patellar").
const BODY_PART_STEMS: &[&str] = &[
    "extremit",
    "abdom",
    "clavic",
    "scapul",
    "axill",
    "patell",
    "testic",
    "scrot",
    "ovar",
    "adnex",
    "humer",
    "femor",
    "trochanter",
    "sacroiliac",
    "inguinal",
    "gluteal",
    "maxill",
    "mandib",
];

/// Whether a lower-case word names a body part.
pub(crate) fn is_body_part(word: &str) -> bool {
    let w = word.strip_suffix('s').unwrap_or(word);
    BODY_PARTS.contains(&word)
        || BODY_PARTS.contains(&w)
        || BODY_PART_STEMS.iter().any(|p| word.starts_with(p))
}

/// Canonical unit for a unit word, with whether it is a dose unit.
pub(crate) fn unit_of(word: &str) -> Option<(&'static str, bool)> {
    Some(match word {
        "mg" | "mgs" | "milligram" | "milligrams" => ("mg", true),
        "mcg" | "ug" | "µg" | "microgram" | "micrograms" => ("mcg", true),
        "g" | "gm" | "gram" | "grams" => ("g", true),
        "ml" | "milliliter" | "milliliters" | "millilitre" | "millilitres" | "cc" | "ccs" => {
            ("ml", true)
        }
        "unit" | "units" | "iu" => ("units", true),
        "puff" | "puffs" | "tablet" | "tablets" | "pill" | "pills" | "capsule" | "capsules" => {
            ("tablets", true)
        }
        "degree" | "degrees" | "°" | "f" | "fahrenheit" | "celsius" => ("degrees", false),
        "mmhg" => ("mmHg", false),
        "bpm" | "beats" => ("bpm", false),
        "%" | "percent" | "percentile" => ("%", false),
        "kg" | "kgs" | "kilogram" | "kilograms" | "kilo" | "kilos" => ("kg", false),
        "lb" | "lbs" | "pound" | "pounds" => ("lb", false),
        "day" | "days" => ("days", false),
        "week" | "weeks" | "wk" | "wks" => ("weeks", false),
        "month" | "months" => ("months", false),
        "year" | "years" | "yr" | "yrs" => ("years", false),
        "hour" | "hours" | "hr" | "hrs" | "h" => ("hours", false),
        "minute" | "minutes" | "min" | "mins" => ("minutes", false),
        "cm" | "centimeter" | "centimeters" => ("cm", false),
        "mm" | "millimeter" | "millimeters" => ("mm", false),
        "times" | "x" => ("times", false),
        "mile" | "miles" => ("miles", false),
        _ => return None,
    })
}

/// Clinical words and the plain words a visit uses for them: a note's
/// "dysphagia" is a patient's "trouble swallowing". Keys are prefixes of a
/// note word; values are words the transcript may say instead.
const PLAIN_WORDS: &[(&str, &[&str])] = &[
    ("dysphagia", &["swallow", "swallowing"]),
    ("hematuria", &["blood", "urine"]),
    ("dyspnea", &["breath", "breathing"]),
    ("syncope", &["faint", "passed"]),
    ("edema", &["swelling", "swollen"]),
    ("febrile", &["fever"]),
    ("emesis", &["vomit", "vomiting"]),
    ("echocardiogram", &["echo"]),
    ("electrocardiogram", &["ekg", "ecg"]),
    ("hypertension", &["pressure"]),
    ("hyperlipidemia", &["cholesterol"]),
    ("lipid", &["cholesterol"]),
    ("patella", &["kneecap", "knee"]),
    ("ambulat", &["walk", "walking"]),
    ("tobacco", &["smoke", "smoking", "cigarettes"]),
    ("alcohol", &["drink", "drinking", "beer", "wine"]),
    ("gastrointestinal", &["stomach"]),
    ("abdom", &["abdomen", "belly", "stomach"]),
    ("extremit", &["leg", "legs", "arm", "arms"]),
    ("bilateral", &["both"]),
    ("utiliz", &["use", "using"]),
    ("complian", &["taking"]),
    ("adheren", &["taking"]),
    ("cardiac", &["heart"]),
    ("cardio", &["heart"]),
    ("pulmonary", &["lung", "lungs"]),
    ("respirat", &["breathing", "lungs"]),
    ("renal", &["kidney", "kidneys"]),
    ("hepatic", &["liver"]),
    ("cutaneous", &["skin"]),
    ("dermat", &["skin"]),
    ("neurolog", &["nerve", "nerves"]),
    ("psychiatr", &["mood"]),
    ("musculoskeletal", &["muscle", "joint"]),
    ("lumbar", &["back"]),
    ("cervical", &["neck"]),
    ("thoracic", &["chest", "back"]),
    ("ocular", &["eye", "eyes"]),
    ("otic", &["ear", "ears"]),
    ("nasal", &["nose"]),
    ("oral", &["mouth"]),
    ("pharyn", &["throat"]),
    ("myalgia", &["muscle", "aches"]),
    ("arthralgia", &["joint"]),
    ("fatigue", &["tired"]),
    ("insomnia", &["sleep", "sleeping"]),
    ("paresthesia", &["tingling", "numbness"]),
    ("pruritus", &["itch", "itching", "itchy"]),
    ("erythema", &["red", "redness"]),
    ("rhinorrhea", &["runny"]),
    ("hypoglycemi", &["sugar", "low"]),
    ("hyperglycemi", &["sugar", "high"]),
    ("glucose", &["sugar", "sugars"]),
    ("diabet", &["sugar", "sugars"]),
    ("a1c", &["a1c", "hemoglobin"]),
    ("bid", &["twice"]),
    ("tid", &["three"]),
    ("prn", &["needed"]),
    ("daily", &["day", "every"]),
    ("nocturnal", &["night"]),
    ("postprandial", &["eating", "meals"]),
    ("radiograph", &["x", "ray", "xray"]),
    ("x-ray", &["xray", "ray"]),
    ("analges", &["pain", "tylenol", "ibuprofen"]),
    ("physical therapy", &["therapy"]),
    ("follow", &["back", "see"]),
    ("pain", &["hurt", "hurts", "hurting", "sore"]),
    ("discomfort", &["pain", "hurt", "sore"]),
    ("tender", &["hurt", "hurts", "pain", "sore"]),
    ("injur", &["hurt", "fell", "fall"]),
    ("weight", &["pounds", "weigh"]),
];

/// Plain-language alternatives for a (lower-case) note word.
pub(crate) fn plain_words(word: &str) -> &'static [&'static str] {
    PLAIN_WORDS
        .iter()
        .find(|(k, _)| word.starts_with(k))
        .map(|(_, v)| *v)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drugs_and_classes() {
        assert!(is_drug("amoxicillin"));
        assert!(is_drug("lisinopril"));
        assert!(is_drug("lasix"));
        assert!(!is_drug("april"));
        assert!(!is_drug("control"));
        assert_eq!(class_of("augmentin"), Some(DrugClass::Penicillins));
        assert_eq!(class_of("keflex"), Some(DrugClass::Cephalosporins));
        assert_eq!(class_of("bactrim"), Some(DrugClass::Sulfonamides));
        assert_eq!(class_of("advil"), Some(DrugClass::Nsaids));
        assert_eq!(generic("lasix"), "furosemide");
    }
}
