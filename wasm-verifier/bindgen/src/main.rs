//! `assay-wasm-bindgen INPUT.wasm OUT_DIR OUT_NAME`: what `wasm-bindgen --target web --out-dir
//! OUT_DIR --out-name OUT_NAME INPUT.wasm` does, with every other option at the command's
//! default (the calls below are the ones the command makes, with those defaults), through the
//! same library at the same version. The JavaScript glue, the TypeScript declarations and the
//! processed `.wasm` are written to `OUT_DIR`.

use std::process::ExitCode;

use wasm_bindgen_cli_support::Bindgen;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, out_dir, out_name] = args.as_slice() else {
        eprintln!("usage: assay-wasm-bindgen INPUT.wasm OUT_DIR OUT_NAME");
        return ExitCode::from(2);
    };
    match run(input, out_dir, out_name) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("assay-wasm-bindgen: {input}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `wasm-bindgen --target web` with the command's defaults for everything else.
fn run(input: &str, out_dir: &str, out_name: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut b = Bindgen::new();
    b.web(true)?;
    // The command passes its hidden, deprecated `--reference-types` flag (off) too: the same
    // call here, so that the output is the command's (the library infers it from the module).
    #[allow(deprecated)]
    b.reference_types(false);
    b.input_path(input)
        .debug(false)
        .demangle(true)
        .keep_lld_exports(false)
        .keep_debug(false)
        .split_debug_info(false)
        .remove_name_section(false)
        .remove_producers_section(false)
        .typescript(true)
        .omit_imports(false)
        .omit_default_module_path(false)
        .split_linked_modules(false)
        .js_string_builtins(false)
        .ts_typed_array_buffers(false)
        .reset_state_function(false)
        .force_enable_abort_handler(false)
        .out_name(out_name);
    b.generate(out_dir)?;
    Ok(())
}
