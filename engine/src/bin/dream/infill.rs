//! `dream infill`: a request from JSON or flags, streamed as JSON lines or a live view.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use dream_engine::hub::{resolve_blocking, DownloadProgress, HubOptions, ProgressFn};
use dream_engine::request::Ending;
use dream_engine::{Alg, Dream, Error, InfillRequest, InfillStep, Infilled, Result, Span};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::{DeviceArgs, INTERRUPTED};

#[derive(clap::Args)]
pub struct Args {
    /// `demo` (the built-in model), a local checkpoint folder or a Hub repo id (e.g.
    /// Dream-org/Dream-v0-Instruct-7B).
    #[arg(long, env = "DREAM_MODEL")]
    model: String,
    /// Fetch again every cached file of the model that does not verify (after a damaged
    /// download), then run.
    #[arg(long)]
    redownload: bool,
    /// The request as JSON (see `InfillRequest`): a file, or `-` for stdin. Flags below
    /// override its fields.
    #[arg(long, value_name = "FILE")]
    request: Option<PathBuf>,
    /// The text. `<|mask|>` written in it (this flag's own syntax, for the shell) is one masked
    /// position: a run of N of them is a hole of N tokens. Text in `--request` is plain: there
    /// `<|mask|>` is characters, as in the app.
    #[arg(long)]
    text: Option<String>,
    /// Masked tokens to generate after the text (before the ending).
    #[arg(long, value_name = "N")]
    mask: Option<usize>,
    /// Replace characters START..END of the text with TOKENS masks (repeatable).
    #[arg(long, value_name = "START:END:TOKENS", value_parser = parse_span)]
    span: Vec<Span>,
    /// What to write in every mark that has no instruction of its own ("darker", "describe the
    /// smell of the sea"): read through the model's chat template (an Instruct model).
    #[arg(long)]
    instruction: Option<String>,
    /// Pinned text the generated passage must lead into.
    #[arg(long)]
    ending: Option<String>,
    #[arg(long)]
    steps: Option<usize>,
    #[arg(long)]
    alg: Option<Alg>,
    #[arg(long)]
    temperature: Option<f32>,
    #[arg(long)]
    top_p: Option<f32>,
    #[arg(long)]
    top_k: Option<usize>,
    #[arg(long)]
    alg_temp: Option<f32>,
    #[arg(long)]
    seed: Option<u64>,
    /// Parallel reveal: each step writes every token at least this probable (can finish early).
    #[arg(long)]
    threshold: Option<f32>,
    /// Write this many versions at once (1-3; seeds seed, seed+1, ...; vary with temperature > 0).
    #[arg(long, value_name = "N")]
    candidates: Option<usize>,
    /// Span-local decoding: recompute only the masked spans, refreshing the rest with a full pass
    /// once N tokens were revealed since the last.
    #[arg(long, value_name = "N")]
    cache_refresh: Option<usize>,
    #[command(flatten)]
    device: DeviceArgs,
    /// `jsonl`: one JSON object per step, then the result.
    #[arg(long)]
    events: Option<Events>,
}

/// How the run is reported on stdout besides the final text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Events {
    /// One JSON object per line: `loaded`, a `step` per denoising step, then `done`.
    Jsonl,
}

/// The `--text` syntax: `text` without its `<|mask|>`s, and a hole where each run of them was
/// (as many tokens as the run has masks).
fn holes_at_masks(text: &str) -> (String, Vec<Span>) {
    const MASK: &str = "<|mask|>";
    let (mut plain, mut holes) = (String::new(), Vec::<Span>::new());
    let mut chars = 0;
    for (i, piece) in text.split(MASK).enumerate() {
        if i > 0 {
            match holes.last_mut() {
                Some(h) if h.start == chars => h.tokens += 1,
                _ => holes.push(Span { start: chars, end: chars, tokens: 1, instruction: None }),
            }
        }
        plain.push_str(piece);
        chars += piece.chars().count();
    }
    (plain, holes)
}

fn parse_span(s: &str) -> std::result::Result<Span, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let [start, end, tokens] = parts.as_slice() else {
        return Err(format!("`{s}` is not START:END:TOKENS"));
    };
    let num = |v: &str| v.parse::<usize>().map_err(|_| format!("`{v}` in `{s}` is not a number"));
    Ok(Span { start: num(start)?, end: num(end)?, tokens: num(tokens)?, instruction: None })
}

impl Args {
    fn request(&self) -> Result<InfillRequest> {
        let mut req = match &self.request {
            Some(path) => {
                let mut text = String::new();
                if path.as_os_str() == "-" {
                    std::io::stdin().read_to_string(&mut text).map_err(|e| Error::io("<stdin>", e))?;
                } else {
                    text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
                }
                dream_engine::json::parse(&text, path)?
            }
            None => InfillRequest {
                text: String::new(),
                spans: vec![],
                continuation: 0,
                ending: None,
                settings: Default::default(),
                candidates: 1,
            },
        };
        if let Some(t) = &self.text {
            let (text, holes) = holes_at_masks(t);
            let spans_given = !self.span.is_empty() || !req.spans.is_empty();
            if !holes.is_empty() && spans_given {
                return Err(Error::invalid("text", "give the holes as `<|mask|>` in --text or as spans, not both"));
            }
            req.text = text;
            req.spans.extend(holes);
        }
        if self.request.is_none() && self.text.is_none() {
            return Err(Error::invalid("text", "give --text or --request"));
        }
        if let Some(n) = self.mask {
            req.continuation = n;
        }
        req.spans.extend(self.span.iter().cloned());
        if let Some(i) = &self.instruction {
            req.spans.iter_mut().filter(|s| s.instruction.is_none()).for_each(|s| s.instruction = Some(i.clone()));
        }
        if let Some(n) = self.candidates {
            req.candidates = n;
        }
        if let Some(e) = &self.ending {
            req.ending = Some(Ending::after_text(e.as_str()));
        }
        let s = &mut req.settings;
        macro_rules! set {
            ($field:ident) => {
                if let Some(v) = self.$field {
                    s.$field = v;
                }
            };
            (opt $field:ident) => {
                if self.$field.is_some() {
                    s.$field = self.$field;
                }
            };
        }
        set!(steps);
        set!(alg);
        set!(temperature);
        set!(seed);
        set!(opt top_p);
        set!(opt top_k);
        set!(opt alg_temp);
        set!(opt threshold);
        set!(opt cache_refresh);
        Ok(req)
    }
}

/// What `--events jsonl` prints: one `step` line per denoising step, then `done`.
#[derive(serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum InfillEvent<'a> {
    Step(&'a InfillStep),
    Done(&'a Infilled),
}

pub fn run(args: Args) -> Result<()> {
    let request = args.request()?;
    let options = HubOptions { redownload: args.redownload, ..HubOptions::from_env() };
    let device = args.device.device.open()?;
    let started = std::time::Instant::now();
    let dream = if args.model == dream_engine::demo::NAME {
        dream_engine::demo::demo(&device)?
    } else {
        let dir = resolve_blocking(&args.model, &options, Some(download_bars()), &INTERRUPTED)
            .inspect_err(|e| interrupted(e, "while getting the model; a partial download resumes next time"))?;
        Dream::load_cancellable(&dir, &device, args.device.dtype, &INTERRUPTED)
            .inspect_err(|e| interrupted(e, "while loading the model"))?
    };
    if args.events.is_some() {
        // The first line: the model is loaded (what a harness times separately from the steps).
        let loaded = serde_json::json!({
            "event": "loaded",
            "model": args.model,
            "device": dream_engine::device::describe(&device),
            "dtype": format!("{:?}", dream.model.dtype()).to_lowercase(),
            "seconds": started.elapsed().as_secs_f64(),
        });
        println!("{loaded}");
    }
    let prepared = dream.prepare(&request)?;
    for w in &prepared.warnings {
        eprintln!("note: {w}");
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let jsonl = args.events.is_some();
    let live = !jsonl && stdout.is_terminal();
    let mut write_err = None;
    // The last step's spans, for what to say if Ctrl+C stops the run.
    let (mut step, mut steps, mut spans) = (0, prepared.settings().steps, Vec::new());
    let done = dream
        .run(&prepared, &INTERRUPTED, &mut |event| {
            (step, steps) = (event.tokens.step + 1, event.tokens.steps);
            spans.clone_from(&event.spans);
            let written = if jsonl {
                serde_json::to_writer(&mut out, &InfillEvent::Step(&event))
                    .map_err(std::io::Error::from)
                    .and_then(|()| writeln!(out))
            } else if live {
                // Redraw the document with the masks still to fill shown as shaded blocks.
                let text = prepared.preview(&event.spans, "\x1b[2m░\x1b[0m");
                let part = match event.windows {
                    1 => String::new(),
                    n => format!(" (window {} of {n})", event.window + 1),
                };
                write!(out, "\x1b[2J\x1b[H{text}\n\n\x1b[2mstep {step}/{steps}{part}\x1b[0m\n")
                    .and_then(|()| out.flush())
            } else {
                Ok(())
            };
            if let Err(e) = written {
                write_err.get_or_insert(e);
            }
        })
        .inspect_err(|e| {
            // The marks, not the whole document (which may be a novel).
            let marks: String =
                spans.iter().filter(|v| v.row == 0).map(|v| format!("\n[{}] {}", v.span + 1, v.shown("░"))).collect();
            interrupted(e, &format!("after step {step} of {steps}; nothing was written. The marks so far:{marks}"))
        })?;
    if let Some(e) = write_err {
        return Err(Error::io("<stdout>", e));
    }
    let written = if jsonl {
        serde_json::to_writer(&mut out, &InfillEvent::Done(&done))
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        if live {
            write!(out, "\x1b[2J\x1b[H").ok();
        }
        if let [only] = done.candidates.as_slice() {
            writeln!(out, "{}", only.text)
        } else {
            done.candidates
                .iter()
                .enumerate()
                .try_for_each(|(i, c)| writeln!(out, "--- candidate {} ---\n{}", i + 1, c.text))
        }
    };
    written.map_err(|e| Error::io("<stdout>", e))
}

/// Says what was done when `e` is the stop a Ctrl+C asked for.
fn interrupted(e: &Error, what: &str) {
    if matches!(e, Error::Cancelled) {
        eprintln!("interrupted {what}");
    }
}

/// One progress bar per downloaded file, on stderr.
fn download_bars() -> ProgressFn {
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template("{msg:30} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
        .expect("valid template");
    let open = std::sync::Mutex::new(std::collections::HashMap::<String, ProgressBar>::new());
    std::sync::Arc::new(move |p: &DownloadProgress| {
        let mut open = open.lock().expect("progress lock");
        let bar = open.entry(p.file.clone()).or_insert_with(|| {
            let b = bars.add(ProgressBar::new(p.total));
            b.set_style(style.clone());
            b.set_message(p.file.clone());
            b
        });
        bar.set_length(p.total);
        bar.set_position(p.downloaded);
        if p.total > 0 && p.downloaded >= p.total {
            bar.finish();
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_in_the_text_flag_are_holes_and_a_run_of_them_one_hole() {
        let (text, holes) = holes_at_masks("Ünï <|mask|><|mask|> and<|mask|>.");
        assert_eq!(text, "Ünï  and.");
        assert_eq!(
            holes,
            [
                Span { start: 4, end: 4, tokens: 2, instruction: None },
                Span { start: 8, end: 8, tokens: 1, instruction: None }
            ]
        );
        assert_eq!(holes_at_masks("plain").1, []);
    }
}
