// Runs the tern binary (TERN_CLI_PATH) with arguments through the shell and returns its exit
// code and its stdout and stderr together. For end-to-end tests of the CLI.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace tern::testing {

struct CliResult {
  int code;         // exit status, or 128 + signal when it crashed
  std::string out;  // stdout and stderr
};

// `env` is prefixed to the command line (e.g. "HF_TOKEN=x"); `args` follow the binary.
inline CliResult run_cli(const std::string& args, const std::string& env = "") {
  const std::string cmd = env + (env.empty() ? "" : " ") + std::string(TERN_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, ""};
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), out};
}

}  // namespace tern::testing
