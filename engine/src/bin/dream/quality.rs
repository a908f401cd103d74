//! `dream quality`: how well a model fills held-out text, for each speed setting a writer can
//! choose. Spans of 4, 16 and 64 tokens are cut from the text and written again, with and
//! without the text after them pinned, by exact decoding, fast (span-local) decoding and auto
//! (parallel reveal), at one step per token, half and a quarter of that. Every row writes the
//! same spans (greedy, so the same run gives the same table). Each row gives the share of
//! tokens written as the text had them and the model's pseudo-perplexity of what it wrote
//! (each written token scored with only itself masked): how likely the model finds its own fill
//! in context. The text's own tokens get the same measure, for reference.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use candle_core::{IndexOp, D};
use dream_engine::sampler::{AUTO_THRESHOLD, FAST_REFRESH};
use dream_engine::{generate, Alg, Canvas, Dream, ModelInput, Result, SamplingSettings};
use rand::{Rng, SeedableRng};

use crate::DeviceArgs;

/// Twenty paragraphs of a writer's own modern prose, never in the demo model's training.
const DEMO_HELD_OUT: &str = include_str!("../../../demo-model/heldout.txt");

#[derive(clap::Args)]
pub struct Args {
    /// `demo` (the built-in model, the default), a checkpoint folder or a `.gguf` file.
    #[arg(long, default_value = dream_engine::demo::NAME)]
    model: String,
    /// Held-out text to cut spans from (default: the demo's: modern prose it never saw).
    #[arg(long)]
    text: Option<PathBuf>,
    /// Spans written per row.
    #[arg(long, default_value_t = 12)]
    samples: usize,
    /// Tokens of text before each span (and after it, when the ending is pinned).
    #[arg(long, default_value_t = 96)]
    context: usize,
    /// The span lengths, in tokens.
    #[arg(long, value_delimiter = ',', default_value = "4,16,64")]
    spans: Vec<usize>,
    /// Print JSON lines instead of a Markdown table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    device: DeviceArgs,
}

/// One row of the table: a span length, ending pinned or not, a speed setting and its steps.
#[derive(serde::Serialize)]
struct Row {
    span: usize,
    ending: bool,
    mode: &'static str,
    steps: usize,
    /// Fraction of written tokens equal to the text's own.
    token_accuracy: f64,
    /// exp(mean -log p) of the written tokens, each read with only itself masked.
    perplexity: f64,
    /// Steps the runs took (auto finishes early).
    steps_run: f64,
    seconds_per_span: f64,
}

pub fn run(args: Args) -> Result<()> {
    let device = args.device.device.open()?;
    let dream = match args.model.as_str() {
        dream_engine::demo::NAME => dream_engine::demo::demo(&device)?,
        path => Dream::load(path.as_ref(), &device, args.device.dtype)?,
    };
    let text = match &args.text {
        Some(path) => std::fs::read_to_string(path).map_err(|e| dream_engine::Error::io(path, e))?,
        None => DEMO_HELD_OUT.to_owned(),
    };
    let ids = dream.tokenizer.encode(&text)?;
    let longest = args.spans.iter().copied().max().unwrap_or(0);
    let room = ids.len().saturating_sub(2 * args.context + longest);
    if room == 0 || args.samples == 0 {
        return Err(dream_engine::Error::invalid("text", "too short for the context and spans asked for"));
    }
    // The same places for every row, drawn once.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
    let starts: Vec<usize> = (0..args.samples).map(|_| args.context + rng.random_range(0..room)).collect();
    if !args.json {
        println!("| span | ending pinned | mode | steps | token accuracy | pseudo-perplexity | s per span |");
        println!("| --- | --- | --- | --- | --- | --- | --- |");
    }
    for &span in &args.spans {
        for ending in [false, true] {
            let cuts: Vec<Cut> =
                starts.iter().map(|&start| Cut { ids: &ids, start, span, context: args.context, ending }).collect();
            print_row(&measure(&dream, &cuts, "the text itself", None)?, args.json);
            for (mode, steps, cache_refresh, threshold) in settings(span) {
                let s = SamplingSettings { steps, alg: Alg::Entropy, cache_refresh, threshold, ..Default::default() };
                print_row(&measure(&dream, &cuts, mode, Some(&s))?, args.json);
            }
        }
    }
    Ok(())
}

/// The speed settings of the app: exact and fast at one step per token, half and a quarter,
/// and auto (one step per token, each also writing every token it is sure enough of).
fn settings(span: usize) -> Vec<(&'static str, usize, Option<usize>, Option<f32>)> {
    let steps = [span, (span / 2).max(1), (span / 4).max(1)];
    let mut out: Vec<_> = steps.iter().map(|&s| ("exact", s, None, None)).collect();
    out.extend(steps.iter().map(|&s| ("fast", s, Some(FAST_REFRESH), None)));
    out.push(("auto", span, None, Some(AUTO_THRESHOLD)));
    out
}

/// A span cut from the text at `start`, with `context` tokens before it and, when the ending is
/// pinned, the `context` tokens after it.
struct Cut<'a> {
    ids: &'a [u32],
    start: usize,
    span: usize,
    context: usize,
    ending: bool,
}

impl Cut<'_> {
    /// The text's own tokens in the span.
    fn truth(&self) -> &[u32] {
        &self.ids[self.start..self.start + self.span]
    }

    /// The canvas with the span as `fill`.
    fn canvas(&self, fill: impl IntoIterator<Item = u32>) -> Vec<u32> {
        let mut row = self.ids[self.start - self.context..self.start].to_vec();
        row.extend(fill);
        if self.ending {
            row.extend_from_slice(&self.ids[self.start + self.span..self.start + self.span + self.context]);
        }
        row
    }
}

/// One row: every span written again with `settings`, or, with `None`, the text's own tokens
/// scored by the same measure.
fn measure(dream: &Dream, cuts: &[Cut], mode: &'static str, settings: Option<&SamplingSettings>) -> Result<Row> {
    let (mut same, mut nll, mut seconds, mut steps_run) = (0usize, 0f64, 0f64, 0usize);
    let mask = dream.tokenizer.mask_id();
    for cut in cuts {
        let written = match settings {
            None => cut.truth().to_vec(),
            Some(s) => {
                let rows = vec![cut.canvas(std::iter::repeat_n(mask, cut.span))];
                let t = Instant::now();
                let out = generate(
                    &dream.model,
                    Canvas { rows, attention_mask: None },
                    s,
                    &AtomicBool::new(false),
                    &mut |_| {},
                )?;
                seconds += t.elapsed().as_secs_f64();
                steps_run += out.steps;
                out.ids[0][cut.context..cut.context + cut.span].to_vec()
            }
        };
        same += written.iter().zip(cut.truth()).filter(|(a, b)| a == b).count();
        nll += span_nll(dream, cut, &written)?;
    }
    let (n, spans) = ((cuts.len() * cuts[0].span) as f64, cuts.len() as f64);
    Ok(Row {
        span: cuts[0].span,
        ending: cuts[0].ending,
        mode,
        steps: settings.map_or(0, |s| s.steps),
        token_accuracy: same as f64 / n,
        perplexity: (nll / n).exp(),
        steps_run: steps_run as f64 / spans,
        seconds_per_span: seconds / spans,
    })
}

/// The summed -log p of each token of `written` in the span with only that token masked (the
/// rest of the fill and the text around it in view; Dream's shifted logits: the output before
/// a position predicts it): the model's pseudo-perplexity of the fill, one batch of `span` rows.
fn span_nll(dream: &Dream, cut: &Cut, written: &[u32]) -> Result<f64> {
    let filled = cut.canvas(written.iter().copied());
    let rows: Vec<Vec<u32>> = (0..cut.span)
        .map(|j| {
            let mut row = filled.clone();
            row[cut.context + j] = dream.tokenizer.mask_id();
            row
        })
        .collect();
    let input = ModelInput::new(&rows, None, dream.model.device())?;
    let hidden = dream.model.hidden_states(&input, None)?;
    let picked = (0..cut.span).map(|j| hidden.i((j, cut.context + j - 1))).collect::<candle_core::Result<Vec<_>>>()?;
    let logits = dream.model.logits(&candle_core::Tensor::stack(&picked, 0)?)?;
    let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?.to_vec2::<f32>()?;
    Ok(written.iter().zip(&logp).map(|(&t, lp)| -(lp[t as usize] as f64)).sum())
}

fn print_row(r: &Row, json: bool) {
    if json {
        println!("{}", serde_json::to_string(r).expect("a row serialises"));
        return;
    }
    let steps = match r.mode {
        "the text itself" => String::new(),
        "auto" => format!("{:.1} (auto)", r.steps_run),
        _ => r.steps.to_string(),
    };
    let seconds = if r.steps == 0 { "".to_string() } else { format!("{:.3}", r.seconds_per_span) };
    println!(
        "| {} | {} | {} | {} | {:.1}% | {:.1} | {} |",
        r.span,
        if r.ending { "yes" } else { "no" },
        r.mode,
        steps,
        100.0 * r.token_accuracy,
        r.perplexity,
        seconds
    );
}
