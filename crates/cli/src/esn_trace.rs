//! `tidepool esn-trace case.json`: runs explicit ESN matrices through the engine's own reservoir
//! code and prints states and outputs, for conformance checks against ReservoirPy.

use serde_json::{json, Value};
use tidepool_reservoir::{sigmoid, Esn, EsnMatrices, Feedback};

fn matrix(case: &Value, key: &str) -> Result<(Vec<f32>, usize, usize), String> {
    let rows = case[key]
        .as_array()
        .ok_or(format!("`{key}` must be a list of rows"))?;
    let cols = rows.first().and_then(Value::as_array).map_or(0, Vec::len);
    let mut out = Vec::with_capacity(rows.len() * cols);
    for (r, row) in rows.iter().enumerate() {
        let row = row
            .as_array()
            .ok_or(format!("`{key}` row {r} is not a list"))?;
        if row.len() != cols {
            return Err(format!(
                "`{key}` row {r} has {} entries, row 0 has {cols}",
                row.len()
            ));
        }
        for v in row {
            out.push(
                v.as_f64()
                    .ok_or(format!("`{key}` row {r} holds a non-number"))? as f32,
            );
        }
    }
    Ok((out, rows.len(), cols))
}

/// The trace of `case` as JSON: `{"states": T×N, "outputs": T×K}`.
pub fn trace(case: &Value) -> Result<Value, String> {
    let (w, n, n2) = matrix(case, "W")?;
    if n != n2 {
        return Err(format!("`W` must be square, it is {n}×{n2}"));
    }
    let (win, rows, d) = matrix(case, "Win")?;
    if rows != n {
        return Err(format!("`Win` must have N = {n} rows, it has {rows}"));
    }
    let bias: Vec<f32> = case["bias"]
        .as_array()
        .ok_or("`bias` must be a list")?
        .iter()
        .map(|v| {
            v.as_f64()
                .map(|v| v as f32)
                .ok_or("`bias` holds a non-number")
        })
        .collect::<Result<_, _>>()?;
    let lr = case["lr"].as_f64().ok_or("`lr` must be a number")? as f32;
    let (wout, k, cols) = matrix(case, "Wout")?;
    if cols != n {
        return Err(format!("`Wout` must be K×N with N = {n}, it is {k}×{cols}"));
    }
    let (wfb, f) = if case["Wfb"].is_null() {
        (Vec::new(), 0)
    } else {
        let (m, rows, f) = matrix(case, "Wfb")?;
        if rows != n || f != k {
            return Err(format!("`Wfb` must be N×K = {n}×{k}, it is {rows}×{f}"));
        }
        (m, f)
    };
    let g: fn(f32) -> f32 = match case["feedback"].as_str().unwrap_or("none") {
        "none" => |_| 0.0,
        "identity" => |y| y,
        "sigmoid" => sigmoid,
        other => {
            return Err(format!(
                "`feedback` must be none, identity or sigmoid, not `{other}`"
            ))
        }
    };
    let (inputs, _, d_in) = matrix(case, "inputs")?;
    if d_in != d {
        return Err(format!(
            "`inputs` rows have {d_in} entries, `Win` has D = {d} columns"
        ));
    }
    let mut esn = Esn::from_matrices(EsnMatrices {
        n,
        w,
        win,
        inputs: d,
        wfb,
        feedback: f,
        bias,
        wout,
        leak: lr,
    });
    let mut fb: Vec<f32> = vec![g(0.0); f];
    let (mut states, mut outputs) = (Vec::new(), Vec::new());
    for x in inputs.chunks(d.max(1)) {
        let y = esn
            .step(
                x,
                if f > 0 {
                    Feedback::Dense(&fb)
                } else {
                    Feedback::None
                },
            )
            .to_vec();
        fb.iter_mut().zip(&y).for_each(|(b, &v)| *b = g(v));
        states.push(esn.state().to_vec());
        outputs.push(y);
    }
    Ok(json!({ "states": states, "outputs": outputs }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixtures were computed by ReservoirPy 0.4.2 itself (tools/esn_cases.py).
    #[test]
    fn matches_reservoirpy_fixtures_within_1e_4() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../reservoir/tests/fixtures/esn"
        );
        let mut cases = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let case: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let got = trace(&case).unwrap();
            for (key, want) in [
                ("states", "expected_states"),
                ("outputs", "expected_outputs"),
            ] {
                let (a, b) = (got[key].as_array().unwrap(), case[want].as_array().unwrap());
                assert_eq!(a.len(), 300, "{path:?}");
                assert_eq!(a.len(), b.len());
                let worst = a
                    .iter()
                    .zip(b)
                    .flat_map(|(r, s)| {
                        r.as_array()
                            .unwrap()
                            .iter()
                            .zip(s.as_array().unwrap())
                            .map(|(x, y)| (x.as_f64().unwrap() - y.as_f64().unwrap()).abs())
                    })
                    .fold(0.0, f64::max);
                assert!(worst < 1e-4, "{path:?} {key}: max |Δ| = {worst:e}");
            }
            cases += 1;
        }
        assert!(cases >= 4, "fixtures missing");
    }

    #[test]
    fn bad_cases_get_clear_errors() {
        let base = json!({"W": [[0.5]], "Win": [[1.0]], "bias": [0.0], "lr": 0.5, "Wfb": null, "Wout": [[1.0]], "feedback": "none", "inputs": [[1.0]]});
        assert!(trace(&base).is_ok());
        let mut bad = base.clone();
        bad["W"] = json!([[0.5, 0.1]]);
        assert!(trace(&bad).unwrap_err().contains("square"));
        let mut bad = base.clone();
        bad["feedback"] = json!("tanh");
        assert!(trace(&bad).unwrap_err().contains("feedback"));
        let mut bad = base;
        bad["inputs"] = json!([[1.0, 2.0]]);
        assert!(trace(&bad).unwrap_err().contains("inputs"));
    }
}
