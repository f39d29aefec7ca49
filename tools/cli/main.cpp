// tern: one binary for running, inspecting and making BitNet b1.58 models.
#include <cstdio>
#include <exception>
#include <map>

#include "cli/common.h"
#include "core/error.h"

int main(int argc, char** argv) {
  using namespace tern::cli;
  CLI::App app{"tern: fast, exact inference for 1.58-bit (ternary) BitNet models on CPUs", "tern"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every subcommand");
  std::map<CLI::App*, RunFn> runs;
  auto reg = [&](RunFn (*add)(CLI::App&)) {
    const size_t before = app.get_subcommands({}).size();
    RunFn fn = add(app);
    runs[app.get_subcommands({})[before]] = std::move(fn);
  };
  reg(add_run);
  reg(add_dummy);
  reg(add_info);
  reg(add_logits);
  reg(add_tokenize);
  reg(add_bench);
  reg(add_ppl);
  reg(add_pull);
  reg(add_serve);
  reg(add_convert);
  reg(add_quantize);

  std::vector<std::string> args = normalize_args(argc, argv);
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [cmd, fn] : runs) {
      if (cmd->parsed()) return fn();
    }
  } catch (const tern::Error& e) {
    std::fprintf(stderr, "tern: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "tern: error: out of memory (try a smaller --ctx-size or model)\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tern: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
