// tern convert: a Hugging Face checkpoint directory -> GGUF (docs/CONVERT.md).
#include <unistd.h>

#include <cstdio>

#include "cli/common.h"
#include "convert/arch.h"
#include "convert/convert.h"
#include "core/error.h"
#include "core/timer.h"

namespace tern::cli {

RunFn add_convert(CLI::App& app) {
  auto* cmd = app.add_subcommand("convert", "Convert a Hugging Face BitNet checkpoint directory to GGUF");
  struct Args {
    std::string dir, out, outtype = "i2_s", quant_embd, vocab_pre, name;
    bool list = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("HF_DIR", a->dir, "Directory with config.json, *.safetensors and tokenizer files");
  cmd->add_option("-o,--out", a->out, "Output GGUF file");
  cmd->add_option("--outtype", a->outtype, "Projection type: i2_s (default), tq2_0, tq1_0, f16, bf16, f32");
  cmd->add_option("--quant-embd", a->quant_embd, "Embedding / output head type: f16 (default), f32, bf16, q8_0, q6_k, q4_k, q4_0");
  cmd->add_option("--vocab-pre", a->vocab_pre, "tokenizer.ggml.pre to write (llama-bpe, gpt2) when detection fails");
  cmd->add_option("--name", a->name, "general.name (default: the directory's name)");
  cmd->add_flag("--list", a->list, "List the supported architectures and exit");
  return [a]() {
    if (a->list) {
      for (const auto& arch : convert::hf_architectures()) std::printf("%s\n", arch.description);
      return 0;
    }
    if (a->dir.empty()) fail("tern convert: give the Hugging Face model directory (tern convert HF_DIR -o OUT.gguf)");
    if (a->out.empty()) fail("tern convert: give the output file with -o OUT.gguf");
    convert::ConvertOptions o;
    auto t = ggml_type_from_name(a->outtype);
    if (!t) fail("--outtype ", a->outtype, ": unknown type (use i2_s, tq2_0, tq1_0, f16, bf16 or f32)");
    o.outtype = *t;
    if (!a->quant_embd.empty()) {
      auto et = ggml_type_from_name(a->quant_embd);
      if (!et) fail("--quant-embd ", a->quant_embd, ": unknown type (use f16, f32, bf16, q8_0, q6_k, q4_k, q4_0)");
      o.embd_type = *et;
    }
    o.vocab_pre = a->vocab_pre;
    o.name = a->name;
    const double t0 = now_seconds();
    o.progress = progress_bar();
    const convert::ConvertResult r = convert::convert_hf_model(a->dir, a->out, o);
    std::fprintf(stderr, "tern: %s -> %s (%s; %s; tokenizer %s)\n", r.hf_arch.c_str(), r.gguf_arch.c_str(),
                 a->outtype.c_str(), r.detail.c_str(), r.tokenizer.c_str());
    if (r.n_padded > 0) {
      std::fprintf(stderr, "tern: %lld projections zero-padded to the %s block (rows not a multiple of it; see docs/CONVERT.md)\n",
                   static_cast<long long>(r.n_padded), a->outtype.c_str());
    }
    std::fprintf(stderr, "tern: wrote %s (%lld tensors) in %.1f s\n", a->out.c_str(), static_cast<long long>(r.n_tensors),
                 now_seconds() - t0);
    return 0;
  };
}

}  // namespace tern::cli
