//! Requests over real text: tokenising around spans, windowing, mapping tokens back to text,
//! and the official trajectories reached through text requests.
mod common;

use std::sync::atomic::AtomicBool;

use dream_engine::request::{Ending, Prepared};
use dream_engine::{Alg, Dream, DreamTokenizer, Error, InfillRequest, InfillResult, SamplingSettings, Span};

fn dream() -> Dream {
    Dream::load(&common::fixture_dir(), &candle_core::Device::Cpu, None).unwrap()
}

fn words(ids: &[u32]) -> String {
    ids.iter().map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ")
}

fn settings(steps: usize) -> SamplingSettings {
    SamplingSettings { steps, alg: Alg::Entropy, ..Default::default() }
}

/// The result of `p` with every mask written as the one token of `piece`.
fn every_mask_written(p: &Prepared, tok: &DreamTokenizer, piece: &str) -> InfillResult {
    let [token] = tok.encode(piece).unwrap()[..] else { panic!("{piece:?} is not one token") };
    let filled: Vec<u32> = p.tokens.iter().map(|&t| if t == tok.mask_id() { token } else { t }).collect();
    p.result(tok, &filled, &vec![None; filled.len()]).unwrap()
}

fn official_final(case: &str, alg: &str) -> Vec<u32> {
    common::ids(&common::reference()["sampler"][case]["runs"][alg]["final"]).remove(0)
}

fn official_input(case: &str) -> Vec<u32> {
    common::ids(&common::reference()["sampler"][case]["input_ids"]).remove(0)
}

#[test]
fn middle_infill_through_text_matches_official_b4() {
    let ids = official_input("B4_infill_steps8");
    let (before, after) = (words(&ids[..6]), words(&ids[14..]));
    // A placeholder word that the span replaces.
    let text = format!("{before} XXXX {after}");
    let at = before.chars().count() + 1;
    let req = InfillRequest {
        text: text.clone(),
        spans: vec![Span { start: at, end: at + 4, tokens: 8, instruction: None }],
        continuation: 0,
        ending: None,
        settings: settings(8),
        candidates: 1,
    };
    let d = dream();
    let mut events = Vec::new();
    let out = d.infill(&req, &AtomicBool::new(false), &mut |e| events.push(e)).unwrap();
    let want = official_final("B4_infill_steps8", "entropy");
    assert_eq!(out.ids, want);
    assert_eq!(events.len(), 8);
    // The filled span is placed exactly in the returned text.
    let span = &out.candidates[0].spans[0];
    let chars: Vec<char> = out.candidates[0].text.chars().collect();
    assert_eq!(chars[span.start..span.end].iter().collect::<String>(), span.text);
    assert_eq!(span.text, words(&want[6..14]));
    assert_eq!(out.candidates[0].text, format!("{before} {} {after}", words(&want[6..14])));
    // Live views: one slot per mask, revealed ones carry text and confidence.
    let step3 = &events[3].spans[0];
    assert_eq!(step3.slots.len(), 8);
    let revealed = step3.slots.iter().filter(|s| s.token.is_some()).count();
    assert_eq!(revealed, 3, "transfer counts [0, 1, 1, 1, ...]");
    assert!(step3.slots.iter().all(|s| s.token.is_some() == s.confidence.is_some()));
}

#[test]
fn pinned_ending_matches_official_b5_and_is_never_changed() {
    let case = &common::reference()["sampler"]["B5_pinned_end_steps6"];
    let end: Vec<u32> = serde_json::from_value(case["hook"]["end_ids"].clone()).unwrap();
    let prompt = official_input("B5_pinned_end_steps6");
    let ending = format!(" {}", words(&end));
    let req = InfillRequest {
        text: words(&prompt),
        spans: vec![],
        continuation: 8,
        ending: Some(Ending::after_text(ending.clone())),
        settings: SamplingSettings { steps: 6, alg: Alg::MaskgitPlus, ..Default::default() },
        candidates: 1,
    };
    let d = dream();
    let mut events = Vec::new();
    let out = d.infill(&req, &AtomicBool::new(false), &mut |e| events.push(e)).unwrap();
    assert_eq!(out.ids, official_final("B5_pinned_end_steps6", "maskgit_plus"));
    for e in &events {
        assert_eq!(e.tokens.ids[0][14..], end[..], "step {}", e.tokens.step);
    }
    assert!(out.candidates[0].text.ends_with(&ending));
}

#[test]
fn two_spans_replacing_text_match_official_b6() {
    let ids = official_input("B6_two_spans_steps4");
    // 4 words, 5 masks, 4 words, 3 masks, 3 words: write placeholders that the spans replace.
    let text = format!("{} XXXX {} YY {}", words(&ids[..4]), words(&ids[9..13]), words(&ids[16..]));
    let x = text.find("XXXX").unwrap();
    let y = text.find("YY").unwrap();
    let req = InfillRequest {
        text,
        // Given out of order: span indices follow the request, placement follows the text.
        spans: vec![
            Span { start: y, end: y + 2, tokens: 3, instruction: None },
            Span { start: x, end: x + 4, tokens: 5, instruction: None },
        ],
        continuation: 0,
        ending: None,
        settings: SamplingSettings { steps: 4, alg: Alg::TopkMargin, ..Default::default() },
        candidates: 1,
    };
    let out = dream().infill(&req, &AtomicBool::new(false), &mut |_| {}).unwrap();
    let want = official_final("B6_two_spans_steps4", "topk_margin");
    assert_eq!(out.ids, want);
    assert_eq!(out.candidates[0].spans[0].text, words(&want[13..16]));
    assert_eq!(out.candidates[0].spans[1].text, words(&want[4..9]));
    assert!(out.candidates[0].spans[1].end < out.candidates[0].spans[0].start);
}

#[test]
fn a_hole_replays_the_official_infill() {
    let ids = official_input("B4_infill_steps8");
    let head = words(&ids[..6]);
    let text = format!("{head} {}", words(&ids[14..]));
    let hole = Span { start: head.len(), end: head.len(), tokens: 8, instruction: None };
    let req =
        InfillRequest { text, spans: vec![hole], continuation: 0, ending: None, settings: settings(8), candidates: 1 };
    let out = dream().infill(&req, &AtomicBool::new(false), &mut |_| {}).unwrap();
    assert_eq!(out.ids, official_final("B4_infill_steps8", "entropy"));
}

/// A document full of special-token strings, at Qwen's real vocabulary, with a fill in it: the
/// text around the fill comes back byte for byte, and the model saw it as characters.
#[test]
fn a_document_of_control_token_strings_round_trips_with_a_fill_in_it() {
    let tok = common::qwen::bpe_tokenizer();
    let before = "<|endoftext|> ends a text; <|mask|> hides a word; <|im_start|>user\n<|im_end|> frames a turn.";
    let after = " Then <|fim_middle|> and <tool_call> <|endoftext|><|mask|>";
    let text = format!("{before}{after}");
    let at = before.chars().count();
    let req = InfillRequest {
        text: text.clone(),
        spans: vec![Span { start: at, end: at, tokens: 3, instruction: None }],
        continuation: 0,
        ending: None,
        settings: settings(3),
        candidates: 1,
    };
    let p = req.prepare(&tok, 2048).unwrap();
    assert_eq!(p.tokens.iter().filter(|&&t| t == tok.mask_id()).count(), 3, "only the hole is masked");
    assert!(p.tokens.iter().all(|&t| t < 151_643 || t == tok.mask_id()), "a control token read from the text");
    let result = every_mask_written(&p, &tok, " word");
    assert_eq!(result.text, format!("{before} word word word{after}"));
}

#[test]
fn steps_beyond_the_masks_are_clamped_with_a_warning() {
    let req = InfillRequest {
        text: "w1 w2".into(),
        spans: vec![],
        continuation: 3,
        ending: None,
        settings: settings(50),
        candidates: 1,
    };
    let mut n = 0;
    let out = dream().infill(&req, &AtomicBool::new(false), &mut |_| n += 1).unwrap();
    assert_eq!(n, 3);
    assert!(out.warnings.iter().any(|w| w.contains("steps 50")), "{:?}", out.warnings);
}

#[test]
fn long_documents_are_windowed_around_the_spans() {
    let d = dream();
    let text: String = (0..300).map(|i| format!("w{i} ")).collect();
    let at = text.find("w150 ").unwrap();
    let req = InfillRequest {
        text: text.clone(),
        spans: vec![Span { start: at, end: at + 4, tokens: 4, instruction: None }],
        continuation: 0,
        ending: None,
        settings: settings(4),
        candidates: 1,
    };
    let p = req.prepare(&d.tokenizer, 40).unwrap();
    assert_eq!(p.windows.len(), 1);
    assert_eq!(p.canvas(0).len(), 40);
    let first = p.canvas(0).iter().position(|&t| t == 997).unwrap();
    assert!((17..=19).contains(&first), "masks centred, at {first}");
    assert!(p
        .warnings
        .iter()
        .any(|w| w.contains("longer than the model's context") && w.contains("the 40 tokens nearest")));
    // The text outside the window comes back verbatim around the filled span.
    let mut filled = p.tokens.clone();
    let at = p.windows[0].range.start + first;
    filled[at..at + 4].copy_from_slice(&[7, 8, 9, 10]);
    let result = p.result(&d.tokenizer, &filled, &vec![None; filled.len()]).unwrap();
    assert_eq!(result.text, text.replacen("w150", "w7 w8 w9 w10", 1));
    let prepared = req.prepare(&d.tokenizer, 2048).unwrap();
    assert_eq!(prepared.canvas(0).len(), 303);
    let err = req.prepare(&d.tokenizer, 3).err().unwrap();
    assert!(matches!(err, Error::ContextOverflow { needed: 4, limit: 3 }), "{err}");
}

/// Marks too far apart for one window get a window each, filled one after another: the
/// later window sees what the earlier one wrote, the steps are shared in proportion to the
/// masks and numbered across windows, and the result says so. Here a span and a continuation
/// of 8 masks each, 28 words apart, with a 40-token context.
#[test]
fn marks_too_far_apart_get_a_window_each() {
    let d = dream();
    let text: String = (0..129).map(|i| format!("w{i} ")).collect();
    let at = text.find("w100 ").unwrap();
    let req = InfillRequest {
        text: text.clone(),
        spans: vec![Span { start: at, end: at + 4, tokens: 8, instruction: None }],
        continuation: 8,
        ending: None,
        settings: settings(8),
        candidates: 1,
    };
    let p = req.prepare(&d.tokenizer, 40).unwrap();
    // The span at m..m+8, the continuation at m+36..m+44 (the end): 44 tokens from first to last.
    let m = p.tokens.iter().position(|&t| t == 997).unwrap();
    assert_eq!(p.tokens.len(), m + 44);
    let ranges: Vec<_> = p.windows.iter().map(|w| (w.range.clone(), w.steps)).collect();
    assert_eq!(ranges, [(m - 16..m + 24, 4), (m + 4..m + 44, 4)]);
    assert_eq!(p.canvas(0).iter().filter(|&&t| t == 997).count(), 8, "the first window holds only its masks");
    assert!(p.warnings.iter().any(|w| w.contains("filled in 2 windows, one after another")), "{:?}", p.warnings);

    let mut events = Vec::new();
    let out = d.run(&p, &AtomicBool::new(false), &mut |e| events.push(e)).unwrap();
    let order: Vec<_> = events.iter().map(|e| (e.tokens.step, e.tokens.steps, e.window, e.windows)).collect();
    assert_eq!(order, (0..8).map(|s| (s, 8, s / 4, 2)).collect::<Vec<_>>());
    // The second window starts from the first one's written tokens (positions 104..108).
    let written = &events[3].tokens.ids[0][20..24];
    assert!(!written.contains(&997));
    assert_eq!(&events[4].tokens.ids[0][..4], written);
    // Every span's live view is in every step, the far one still masked during the first window.
    assert!(events[0].spans[1].slots.iter().all(|s| s.token.is_none()));
    assert!(events[7].spans.iter().all(|v| v.slots.iter().all(|s| s.token.is_some())));
    let result = &out.candidates[0];
    let [span, cont] = &result.spans[..] else { panic!("{:?}", result.spans) };
    assert_eq!(result.text[..span.start], text[..at]);
    let between = text[at + 4..].to_string();
    assert_eq!(result.text.chars().skip(span.end).take(between.chars().count()).collect::<String>(), between);
    assert_eq!(cont.end, result.text.chars().count());
    assert_eq!(out.ids, events[7].tokens.ids[0]);
    assert!(out.warnings.iter().any(|w| w.contains("2 windows")));
}

/// A candidate row is the run with its seed in every window, as in one window: rows of one
/// batched request and single requests with seeds `seed + row` write the same text.
#[test]
fn each_candidate_is_its_seeds_run_across_windows() {
    let d = dream();
    let text: String = (0..129).map(|i| format!("w{i} ")).collect();
    let at = text.find("w100 ").unwrap();
    let settings = SamplingSettings { steps: 8, temperature: 1.0, seed: 5, ..settings(8) };
    let req = InfillRequest {
        text,
        spans: vec![Span { start: at, end: at + 4, tokens: 8, instruction: None }],
        continuation: 8,
        ending: None,
        settings,
        candidates: 3,
    };
    let run = |req: &InfillRequest| {
        let p = req.prepare(&d.tokenizer, 40).unwrap();
        assert_eq!(p.windows.len(), 2);
        d.run(&p, &AtomicBool::new(false), &mut |_| {}).unwrap().candidates
    };
    let batched = run(&req);
    for (row, got) in batched.iter().enumerate() {
        let mut single = req.clone();
        single.candidates = 1;
        single.settings.seed += row as u64;
        assert_eq!(run(&single)[0].text, got.text, "row {row}");
    }
    assert_ne!(batched[0].text, batched[1].text);
}

/// The reported case: two marks (5 and 8 tokens) near the two ends of a 20,000-word document
/// were refused ("needs 17571 tokens ... context 2048"). With the real Qwen BPE they now get a
/// window each, and only the text those windows reach is tokenised.
#[test]
fn two_marks_in_a_long_document_are_filled_with_the_real_vocabulary() {
    let tok = common::qwen::bpe_tokenizer();
    let sentence = "The keeper climbed the stairs, counting each one as the lamp turned. ";
    let text = sentence.repeat(1_700); // 20,400 words
    let chars = text.chars().count();
    let (a, b) = (chars / 10, chars * 9 / 10);
    let req = InfillRequest {
        text: text.clone(),
        spans: vec![
            Span { start: a, end: a, tokens: 5, instruction: None },
            Span { start: b, end: b, tokens: 8, instruction: None },
        ],
        continuation: 0,
        ending: None,
        settings: settings(13),
        candidates: 1,
    };
    let p = req.prepare(&tok, 2048).unwrap();
    assert_eq!(p.windows.len(), 2);
    assert_eq!(p.windows.iter().map(|w| w.steps).collect::<Vec<_>>(), [5, 8]);
    assert!(p.windows.iter().all(|w| w.range.len() == 2048));
    // Both windows are exactly what tokenising the whole text gives around each mark (the text
    // before a mark without its trailing space, which the fill's first token carries).
    let whole = |r: std::ops::Range<usize>| {
        let piece: String = text.chars().skip(r.start).take(r.len()).collect();
        tok.encode(if r.start == 0 { piece.trim_end_matches(' ') } else { &piece })
    };
    for (w, (at, n)) in [(a, 5), (b, 8)].into_iter().enumerate() {
        let canvas = p.canvas(w);
        let first = canvas.iter().position(|&t| t == 151_666).unwrap();
        let before = whole(0..at).unwrap();
        let after = whole(at..chars).unwrap();
        assert_eq!(canvas[..first], before[before.len() - first..], "window {w}");
        assert_eq!(canvas[first + n..], after[..2048 - first - n], "window {w}");
    }
    // The middle of the document, beyond both windows' reach, was never tokenised.
    let all = tok.encode(&text).unwrap().len();
    assert!(p.tokens.len() < all / 2, "{} of {all} tokens", p.tokens.len());

    // And the built-in demo model fills both, through its own BPE: one step a window, as what
    // is checked is where the fills land (13 steps over two 2,048-token windows of the 135M
    // demo took most of this test binary's 17 minutes).
    let req = InfillRequest { settings: settings(2), ..req };
    let demo = dream_engine::demo::demo(&candle_core::Device::Cpu).unwrap();
    let out = demo.infill(&req, &AtomicBool::new(false), &mut |_| {}).unwrap();
    let result = &out.candidates[0];
    let written: Vec<String> = result.spans.iter().map(|s| s.text.clone()).collect();
    let mut want: String = text.chars().take(a).collect();
    want += &written[0];
    want.extend(text.chars().skip(a).take(b - a));
    want += &written[1];
    want.extend(text.chars().skip(b));
    assert_eq!(result.text, want);
    assert!(out.warnings.iter().any(|w| w.contains("filled in 2 windows")), "{:?}", out.warnings);
}

/// A document far longer than the context is tokenised only near its spans. The canvas is
/// exactly what tokenising it whole gives (the real Qwen BPE, 2 MB of prose), and a 16 MiB
/// text (the request limit) prepares without tokenising the rest: it took 59 s and 3.97 GB with
/// the first demo model's byte-level tokenizer.
#[test]
fn only_the_text_a_window_reaches_is_tokenised() {
    let tok = common::qwen::bpe_tokenizer();
    let text =
        "The keeper climbed the stairs, counting each one (café, naïve, 你好) as the lamp turned. ".repeat(20_000);
    let chars: Vec<char> = text.chars().collect();
    let mid = chars.len() / 2 + 7;
    let req = InfillRequest {
        text: text.clone(),
        spans: vec![Span { start: mid, end: mid, tokens: 8, instruction: None }],
        continuation: 0,
        ending: None,
        settings: settings(8),
        candidates: 1,
    };
    let p = req.prepare(&tok, 2048).unwrap();
    let before = tok.encode(&chars[..mid].iter().collect::<String>()).unwrap();
    let after = tok.encode(&chars[mid..].iter().collect::<String>()).unwrap();
    // The window: 1,020 tokens each side of the 8 masks.
    let mut want = before[before.len() - 1020..].to_vec();
    want.extend([151_666; 8]);
    want.extend(&after[..1020]);
    assert_eq!(p.canvas(0), want);
    assert!(p.warnings.iter().any(|w| w.contains("the 2048 tokens nearest")), "{:?}", p.warnings);

    let demo = dream_engine::demo::demo(&candle_core::Device::Cpu).unwrap();
    let huge = "a".repeat(dream_engine::request::MAX_TEXT_BYTES - 16);
    let req = InfillRequest {
        text: huge,
        spans: vec![Span { start: 8 << 20, end: 8 << 20, tokens: 4, instruction: None }],
        ..req
    };
    let p = demo.prepare(&req).unwrap();
    assert_eq!(p.canvas(0).len(), demo.config.context_limit());
}

#[test]
fn cancel_stops_before_the_next_step() {
    let cancel = AtomicBool::new(false);
    let req = InfillRequest {
        text: "w1".into(),
        spans: vec![],
        continuation: 8,
        ending: None,
        settings: settings(8),
        candidates: 1,
    };
    let mut n = 0;
    let err = dream()
        .infill(&req, &cancel, &mut |_| {
            n += 1;
            if n == 2 {
                cancel.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        })
        .err()
        .unwrap();
    assert!(matches!(err, Error::Cancelled));
    assert_eq!(n, 2);
}

/// The real byte-level BPE: per-slot text of tokens that end mid-character and of EOS.
#[test]
fn slots_hold_back_partial_characters_and_drop_end_tokens() {
    let tok = common::qwen::bpe_tokenizer();
    let mut ids = tok.encode(" 龘 fin").unwrap();
    assert!(ids.len() >= 4, "{ids:?}");
    ids.push(151_643); // <|endoftext|>
    let req = InfillRequest {
        text: "Start:".into(),
        spans: vec![],
        continuation: ids.len(),
        ending: Some(Ending::after_text(".")),
        settings: settings(1),
        candidates: 1,
    };
    let p = req.prepare(&tok, 2048).unwrap();
    let base = p.tokens.iter().position(|&t| t == tok.mask_id()).unwrap();
    let mut canvas = p.tokens.clone();
    let conf = vec![Some(0.5f32); canvas.len()];
    // Reveal only the first byte-piece of the character: nothing readable yet, no U+FFFD.
    let dragon = tok.encode(" 龘").unwrap();
    canvas[base] = ids[0];
    let view = &p.span_views(&tok, &canvas, &conf).unwrap()[0];
    assert!(!view.text().contains('\u{FFFD}'), "{:?}", view.text());
    // Reveal everything: the character appears whole, the EOS adds nothing.
    canvas[base..base + ids.len()].copy_from_slice(&ids);
    let view = &p.span_views(&tok, &canvas, &conf).unwrap()[0];
    assert_eq!(view.text(), " 龘 fin");
    assert_eq!(view.slots[dragon.len() - 2].text, "", "partial token shows nothing");
    assert!(view.slots[dragon.len() - 1].text.contains('龘'));
    assert_eq!(view.slots.last().unwrap().text, "");
    let result = p.result(&tok, &canvas, &conf).unwrap();
    assert_eq!(result.text, "Start: 龘 fin.");
    assert_eq!((result.spans[0].start, result.spans[0].end), (6, 12));
}

/// "w1 w2 w3" and two masks after it: the request the checks below vary.
fn continuation_of_w1_w2_w3() -> InfillRequest {
    InfillRequest {
        text: "w1 w2 w3".into(),
        spans: vec![],
        continuation: 2,
        ending: None,
        settings: settings(2),
        candidates: 1,
    }
}

#[test]
fn invalid_requests_name_the_field() {
    let d = dream();
    let base = continuation_of_w1_w2_w3();
    let check = |req: InfillRequest, field: &str| {
        let err = req.prepare(&d.tokenizer, 2048).err().unwrap_or_else(|| panic!("{field}: accepted"));
        match err {
            Error::InvalidRequest { field: f, .. } => assert_eq!(f, field),
            other => panic!("{field}: {other}"),
        }
    };
    let span = |start, end, tokens| InfillRequest {
        spans: vec![Span { start, end, tokens, instruction: None }],
        ..base.clone()
    };
    check(span(0, 2, 0), "spans[0]"); // empty span
    check(span(3, 1, 2), "spans[0]"); // start after end
    check(span(0, 99, 2), "spans[0]"); // out of range
    check(
        InfillRequest {
            spans: vec![
                Span { start: 0, end: 4, tokens: 1, instruction: None },
                Span { start: 2, end: 6, tokens: 1, instruction: None },
            ],
            ..base.clone()
        },
        "spans[1]",
    );
    check(InfillRequest { continuation: 0, ..base.clone() }, "spans"); // nothing to generate
    let with = |f: fn(&mut SamplingSettings)| {
        let mut r = base.clone();
        f(&mut r.settings);
        r
    };
    check(with(|s| s.steps = 0), "steps");
    check(with(|s| s.temperature = f32::NAN), "temperature");
    check(with(|s| s.temperature = -0.5), "temperature");
    check(with(|s| s.top_p = Some(0.0)), "top_p");
    check(with(|s| s.top_p = Some(1.5)), "top_p");
    check(with(|s| s.top_k = Some(0)), "top_k");
    let too_many = InfillRequest { continuation: 5000, ..base.clone() };
    assert!(matches!(too_many.prepare(&d.tokenizer, 2048), Err(Error::ContextOverflow { needed: 5000, limit: 2048 })));
    // Unknown JSON fields are refused, naming the field.
    let err = serde_json::from_str::<InfillRequest>(r#"{"text": "x", "contination": 3}"#).unwrap_err();
    assert!(err.to_string().contains("contination"));
}

/// Sizes are checked before anything is allocated for them: a request for 2^32 or 2^63 masks,
/// or for more than fits in usize, or a huge ending, is a typed error, not an abort.
#[test]
fn huge_sizes_are_refused_before_allocating() {
    let d = dream();
    let base = continuation_of_w1_w2_w3();
    for n in [1usize << 28, 1 << 32, 1 << 63, usize::MAX] {
        let err = InfillRequest { continuation: n, ..base.clone() }.prepare(&d.tokenizer, 2048).err().unwrap();
        assert!(matches!(err, Error::ContextOverflow { limit: 2048, .. }), "{n}: {err}");
        let spans = vec![
            Span { start: 0, end: 2, tokens: n, instruction: None },
            Span { start: 3, end: 5, tokens: n, instruction: None },
        ];
        let err = InfillRequest { spans, ..base.clone() }.prepare(&d.tokenizer, 2048).err().unwrap();
        assert!(matches!(err, Error::ContextOverflow { limit: 2048, .. }), "{n}: {err}");
    }
    let ending = InfillRequest { ending: Some(Ending::after_text("x".repeat(50 << 20))), ..base.clone() };
    let err = ending.prepare(&d.tokenizer, 2048).err().unwrap();
    assert!(matches!(err, Error::InvalidRequest { ref field, .. } if field == "ending"), "{err}");
    assert!(err.to_string().contains("the limit is 65536"), "{err}");
    let spans = vec![Span { start: 0, end: 0, tokens: 1, instruction: None }; 5000];
    let err = InfillRequest { spans, ..base.clone() }.prepare(&d.tokenizer, 2048).err().unwrap();
    assert!(matches!(err, Error::InvalidRequest { ref field, .. } if field == "spans"), "{err}");
}

/// The built-in demo model: any typed text (accents, emoji) goes through, masks get filled.
#[test]
fn the_demo_model_fills_spans_in_any_text() {
    let demo = dream_engine::demo::demo(&candle_core::Device::Cpu).unwrap();
    let text = "Café ☕ — the dream began here.";
    let req = InfillRequest {
        text: text.into(),
        spans: vec![Span { start: 9, end: 12, tokens: 5, instruction: None }],
        continuation: 4,
        ending: Some(Ending::after_text(" Fin.")),
        settings: settings(3),
        candidates: 1,
    };
    let out = demo.infill(&req, &AtomicBool::new(false), &mut |_| {}).unwrap();
    assert!(
        out.candidates[0].text.starts_with("Café ☕ — ") && out.candidates[0].text.ends_with(" Fin."),
        "{}",
        out.candidates[0].text
    );
    assert!(out.candidates[0].text.contains(" dream began here."));
    assert_eq!(out.candidates[0].spans.len(), 2);
    // Same seed, same weights: the demo is reproducible across loads.
    let again = dream_engine::demo::demo(&candle_core::Device::Cpu).unwrap();
    assert_eq!(again.infill(&req, &AtomicBool::new(false), &mut |_| {}).unwrap().ids, out.ids);
}

#[test]
fn candidates_come_from_one_batched_run_with_consecutive_seeds() {
    let d = dream();
    let warm = SamplingSettings { steps: 4, alg: Alg::Entropy, temperature: 1.0, seed: 7, ..Default::default() };
    let req = InfillRequest {
        text: "w1 w2".into(),
        spans: vec![],
        continuation: 6,
        ending: Some(Ending::after_text(" w3")),
        settings: warm,
        candidates: 3,
    };
    let mut events = Vec::new();
    let out = d.infill(&req, &AtomicBool::new(false), &mut |e| events.push(e)).unwrap();
    assert_eq!(out.candidates.len(), 3);
    assert!(out.candidates.iter().all(|c| c.text.starts_with("w1 w2") && c.text.ends_with(" w3")));
    assert!(out.candidates.iter().any(|c| c.text != out.candidates[0].text), "different seeds, different text");
    // Every step shows every candidate's spans.
    assert!(events.iter().all(|e| (0..3).all(|row| e.spans.iter().any(|v| v.row == row))));
    // The first candidate is what a single run with the same seed writes.
    let single =
        d.infill(&InfillRequest { candidates: 1, ..req.clone() }, &AtomicBool::new(false), &mut |_| {}).unwrap();
    assert_eq!(single.candidates, out.candidates[..1]);
    // Greedy candidates would all be the same text: said, not hidden.
    let greedy = InfillRequest { settings: settings(4), ..req.clone() };
    let p = greedy.prepare(&d.tokenizer, 2048).unwrap();
    assert!(p.warnings.iter().any(|w| w.contains("temperature")), "{:?}", p.warnings);
    // An order drawn at random varies with the seed at temperature 0: no such warning.
    let origin = InfillRequest { settings: SamplingSettings { alg: Alg::Origin, ..settings(4) }, ..req.clone() };
    let p = origin.prepare(&d.tokenizer, 2048).unwrap();
    assert!(!p.warnings.iter().any(|w| w.contains("temperature")), "{:?}", p.warnings);
    for n in [0, 4] {
        let bad = InfillRequest { candidates: n, ..req.clone() };
        assert!(
            matches!(bad.prepare(&d.tokenizer, 2048), Err(Error::InvalidRequest { ref field, .. }) if field == "candidates")
        );
    }
}

/// Cancel sent from another thread while a step runs: the pass stops at the next layer
/// boundary, long before the step would have ended, and no event comes for the step it
/// stopped in. (Checked only between steps, the run would finish the step and send its event.)
#[test]
fn a_cancel_sent_during_a_step_stops_it_between_layers() {
    use candle_core::{DType, Device};
    use dream_engine::random::{random_weights, Recipe};
    use dream_engine::{generate, Canvas, DreamConfig, DreamModel};
    use std::sync::atomic::Ordering;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};
    // Many layers, so one layer is a small part of a step.
    let cfg = DreamConfig { num_hidden_layers: 32, ..DreamConfig::small_shape() };
    let model = DreamModel::load(&random_weights(&cfg, Recipe::Init, DType::F32, &Device::Cpu).unwrap(), &cfg).unwrap();
    let mut row: Vec<u32> = (0..256u32).map(|i| (i * 7919 + 13) % 150_000).collect();
    row[100..108].fill(cfg.mask_token_id);
    let settings = SamplingSettings { steps: 8, ..Default::default() };
    let cancel = AtomicBool::new(false);
    let sent: Mutex<Option<(Instant, Duration)>> = Mutex::new(None);
    let mut steps_done = 0;
    let begun = Instant::now();
    let out = std::thread::scope(|s| {
        let canvas = Canvas { rows: vec![row], attention_mask: None };
        generate(&model, canvas, &settings, &cancel, &mut |e| {
            steps_done += 1;
            if e.step == 0 {
                // Into the next step (the first is the longest: it allocates), from another thread.
                let step = begun.elapsed();
                let (cancel, sent) = (&cancel, &sent);
                s.spawn(move || {
                    std::thread::sleep(step / 4);
                    *sent.lock().unwrap() = Some((Instant::now(), step));
                    cancel.store(true, Ordering::Relaxed);
                });
            }
        })
    });
    let returned = Instant::now();
    assert!(matches!(out, Err(Error::Cancelled)), "{:?}", out.map(|g| g.ids));
    assert_eq!(steps_done, 1, "the step the cancel came in sent no event");
    let (at, step) = sent.lock().unwrap().expect("the cancel was sent");
    let took = returned - at;
    eprintln!("a step took {step:?}; stopped {took:?} after the cancel");
    assert!(took < step / 4, "stopped {took:?} after the cancel, a step is {step:?}: not between layers");
}

/// The app's case: an ending pinned at a point of the text, with a gap Dream writes before
/// it, and marks before and after it. The ending is read whole, never changed, and written
/// once into the result after its gap; span indices put the gap after the marks.
#[test]
fn an_ending_pinned_inside_the_text_follows_its_gap_and_is_kept() {
    let d = dream();
    let text = "w1 w2 w3 w4 XX w6";
    let req = InfillRequest {
        text: text.into(),
        // "w2" is replaced; "XX" (after the ending) too.
        spans: vec![
            Span { start: 3, end: 5, tokens: 2, instruction: None },
            Span { start: 12, end: 14, tokens: 2, instruction: None },
        ],
        continuation: 0,
        // Pinned after "w1 w2 w3" (char 8), as the writer typed it: the space is added.
        ending: Some(Ending { text: "w9 w8".into(), at: Some(8), gap: 3 }),
        settings: settings(7),
        candidates: 1,
    };
    let mut steps = Vec::new();
    let out = d.infill(&req, &AtomicBool::new(false), &mut |e| steps.push(e)).unwrap();
    let result = &out.candidates[0];
    let [first, after, gap] = result.spans.as_slice() else { panic!("{:?}", result.spans) };
    assert_eq!((first.span, after.span, gap.span), (0, 1, 2));
    assert_eq!(gap.leads_into.as_deref(), Some(" w9 w8"));
    assert!(first.leads_into.is_none() && after.leads_into.is_none());
    // (This word-level tokenizer writes no space before a span's first word.)
    let want = format!("w1 {} w3{} w9 w8 w4 {} w6", first.text, gap.text, after.text);
    assert_eq!(result.text, want);
    let chars: Vec<char> = result.text.chars().collect();
    for s in &result.spans {
        assert_eq!(chars[s.start..s.end].iter().collect::<String>(), s.text, "span {}", s.span);
    }
    // The model read the ending's tokens at every step, right after the gap's masks.
    let (w9, w8) = (d.tokenizer.encode(" w9").unwrap(), d.tokenizer.encode(" w8").unwrap());
    let ending_ids: Vec<u32> = w9.into_iter().chain(w8).collect();
    for e in &steps {
        let ids = &e.tokens.ids[0];
        assert!(ids.windows(ending_ids.len()).any(|w| w == ending_ids.as_slice()), "step {}: {ids:?}", e.tokens.step);
    }
}

/// Where an ending cannot go, the request says so in plain words, naming the mark.
#[test]
fn an_ending_inside_a_mark_or_on_a_hole_is_refused_in_plain_words() {
    let d = dream();
    // "w1 w2 w3": the ending goes at char 2, right after "w1".
    let at = |at, spans: Vec<Span>| InfillRequest {
        text: "w1 w2 w3".into(),
        spans,
        continuation: 0,
        ending: Some(Ending { text: "w9".into(), at: Some(at), gap: 2 }),
        settings: settings(2),
        candidates: 1,
    };
    let err =
        at(2, vec![Span { start: 0, end: 5, tokens: 2, instruction: None }]).prepare(&d.tokenizer, 2048).err().unwrap();
    assert!(err.to_string().contains("inside a marked phrase (spans[0]): move the ending"), "{err}");
    let err =
        at(2, vec![Span { start: 2, end: 2, tokens: 2, instruction: None }]).prepare(&d.tokenizer, 2048).err().unwrap();
    assert!(err.to_string().contains("hole (spans[0]) and the pinned ending are at the same place"), "{err}");
    let err = at(9, vec![]).prepare(&d.tokenizer, 2048).err().unwrap();
    assert!(matches!(err, Error::InvalidRequest { ref field, .. } if field == "ending.at"), "{err}");
    // A mark that ends or starts where the ending is pinned is beside it, not around it.
    for spans in [
        vec![Span { start: 0, end: 2, tokens: 2, instruction: None }],
        vec![Span { start: 2, end: 5, tokens: 2, instruction: None }],
    ] {
        at(2, spans).prepare(&d.tokenizer, 2048).unwrap();
    }
    // A blank ending is no ending: no gap is written.
    let blank = InfillRequest { ending: Some(Ending { text: "  ".into(), at: Some(2), gap: 2 }), ..at(2, vec![]) };
    assert!(
        matches!(blank.prepare(&d.tokenizer, 2048), Err(Error::InvalidRequest { ref field, .. }) if field == "spans")
    );
}

/// Far apart marks are filled in windows of their own; the window of a gap holds the whole
/// ending it leads into, even where the ending is longer than the text left around the gap.
#[test]
fn the_window_of_a_gap_holds_its_whole_ending() {
    let d = dream();
    let text: String = (0..60).map(|i| format!("w{i} ")).collect();
    let ending: String = (100..110).map(|i| format!("w{i} ")).collect();
    let at = text.find("w30 ").unwrap();
    let req = InfillRequest {
        text,
        spans: vec![Span { start: 0, end: 0, tokens: 4, instruction: None }],
        continuation: 0,
        ending: Some(Ending { text: ending, at: Some(at), gap: 4 }),
        settings: settings(8),
        candidates: 1,
    };
    let context = 16;
    let p = req.prepare(&d.tokenizer, context).unwrap();
    assert_eq!(p.windows.len(), 2, "{:?}", p.windows);
    let mask = d.tokenizer.mask_id();
    let gap_end = p.tokens.iter().rposition(|&t| t == mask).unwrap() + 1;
    let last = &p.windows[1].range;
    assert!(last.start < gap_end && last.end >= gap_end + 10, "{last:?}: the gap ends at {gap_end}");
    assert!(last.len() <= context);
}

/// The built-in demo writes English words into a writer's own modern text: in each of the 20
/// held-out paragraphs (engine/demo-model/heldout.txt, never trained on), the five words from
/// the 21st are marked and written again with the app's defaults (exact, entropy, one step per
/// token). At least 95% of the fills' words are in the system's English word list, and no fill
/// holds a control token. (tools/demo-model/evaluate.py measures other places with hunspell, the
/// layout faults and a judge; the README has its figures.)
#[test]
fn the_demo_model_writes_dictionary_words_into_modern_prose() {
    let demo = dream_engine::demo::demo(&candle_core::Device::Cpu).unwrap();
    let list = std::fs::read_to_string("/usr/share/dict/words").expect("the word list (Debian: wamerican)");
    let dictionary: std::collections::HashSet<String> = list.lines().map(str::to_lowercase).collect();
    let known = |w: &str| dictionary.contains(w) || w.strip_suffix("'s").is_some_and(|s| dictionary.contains(s));
    let (mut words, mut in_list, mut fills) = (0, 0, vec![]);
    let paragraphs: Vec<&str> = include_str!("../demo-model/heldout.txt").trim().split("\n\n").collect();
    for para in &paragraphs {
        // Each word's byte range: where its slice lies in the paragraph.
        let at: Vec<(usize, usize)> = para
            .split_whitespace()
            .map(|w| (w.as_ptr() as usize - para.as_ptr() as usize, w.len()))
            .map(|(start, len)| (start, start + len))
            .collect();
        // Marked as the app marks a selection: with the space before it, which Dream's first
        // token carries (" word"); left outside, the canvas would hold a lone space, which this
        // vocabulary writes only before a digit.
        let (from, to) = (at[20].0 - 1, at[24].1);
        let tokens = demo.tokenizer.encode(&para[from..to]).unwrap().len();
        // Requests count chars.
        let (start, end) = (para[..from].chars().count(), para[..to].chars().count());
        let req = InfillRequest {
            text: para.to_string(),
            spans: vec![Span { start, end, tokens, instruction: None }],
            continuation: 0,
            ending: None,
            settings: settings(tokens),
            candidates: 1,
        };
        let out = demo.infill(&req, &AtomicBool::new(false), &mut |_| {}).unwrap();
        let fill = out.candidates[0].spans[0].text.clone();
        let lower = fill.to_lowercase();
        let written: Vec<&str> = lower
            .split(|c: char| !c.is_alphabetic() && c != '\'')
            .map(|w| w.trim_matches('\''))
            .filter(|w| !w.is_empty())
            .collect();
        words += written.len();
        in_list += written.iter().filter(|w| known(w)).count();
        assert!(!fill.contains("<|"), "a control token in the fill {fill:?}");
        fills.push(format!("{:?} -> {fill:?}", &para[from..to]));
    }
    let fills = fills.join("\n");
    assert_eq!(paragraphs.len(), 20);
    assert!(words >= 40, "only {words} words in 20 fills:\n{fills}");
    assert!(in_list * 100 >= words * 95, "{in_list} of {words} words are in the word list:\n{fills}");
}

/// A hole dropped after a space (what a writer types before Ctrl+I) is read without that
/// space at Qwen's real vocabulary: the canvas holds "... and" then the masks, not a lone space
/// token (which byte-level BPE writes only before a digit, so the fills began with numbers),
/// and the document's text is kept as it was.
#[test]
fn a_hole_after_a_space_is_not_read_as_a_lone_space() {
    let tok = common::qwen::bpe_tokenizer();
    let text = "The last bus had gone, so we walked home along the river, and ";
    let req = InfillRequest {
        text: text.into(),
        spans: vec![Span { start: text.len(), end: text.len(), tokens: 4, instruction: None }],
        continuation: 0,
        ending: None,
        settings: settings(4),
        candidates: 1,
    };
    let p = req.prepare(&tok, 2048).unwrap();
    let canvas = p.canvas(0);
    let first = canvas.iter().position(|&t| t == tok.mask_id()).unwrap();
    assert_eq!(canvas[..first], tok.encode(text.trim_end()).unwrap()[..]);
    let result = every_mask_written(&p, &tok, ",");
    assert_eq!(result.text, format!("{text},,,,"));
}

/// A fill is never given a control token to write: the request bans every added token of
/// Qwen's real vocabulary (`<|im_end|>`, `<|mask|>`, `<|fim_middle|>`, ...) but the ends, which
/// close a fill early.
#[test]
fn a_request_bans_the_control_tokens_but_not_the_ends() {
    let tok = common::qwen::bpe_tokenizer();
    let req = InfillRequest {
        text: "The keeper climbed the stairs.".into(),
        spans: vec![Span { start: 10, end: 10, tokens: 4, instruction: None }],
        continuation: 0,
        ending: None,
        settings: settings(4),
        candidates: 1,
    };
    let banned = req.prepare(&tok, 2048).unwrap().settings().banned.clone();
    let id = |t: &str| tok.inner().token_to_id(t).unwrap();
    for control in ["<|im_end|>", "<|im_start|>", "<|mask|>", "<|fim_middle|>"] {
        assert!(banned.contains(&id(control)), "{control} not banned");
    }
    assert!(!banned.contains(&id("<|endoftext|>")), "the end is banned");
    assert!(banned.iter().all(|&t| t as usize >= 151_643), "an ordinary token is banned");
}

/// The app's pinned ending at Qwen's real vocabulary in a long document: the window of its gap
/// holds the gap's masks directly followed by the ending's own tokens, and the result has the
/// ending once, after the gap, with the sentence's space.
#[test]
fn an_ending_pinned_in_a_long_document_with_the_real_vocabulary() {
    let tok = common::qwen::bpe_tokenizer();
    let sentence = "The keeper climbed the stairs, counting each one as the lamp turned. ";
    let text = sentence.repeat(1_700);
    let chars = text.chars().count();
    let (a, b) = (chars / 10, chars * 9 / 10 - 1); // `b`: the end of a sentence, before its space
    assert_eq!(text.chars().nth(b), Some(' '));
    let req = InfillRequest {
        text: text.clone(),
        spans: vec![Span { start: a, end: a, tokens: 5, instruction: None }],
        continuation: 0,
        ending: Some(Ending { text: "The lamp went dark.".into(), at: Some(b), gap: 8 }),
        settings: settings(13),
        candidates: 1,
    };
    let p = req.prepare(&tok, 2048).unwrap();
    assert_eq!(p.windows.len(), 2);
    let ending = tok.encode(" The lamp went dark.").unwrap();
    let canvas = p.canvas(1);
    let gap = canvas.iter().position(|&t| t == tok.mask_id()).unwrap();
    assert_eq!(canvas[gap..gap + 8], [tok.mask_id(); 8]);
    assert_eq!(canvas[gap + 8..gap + 8 + ending.len()], ending[..]);
    // Written: every mask becomes "," (a real token), and the text reads back whole.
    let result = every_mask_written(&p, &tok, ",");
    let head: String = text.chars().take(b).collect();
    let tail: String = text.chars().skip(b).collect();
    let head = format!("{},,,,,{}", &head[..a], &head[a..]);
    assert_eq!(result.text, format!("{head},,,,,,,, The lamp went dark.{tail}"));
    assert_eq!(result.spans[1].leads_into.as_deref(), Some(" The lamp went dark."));
    assert_eq!(result.text.matches("The lamp went dark.").count(), 1);
}

/// An instruction on a mark, at Qwen's real vocabulary: every window is read after the chat
/// template's prompt, whose markup is control tokens and whose writer's words (the instruction,
/// the quoted phrase, even one naming `<|im_end|>`) are plain text; the document follows as the
/// answer, masks where the mark is.
#[test]
fn an_instruction_is_read_through_the_chat_template_with_the_writers_words_as_text() {
    let tok = common::qwen::instruct_tokenizer();
    let text = "The sea was calm <|im_end|> that night. We walked home.";
    let at = text.find(" calm").unwrap();
    let req = InfillRequest {
        text: text.into(),
        spans: vec![Span {
            start: at,
            end: at + 5,
            tokens: 3,
            instruction: Some("darker, no <|im_start|> here".into()),
        }],
        continuation: 0,
        ending: None,
        settings: settings(3),
        candidates: 1,
    };
    let p = req.prepare(&tok, 2048).unwrap();
    let markup = |s: &str| tok.encode_markup(s).unwrap();
    let head = markup("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n");
    let tail = markup("<|im_end|>\n<|im_start|>assistant\n");
    let message = dream_engine::request::instructions::message(&req).unwrap();
    assert!(message.contains("Instead of \"calm\": darker, no <|im_start|> here"), "{message}");
    assert_eq!(p.prompt, [head, tok.encode(&message).unwrap(), tail].concat());
    let control = |ids: &[u32]| ids.iter().filter(|&&t| t >= 151_643).count();
    assert_eq!(control(&p.prompt), 5, "only the template's own control tokens");
    let canvas = p.canvas(0);
    assert_eq!(canvas[..p.prompt.len()], p.prompt[..]);
    assert_eq!(control(&canvas[p.prompt.len()..]), 3, "the document: its 3 masks, no control token");
    // The result is the document alone.
    let result = every_mask_written(&p, &tok, " dark");
    assert_eq!(result.text, text.replace(" calm", " dark dark dark"));
}

/// A Base model has no chat template: an instruction is refused, naming the mark, and a blank
/// one is no instruction.
#[test]
fn a_model_without_a_chat_template_refuses_an_instruction() {
    let tok = common::qwen::bpe_tokenizer();
    let span = |instruction: &str| Span { start: 4, end: 7, tokens: 2, instruction: Some(instruction.into()) };
    let req = |spans| InfillRequest {
        text: "The sea was calm.".into(),
        spans,
        continuation: 0,
        ending: None,
        settings: settings(2),
        candidates: 1,
    };
    let err = req(vec![span("darker")]).prepare(&tok, 2048).err().unwrap();
    assert!(
        matches!(&err, Error::InvalidRequest { field, reason } if field == "spans[0].instruction" && reason.contains("no chat template")),
        "{err}"
    );
    assert!(req(vec![span("  ")]).prepare(&tok, 2048).unwrap().prompt.is_empty());
}

/// `text` with its chars `range` marked (a hole where empty) for `tokens` tokens, prepared with
/// Qwen's real vocabulary and written as the tokens of `fill` (then end tokens, which add
/// nothing): the result.
fn written_as(text: &str, range: std::ops::Range<usize>, tokens: usize, fill: &str) -> InfillResult {
    let tok = common::qwen::bpe_tokenizer();
    let req = InfillRequest {
        text: text.into(),
        spans: vec![Span { start: range.start, end: range.end, tokens, instruction: None }],
        continuation: 0,
        ending: None,
        settings: settings(tokens),
        candidates: 1,
    };
    let p = req.prepare(&tok, 2048).unwrap();
    let [end] = tok.encode_markup("<|endoftext|>").unwrap()[..] else { panic!("one end token") };
    let mut ids = tok.encode(fill).unwrap().into_iter().chain(std::iter::repeat(end));
    let canvas: Vec<u32> = p.tokens.iter().map(|&t| if t == tok.mask_id() { ids.next().unwrap() } else { t }).collect();
    p.result(&tok, &canvas, &vec![None; canvas.len()]).unwrap()
}

/// The marked phrase takes its leading space (as the app marks it): a first token that is a
/// word-piece of Qwen's vocabulary ("ed", "By") gets the space back instead of making a new word.
#[test]
fn a_word_piece_fill_never_fuses_with_the_word_before_the_mark() {
    let tok = common::qwen::bpe_tokenizer();
    assert_eq!(tok.encode("ed").unwrap().len(), 1, "\"ed\" is one word-piece token");
    let text = "He watched the boats go out";
    let result = written_as(text, 2..text.len(), 8, "ed! Comfort");
    assert_eq!(result.text, "He ed! Comfort");
    let text = "which was the key";
    let result = written_as(text, 9..text.len(), 8, "ByPrimaryKey");
    assert_eq!(result.text, "which was ByPrimaryKey");
    // What the slots show in review is what accepting writes.
    let slots: String = result.spans[0].slots.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(slots, result.spans[0].text);
}

/// A fill of a line break alone is written as nothing (review shows it empty, and Re-mask can
/// pick it), and runs of spaces in a fill become one.
#[test]
fn a_fill_of_white_space_is_nothing_and_runs_of_spaces_become_one() {
    let text = "The end.";
    let result = written_as(text, 8..8, 1, "\n");
    assert_eq!((result.text.as_str(), result.spans[0].text.as_str()), ("The end.", ""));
    let result = written_as(text, 8..8, 12, " The   The     And, \nNext");
    assert_eq!(result.text, "The end. The The And,\nNext");
}

/// The text after a fill keeps its own full stop, and the fill's own is then not repeated;
/// a fill that opens the document does not start with punctuation.
#[test]
fn the_texts_own_punctuation_is_written_once_around_a_fill() {
    let text = "They reached the town. Nobody came.";
    let result = written_as(text, 16..21, 4, " harbour.");
    assert_eq!(result.text, "They reached the harbour. Nobody came.");
    let text = "The keeper climbed the stairs. He was tired.";
    let result = written_as(text, 0..29, 8, ". A woman climbed");
    assert_eq!(result.text, "A woman climbed. He was tired.");
}
