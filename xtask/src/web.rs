//! Builds the wasm engine into `pkg/` and serves the static page on 127.0.0.1 with a strict
//! Content-Security-Policy (std only: a static server is a few dozen lines).

use crate::{root, sh};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

/// Only the page's own scripts, its own wasm (compiled by the page: 'wasm-unsafe-eval') and its
/// own worklet; no inline script or style, no plugins, no framing, no other origin.
pub const CSP: &str =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; \
style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'none'; frame-ancestors 'none'";

/// Folders the server may read from; anything else is 404.
/// `data` for the rhythm panel's built-in corpus (`data/rhythm/builtin.json`: its scatter and
/// "train on the built-in corpus"), one file shared with the CLI rather than a copy under web/.
const SERVED: &[&str] = &["web", "worklet", "pkg", "data"];

/// `cargo build` the wasm crate (size-optimised profile, simd128), `wasm-bindgen` it to pkg/ and
/// shrink it with `wasm-opt`; the same with the `tools` feature into pkg/tools/ (see [`bindgen`]).
pub fn build() -> Result<(), String> {
    bindgen("web", "pkg")
}

/// binaryen's `wasm-opt`, pinned in package.json (devDependency `binaryen`, installed by
/// `cargo xtask setup`'s `npm ci`); a Node script, so it runs wherever the tests run.
const WASM_OPT: &str = "node_modules/binaryen/bin/wasm-opt";

/// What rustc emits for wasm32-unknown-unknown with simd128 (`wasm-opt --print-features` on the
/// cargo output); wasm-opt also reads them from the module's target_features section.
const WASM_FEATURES: &[&str] = &[
    "--enable-simd",
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-multivalue",
    "--enable-reference-types",
];

/// `wasm-opt -O3`, except that a function with one caller is inlined into it only when small (as
/// binaryen's other inlining: 20): unlimited, it builds huge functions that V8 takes longer to
/// tier up, so a fresh engine's first ~2000 blocks ran slower than without wasm-opt.
const WASM_OPT_PASSES: &[&str] = &["-O3", "--one-caller-inline-max-function-size=20"];

/// The two wasm modules: what the page and the worklet load (`out_dir`), and, with the `tools`
/// feature, the network builder with W's spectral radius, the recording renderer and the
/// benchmark exports (`out_dir/tools`, loaded only by web/network-worker.js, web/render-worker.js
/// and tests/bench/). The second build reuses every external dependency; the workspace crates
/// are compiled again (the reservoir's features differ, and what depends on it) and linked.
pub fn bindgen(target: &str, out_dir: &str) -> Result<(), String> {
    bindgen_one(target, out_dir, None)?;
    bindgen_one(target, &format!("{out_dir}/tools"), Some("tools"))
}

/// Builds the wasm crate with `features`, runs `wasm-bindgen --target <target>` into `out_dir`
/// (without the name section: 29 KB of function names, which only stack traces would show), then
/// `wasm-opt` over the result when binaryen is installed: 316 KB → 274 KB, and no slower (in
/// Node, tiered up: the engine block and the f32 LSTM step ~10% faster, the reservoir and the
/// quantized LSTM the same). Its passes never change a float result (no fast-math): the worklet
/// == CLI render tests compare pkg/'s samples bit for bit.
fn bindgen_one(target: &str, out_dir: &str, features: Option<&str>) -> Result<(), String> {
    let mut cargo = vec![
        "build",
        "-p",
        "tidepool-wasm",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm",
    ];
    if let Some(features) = features {
        cargo.extend_from_slice(&["--features", features]);
    }
    sh("cargo", &cargo, &[])?;
    let wasm = "target/wasm32-unknown-unknown/wasm/tidepool_wasm.wasm";
    sh(
        "wasm-bindgen",
        &[
            "--target",
            target,
            "--no-typescript",
            "--remove-name-section",
            "--out-dir",
            out_dir,
            wasm,
        ],
        &[],
    )?;
    let out = format!("{out_dir}/tidepool_wasm_bg.wasm");
    if !root().join(WASM_OPT).is_file() {
        println!("(no {WASM_OPT}: `cargo xtask setup` installs it; {out} is not wasm-opt'ed)");
        return Ok(());
    }
    let tmp = format!("{out}.opt");
    let mut args = vec![WASM_OPT];
    args.extend_from_slice(WASM_OPT_PASSES);
    args.extend_from_slice(WASM_FEATURES);
    args.extend_from_slice(&[out.as_str(), "-o", tmp.as_str()]);
    sh("node", &args, &[])?;
    std::fs::rename(root().join(&tmp), root().join(&out)).map_err(|e| format!("{tmp}: {e}"))
}

/// Serves until killed. `TIDEPOOL_PORT` picks the port (default 8000; 0 picks a free one).
/// `build` first rebuilds pkg/ (the tests serve what `cargo xtask test` already built).
pub fn serve(build_first: bool) -> Result<(), String> {
    if build_first {
        build()?;
    }
    let port = std::env::var("TIDEPOOL_PORT").unwrap_or_else(|_| "8000".into());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))
        .map_err(|e| format!("cannot listen on port {port}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("tidepool is playing at http://{addr}/");
    std::io::stdout().flush().ok();
    let base = root();
    for stream in listener.incoming().flatten() {
        let base = base.clone();
        std::thread::spawn(move || {
            let _ = respond(stream, &base);
        });
    }
    Ok(())
}

fn respond(mut stream: TcpStream, base: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // Drain the headers; nothing in them matters to a static server.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    if method != "GET" && method != "HEAD" {
        return send(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            b"GET only\n",
            method == "HEAD",
        );
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    match resolve(base, path) {
        Some(file) => match std::fs::read(&file) {
            Ok(body) => send(
                &mut stream,
                "200 OK",
                content_type(&file),
                &body,
                method == "HEAD",
            ),
            Err(_) => send(
                &mut stream,
                "404 Not Found",
                "text/plain",
                b"not found\n",
                method == "HEAD",
            ),
        },
        None => send(
            &mut stream,
            "404 Not Found",
            "text/plain",
            b"not found\n",
            method == "HEAD",
        ),
    }
}

/// The file for a request path: `/` is web/index.html; otherwise a path inside one of
/// [`SERVED`], with no `..`, no absolute parts, no hidden files.
pub fn resolve(base: &Path, path: &str) -> Option<PathBuf> {
    let path = if path == "/" { "/web/index.html" } else { path };
    let rel = Path::new(path.trim_start_matches('/'));
    let mut parts = rel.components();
    let top = match parts.next()? {
        Component::Normal(top) => top.to_str()?,
        _ => return None,
    };
    if !SERVED.contains(&top) {
        return None;
    }
    let clean =
        parts.all(|c| matches!(c, Component::Normal(p) if !p.to_string_lossy().starts_with('.')));
    let file = base.join(rel);
    (clean && file.is_file()).then_some(file)
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "safetensors" | "bin" => "application/octet-stream",
        _ => "application/octet-stream",
    }
}

fn send(
    stream: &mut TcpStream,
    status: &str,
    kind: &str,
    body: &[u8],
    head: bool,
) -> std::io::Result<()> {
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nContent-Security-Policy: {CSP}\r\n\
X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(header.as_bytes())?;
    if !head {
        stream.write_all(body)?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_served_folders_and_no_escapes() {
        let base = root();
        assert!(resolve(&base, "/web/../Cargo.toml").is_none());
        assert!(resolve(&base, "/Cargo.toml").is_none());
        assert!(resolve(&base, "/xtask/src/main.rs").is_none());
        assert!(resolve(&base, "//etc/passwd").is_none());
        assert!(resolve(&base, "/web/%2e%2e/Cargo.toml").is_none());
        assert_eq!(
            resolve(&base, "/"),
            Some(base.join("web/index.html")).filter(|p| p.is_file())
        );
        // The tools module is served from its subfolder, with the types the browser insists on.
        let tools = base.join("pkg/tools/tidepool_wasm_bg.wasm");
        if tools.is_file() {
            assert_eq!(
                resolve(&base, "/pkg/tools/tidepool_wasm_bg.wasm"),
                Some(tools.clone())
            );
        }
        assert_eq!(content_type(&tools), "application/wasm");
        assert_eq!(
            content_type(&base.join("pkg/tools/tidepool_wasm.js")),
            "text/javascript; charset=utf-8"
        );
        assert!(resolve(&base, "/pkg/tools/../../Cargo.toml").is_none());
        assert_eq!(
            resolve(&base, "/data/rhythm/builtin.json"),
            Some(base.join("data/rhythm/builtin.json"))
        );
        assert!(resolve(&base, "/data/../Cargo.toml").is_none());
    }
}
