//! The n-gram model as bytes: the page counts a model and sends it, the worklet loads it.
//! Round trips are bit-exact, the numbers are those of the hash-map model the flat tables
//! replaced, lookups allocate nothing, and no input makes `from_bytes` panic or accept a model
//! whose distributions are not distributions.

use std::time::{Duration, Instant};
use tidepool_alloc_count::{allocations_during, CountingAlloc};
use tidepool_melody::{dataset, NGram, Token, VOCAB};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn split(name: &str) -> Vec<Vec<Token>> {
    dataset::read_split(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/chorales")),
        name,
    )
    .unwrap()
}

/// Histories a lookup can meet, and some it should not (BEGIN and bytes ≥ VOCAB inside).
fn odd_histories() -> Vec<Vec<Token>> {
    vec![
        vec![],
        vec![130],
        vec![200, 60],
        vec![255, 255, 255],
        vec![130, 130, 60],
        vec![60, 130, 129, 129],
    ]
}

/// Every prefix of every line (the history before each token, and the whole line).
fn for_each_history(lines: &[Vec<Token>], mut f: impl FnMut(&[Token])) {
    for line in lines {
        for i in 0..=line.len() {
            f(&line[..i]);
        }
    }
}

/// FNV-1a over the bits of the distributions after every history of `lines`.
fn fingerprint(model: &NGram, lines: &[Vec<Token>]) -> (usize, u64) {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut d = [0.0; VOCAB];
    let mut n = 0;
    for_each_history(lines, |history| {
        model.distribution(history, &mut d);
        for p in d {
            h = (h ^ p.to_bits()).wrapping_mul(0x0000_0100_0000_01b3);
        }
        n += 1;
    });
    (n, h)
}

fn assert_is_distribution(model: &NGram, history: &[Token], what: &str) {
    let mut d = [0.0; VOCAB];
    model.distribution(history, &mut d);
    let sum: f64 = d.iter().sum();
    assert!(
        (sum - 1.0).abs() < 1e-9,
        "{what}, history {history:?}: sums to {sum}"
    );
    assert!(
        d.iter().all(|p| p.is_finite() && *p > 0.0),
        "{what}, history {history:?}: {d:?}"
    );
}

/// The distributions and NLLs of the hash-map model (commit bed5636) the flat tables replaced,
/// recorded before the change: (order, histories, FNV-1a of the distributions' bits over every
/// prefix of valid.tokens then `odd_histories`, valid NLL, test NLL). Equal to the last bit.
const BEFORE: [(usize, usize, u64, f64, f64); 4] = [
    (
        1,
        18951,
        0x587e2a8b1c454990,
        1.5566368175850984,
        1.5811033115713986,
    ),
    (
        2,
        18951,
        0x1ee32f0127b6d41f,
        1.4509917560734646,
        1.4774437425246407,
    ),
    (
        3,
        18951,
        0xaedb8523edf04b1f,
        1.2665122798385982,
        1.261123193990596,
    ),
    (
        4,
        18951,
        0x0c4b9db19fc1d6fe,
        1.1500827414206838,
        1.1594853971225005,
    ),
];

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

#[test]
fn round_trips_are_bit_exact_and_the_numbers_are_those_from_before() {
    let (train, valid, test) = (split("train"), split("valid"), split("test"));
    let mut histories = valid.clone();
    histories.extend(odd_histories());
    for (order, count, hash, valid_nll, test_nll) in BEFORE {
        let model = NGram::train(&train, order);
        let bytes = model.to_bytes();
        let loaded = NGram::from_bytes(&bytes).unwrap_or_else(|e| panic!("order {order}: {e}"));
        assert_eq!(loaded, model, "order {order}");
        assert_eq!(loaded.order(), order);
        assert_eq!(loaded.to_bytes(), bytes, "order {order}");
        for m in [&model, &loaded] {
            assert_eq!(fingerprint(m, &histories), (count, hash), "order {order}");
            assert_eq!(m.nll(&valid), valid_nll, "order {order}");
            assert_eq!(m.nll(&test), test_nll, "order {order}");
        }
        // Bit-equal history by history, and each a distribution.
        let (mut a, mut b) = ([0.0; VOCAB], [0.0; VOCAB]);
        for_each_history(&histories, |h| {
            model.distribution(h, &mut a);
            loaded.distribution(h, &mut b);
            assert!(
                a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "order {order}, history {h:?}"
            );
            assert_is_distribution(&loaded, h, &format!("order {order}"));
        });
        let trained = best_of(5, || drop(NGram::train(&train, order)));
        let written = best_of(20, || drop(model.to_bytes()));
        let read = best_of(20, || drop(NGram::from_bytes(&bytes).unwrap()));
        println!(
            "order {order}: {} bytes; train {trained:?}, to_bytes {written:?}, from_bytes {read:?}",
            bytes.len()
        );
    }
}

#[test]
fn an_empty_model_round_trips_and_is_uniform() {
    for order in 1..=4 {
        let model = NGram::train(&[], order);
        let bytes = model.to_bytes();
        assert_eq!(bytes.len(), 12 + 16 * order);
        let loaded = NGram::from_bytes(&bytes).unwrap();
        assert_eq!(loaded, model);
        let mut d = [0.0; VOCAB];
        loaded.distribution(&[60, 62], &mut d);
        assert!(d.iter().all(|p| *p == 1.0 / VOCAB as f64));
    }
}

#[test]
fn lookups_do_not_allocate() {
    let train = split("train");
    let valid = split("valid");
    for order in 1..=4 {
        let model = NGram::from_bytes(&NGram::train(&train, order).to_bytes()).unwrap();
        let mut d = [0.0; VOCAB];
        let count = allocations_during(|| {
            for line in &valid[..10] {
                for i in 0..=line.len() {
                    model.distribution(&line[..i], &mut d);
                }
            }
        });
        assert_eq!(count, 0, "order {order}: {count} allocations");
    }
    assert!(allocations_during(|| drop(vec![0u8; 16])) > 0);
}

/// Where the parts of a well-formed model's bytes are.
struct Layout1 {
    order: usize,
    /// Per level: offset of n, n, m.
    levels: Vec<(usize, usize, usize)>,
}

fn layout(bytes: &[u8]) -> Layout1 {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let order = u32_at(8);
    let mut at = 12 + 8 * order;
    let mut levels = Vec::new();
    for _ in 0..order {
        let (n, m) = (u32_at(at), u32_at(at + 4));
        levels.push((at, n, m));
        at += 8 + 9 * n + 5 * m;
    }
    assert_eq!(at, bytes.len());
    Layout1 { order, levels }
}

fn small_lines() -> Vec<Vec<Token>> {
    split("train").into_iter().take(12).collect()
}

#[test]
fn errors_name_what_is_wrong() {
    let lines = small_lines();
    let good = NGram::train(&lines, 3).to_bytes();
    let l = layout(&good);
    assert_eq!(l.order, 3);
    let (at2, n2, m2) = l.levels[2];
    let keys2 = at2 + 8;
    let totals2 = keys2 + 4 * n2;
    let distinct2 = totals2 + 4 * n2;
    let tokens2 = distinct2 + n2;
    let counts2 = tokens2 + m2;
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        NGram::from_bytes(&b).unwrap_err()
    };
    let put = |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let cases: Vec<(String, &str)> = vec![
        (edit(&|b| b[0] = b'X'), "magic"),
        (edit(&|b| put(b, 4, 2)), "version 2"),
        (edit(&|b| put(b, 8, 5)), "order 5"),
        (edit(&|b| put(b, 8, 0)), "order 0"),
        (
            edit(&|b| b[12..20].copy_from_slice(&f64::NAN.to_bits().to_le_bytes())),
            "discount of level 0 is NaN",
        ),
        (
            edit(&|b| b[20..28].copy_from_slice(&1.0f64.to_bits().to_le_bytes())),
            "discount of level 1 is 1",
        ),
        (
            edit(&|b| b[12..20].copy_from_slice(&0.0f64.to_bits().to_le_bytes())),
            "discount of level 0 is 0",
        ),
        (edit(&|b| put(b, at2, n2 as u32 + 1)), "level 2: truncated"),
        (edit(&|b| put(b, at2, u32::MAX)), "level 2: truncated"),
        (edit(&|b| put(b, at2 + 4, u32::MAX)), "level 2: truncated"),
        (edit(&|b| b.truncate(b.len() - 1)), "level 2: truncated"),
        (edit(&|b| b.push(0)), "1 bytes after the last level"),
        (edit(&|b| put(b, keys2, 0xffff)), "token 255 is not < 131"),
        (
            edit(&|b| put(b, keys2, 0x1_0000)),
            "level 2: context 0: key 0x10000 is not 2 tokens",
        ),
        (edit(&|b| put(b, keys2, 0x3c82)), "BEGIN after a real token"),
        (
            edit(&|b| {
                let (a, c) = (keys2, keys2 + 4);
                let (x, y) = (b[a..a + 4].to_vec(), b[c..c + 4].to_vec());
                b[a..a + 4].copy_from_slice(&y);
                b[c..c + 4].copy_from_slice(&x);
            }),
            "in order",
        ),
        (
            edit(&|b| put(b, totals2, 12345)),
            "level 2: context 0: total 12345 is not the sum",
        ),
        (
            edit(&|b| b[distinct2] = 0),
            "level 2: context 0: 0 followers",
        ),
        (edit(&|b| b[distinct2] = 200), "200 followers is not 1–130"),
        (edit(&|b| b[distinct2 + n2 - 1] += 1), "past the"),
        (
            edit(&|b| b[tokens2] = 130),
            "level 2: context 0: follower 0 is token 130",
        ),
        (edit(&|b| put(b, counts2, 0)), "has count 0"),
    ];
    for (err, want) in cases {
        assert!(err.contains(want), "`{err}` does not say `{want}`");
    }
    // The followers of the first context with two or more out of order.
    let distinct = &good[distinct2..distinct2 + n2];
    let i = distinct
        .iter()
        .position(|&d| d >= 2)
        .expect("a context with two followers");
    let first = tokens2 + distinct[..i].iter().map(|&d| d as usize).sum::<usize>();
    let err = edit(&|b| b.swap(first, first + 1));
    let want = format!("level 2: context {i}: follower 1");
    assert!(
        err.contains(&want) && err.contains("does not follow token"),
        "{err}"
    );
}

/// xorshift64*: reproducible corruption.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn every_truncation_is_a_clean_error() {
    // Every length of a small order-4 model and of the full order-2 model.
    let full = split("train");
    for bytes in [
        NGram::train(&small_lines(), 4).to_bytes(),
        NGram::train(&full, 2).to_bytes(),
    ] {
        for len in 0..bytes.len() {
            let err = NGram::from_bytes(&bytes[..len]).expect_err("a truncated model loads");
            assert!(err.contains("truncated"), "length {len}: {err}");
        }
    }
    // The full order-4 model at a thousand lengths.
    let bytes = NGram::train(&full, 4).to_bytes();
    for i in 0..1000 {
        let len = bytes.len() * i / 1000;
        assert!(NGram::from_bytes(&bytes[..len]).is_err(), "length {len}");
    }
}

#[test]
fn corrupt_bytes_are_rejected_or_still_give_distributions() {
    let lines = small_lines();
    let mut histories: Vec<Vec<Token>> = lines.iter().take(4).cloned().collect();
    histories.extend(odd_histories());
    let mut rng = Rng(0x6e67_7261_6d73);
    let (mut accepted, mut rejected) = (0, 0);
    // Small models of every order (1500 cases each), and the full order-4 model (1000 cases).
    let full = NGram::train(&split("train"), 4);
    let models = (1..=4)
        .map(|order| (NGram::train(&lines, order), 1500))
        .chain([(full, 1000)]);
    for (model, cases) in models {
        let order = model.order();
        let good = model.to_bytes();
        let l = layout(&good);
        for case in 0..cases {
            let mut b = good.clone();
            let flips = 1 + rng.below(3);
            for _ in 0..flips {
                // Half the flips in the headers (magic to discounts, and each level's n and m),
                // where few bytes decide much.
                let at = if case % 2 == 0 {
                    let heads: Vec<usize> = (0..12 + 8 * l.order)
                        .chain(l.levels.iter().flat_map(|&(at, _, _)| at..at + 8))
                        .collect();
                    heads[rng.below(heads.len())]
                } else {
                    rng.below(b.len())
                };
                b[at] ^= 1 << rng.below(8);
            }
            if case % 7 == 0 {
                b.truncate(rng.below(b.len() + 1));
            }
            match NGram::from_bytes(&b) {
                Err(e) => {
                    assert!(!e.is_empty());
                    rejected += 1;
                }
                Ok(m) => {
                    accepted += 1;
                    for_each_history(&histories, |h| {
                        assert_is_distribution(&m, h, &format!("order {order}, case {case}"))
                    });
                }
            }
        }
    }
    println!(
        "corrupted models: {accepted} accepted (all still distributions), {rejected} rejected"
    );
    assert!(
        rejected > accepted,
        "{accepted} accepted, {rejected} rejected"
    );
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x7470_6e67);
    let good = NGram::train(&small_lines(), 2).to_bytes();
    for case in 0..2000 {
        let len = rng.below(200);
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Half of them start like a model, so the checks past the header run too.
        if case % 2 == 0 && b.len() >= 12 {
            b[..12].copy_from_slice(&good[..12]);
        }
        let _ = NGram::from_bytes(&b);
    }
}
