//! The official unmasking schedule: how many tokens each step reveals.

/// `torch.linspace(1, eps, steps + 1)` in f32, bit for bit as torch 2.5 computes it on CPU:
/// a single f32 step, then `start + step * i` for the first half and `end - step * (n - 1 - i)`
/// for the second, each with one rounding.
pub fn timesteps(steps: usize, eps: f32) -> Vec<f32> {
    let n = steps + 1;
    if n == 1 {
        return vec![1.0];
    }
    let step = (eps - 1.0) / (n - 1) as f32;
    (0..n)
        .map(|i| if i < n / 2 { step.mul_add(i as f32, 1.0) } else { (-step).mul_add((n - 1 - i) as f32, eps) })
        .collect()
}

/// Tokens to reveal at step `i` of `timesteps.len() - 1`: `int(num_mask * (1 - s / t))`,
/// everything left at the last step. `num_mask` is the batch's average masked count, in f32,
/// as the official code computes it.
///
/// ```
/// use dream_engine::sampler::schedule::{timesteps, transfer_count};
/// let ts = timesteps(16, 1e-3);
/// // 16 masks over 16 steps: the first step reveals nothing (16 * 0.0624 = 0.999).
/// assert_eq!(transfer_count(16.0, &ts, 0), 0);
/// assert_eq!(transfer_count(2.0, &ts, 15), 2);
/// ```
pub fn transfer_count(num_mask: f32, timesteps: &[f32], i: usize) -> usize {
    let steps = timesteps.len() - 1;
    if i + 1 >= steps {
        return num_mask as usize;
    }
    let (t, s) = (timesteps[i], timesteps[i + 1]);
    (num_mask * (1.0 - s / t)) as usize
}

/// The probability that a masked token is revealed at step `i` under the `origin` algorithm.
pub fn transfer_probability(timesteps: &[f32], i: usize) -> f32 {
    if i + 1 >= timesteps.len() - 1 {
        1.0
    } else {
        1.0 - timesteps[i + 1] / timesteps[i]
    }
}
