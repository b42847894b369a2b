//! The recurrent weight matrix W, dense or sparse, and its matrix-vector product.
//!
//! Every sum is accumulated in a fixed order (several independent lanes, then the lanes added in
//! order), so LLVM may vectorise the lanes but the result never depends on the platform.

/// How W is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Row-major N×N.
    Dense,
    /// Exactly `per_row` non-zeros in every row (ELLPACK): row r's entries are `r*per_row..`.
    Sparse,
}

/// W with unit spectral radius (or as given, for conformance cases).
#[derive(Clone, Debug)]
pub struct Recurrent {
    n: usize,
    layout: Layout,
    per_row: usize,
    values: Vec<f32>,
    /// Column of each value (sparse only); u16 halves the bytes read, N ≤ 1000 fits.
    cols: Vec<u16>,
}

const LANES: usize = 8;

impl Recurrent {
    /// A dense matrix from row-major values.
    pub fn dense(n: usize, values: Vec<f32>) -> Self {
        assert_eq!(values.len(), n * n, "dense W must be N×N");
        Self { n, layout: Layout::Dense, per_row: n, values, cols: Vec::new() }
    }

    /// A sparse matrix with `per_row` entries in every row, given as (column, value) per row.
    pub fn sparse(n: usize, per_row: usize, cols: Vec<u16>, values: Vec<f32>) -> Self {
        assert_eq!(values.len(), n * per_row);
        assert_eq!(cols.len(), n * per_row);
        assert!(cols.iter().all(|&c| (c as usize) < n));
        Self { n, layout: Layout::Sparse, per_row, values, cols }
    }

    pub fn n(&self) -> usize {
        self.n
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Non-zeros stored (N² when dense).
    pub fn stored(&self) -> usize {
        self.values.len()
    }

    /// Multiplies every weight by `factor` (used once, to normalise the spectral radius).
    pub fn scale(&mut self, factor: f32) {
        self.values.iter_mut().for_each(|v| *v *= factor);
    }

    /// The matrix as row-major f64, for the spectral-radius computation (off the audio path).
    pub fn to_dense_f64(&self) -> Vec<f64> {
        let n = self.n;
        let mut out = vec![0.0; n * n];
        match self.layout {
            Layout::Dense => out.iter_mut().zip(&self.values).for_each(|(o, &v)| *o = v as f64),
            Layout::Sparse => {
                for r in 0..n {
                    for j in r * self.per_row..(r + 1) * self.per_row {
                        out[r * n + self.cols[j] as usize] += self.values[j] as f64;
                    }
                }
            }
        }
        out
    }

    /// `out[r] = sum_c W[r][c] * s[c]`. `s` and `out` have length N.
    #[inline]
    pub fn mul_vec(&self, s: &[f32], out: &mut [f32]) {
        let s = &s[..self.n];
        let out = &mut out[..self.n];
        match self.layout {
            Layout::Dense => {
                for (row, o) in self.values.chunks_exact(self.n).zip(out.iter_mut()) {
                    *o = dot(row, s);
                }
            }
            Layout::Sparse => {
                let k = self.per_row;
                for ((vals, cols), o) in
                    self.values.chunks_exact(k).zip(self.cols.chunks_exact(k)).zip(out.iter_mut())
                {
                    *o = sparse_dot(vals, cols, s);
                }
            }
        }
    }
}

/// Dot product with `LANES` independent accumulators, summed in a fixed order.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = a.len() / LANES * LANES;
    for (ca, cb) in a[..chunks].chunks_exact(LANES).zip(b[..chunks].chunks_exact(LANES)) {
        for l in 0..LANES {
            acc[l] += ca[l] * cb[l];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in a[chunks..].iter().zip(&b[chunks..]) {
        tail += x * y;
    }
    reduce(acc) + tail
}

#[inline]
fn sparse_dot(vals: &[f32], cols: &[u16], s: &[f32]) -> f32 {
    const SL: usize = 4;
    let mut acc = [0.0f32; SL];
    let chunks = vals.len() / SL * SL;
    for (cv, cc) in vals[..chunks].chunks_exact(SL).zip(cols[..chunks].chunks_exact(SL)) {
        for l in 0..SL {
            acc[l] += cv[l] * s[cc[l] as usize];
        }
    }
    let mut tail = 0.0f32;
    for (v, &c) in vals[chunks..].iter().zip(&cols[chunks..]) {
        tail += v * s[c as usize];
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

#[inline(always)]
fn reduce(acc: [f32; LANES]) -> f32 {
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(w: &[f64], n: usize, s: &[f32]) -> Vec<f64> {
        (0..n).map(|r| (0..n).map(|c| w[r * n + c] * s[c] as f64).sum()).collect()
    }

    #[test]
    fn dense_and_sparse_agree_with_a_naive_product() {
        let n = 37;
        let s: Vec<f32> = (0..n).map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0).collect();
        let dense = Recurrent::dense(n, (0..n * n).map(|i| ((i * 31) % 17) as f32 / 8.0 - 1.0).collect());
        let per_row = 5;
        let cols: Vec<u16> = (0..n * per_row).map(|j| ((j * 13 + j / per_row) % n) as u16).collect();
        let sparse =
            Recurrent::sparse(n, per_row, cols, (0..n * per_row).map(|j| (j % 9) as f32 - 4.0).collect());
        for m in [&dense, &sparse] {
            let mut out = vec![0.0; n];
            m.mul_vec(&s, &mut out);
            let want = naive(&m.to_dense_f64(), n, &s);
            for (o, w) in out.iter().zip(&want) {
                assert!((*o as f64 - w).abs() < 1e-4, "{o} vs {w}");
            }
        }
    }

    #[test]
    fn sparse_duplicates_add_up_in_the_dense_copy() {
        let m = Recurrent::sparse(2, 2, vec![1, 1, 0, 0], vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m.to_dense_f64(), vec![0.0, 3.0, 7.0, 0.0]);
    }
}
