// The tern binary end to end: dummy -> info / tokenize / run / logits, and the one-line errors a
// user gets for bad input (never a crash).
#include <gtest/gtest.h>

#include "common/run_cli.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <cmath>

namespace {

namespace fs = std::filesystem;

using Result = tern::testing::CliResult;
Result run(const std::string& args) { return tern::testing::run_cli(args); }

class Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("tern_cli_test_" + std::to_string(getpid()));
    fs::create_directories(dir_);
    model_ = (dir_ / "tiny.gguf").string();
    Result r = run("dummy --layout tiny --type i2_s --seed 5 -o " + model_);
    if (r.code != 0) setup_error_ = "tern dummy failed: " + r.out;
  }
  // A failed suite set-up must fail every test (gtest would only skip them).
  void SetUp() override {
    if (!setup_error_.empty()) FAIL() << setup_error_;
  }
  static inline std::string setup_error_;
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static inline fs::path dir_;
  static inline std::string model_;
};

TEST_F(Cli, InfoShowsMetadataAndTensors) {
  Result r = run("info " + model_);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("bitnet-b1.58"), std::string::npos);
  EXPECT_NE(r.out.find("blk.0.attn_q.weight"), std::string::npos);
  EXPECT_NE(r.out.find("i2_s"), std::string::npos);
  EXPECT_NE(r.out.find("relu2"), std::string::npos);
  EXPECT_NE(r.out.find("general.file_type"), std::string::npos);  // 40 = MOSTLY_I2_S, as bitnet.cpp writes
}

TEST_F(Cli, RunGeneratesAndReportsSpeed) {
  Result r = run("run -m " + model_ + " -p hello -n 8 -temp 0 -t 2");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("tok/s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("generation 8 tokens"), std::string::npos) << r.out;
  // greedy is deterministic
  Result r2 = run("run -m " + model_ + " -p hello -n 8 -temp 0 -t 1 -b 1");  // other threads, 1-token prompt batches
  auto text = [](const std::string& s) { return s.substr(0, s.find("tern: load")); };
  EXPECT_EQ(text(r.out), text(r2.out));
}

TEST_F(Cli, BenchReportsBatchedDecodingWithParallel) {
  Result r = run("bench -m " + model_ + " -p 16 -n 4 -r 1 -t 1 --np 3 -b 8 -o json");
  ASSERT_EQ(r.code, 0) << r.out;
  // pp16, tg4 and the batched "tg4 x3" over 3 x 4 tokens, each with a positive rate
  for (const char* test : {"\"pp16\"", "\"tg4\"", "\"tg4 x3\""}) EXPECT_NE(r.out.find(test), std::string::npos) << test << "\n" << r.out;
  EXPECT_NE(r.out.find("\"n_parallel\": 3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"n_tokens\": 12"), std::string::npos) << r.out;
  Result bad = run("bench -m " + model_ + " --np 0");
  EXPECT_NE(bad.code, 0);
}

// -d: every test starts from a context of that many tokens (decode past 512 keys takes the
// split-attention path), and says so in its name and JSON.
TEST_F(Cli, BenchMeasuresAtDepth) {
  Result r = run("bench -m " + model_ + " -p 8 -n 4 -d 600 -r 1 -t 2 -o json");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* test : {"\"pp8 @ d600\"", "\"tg4 @ d600\""}) EXPECT_NE(r.out.find(test), std::string::npos) << test << "\n" << r.out;
  EXPECT_NE(r.out.find("\"n_depth\": 600"), std::string::npos) << r.out;
  Result bad = run("bench -m " + model_ + " -d -1");
  EXPECT_NE(bad.code, 0);
}

// TERN_PROFILE=1: the forward pass's time by phase on stderr at exit, prompts and decoding
// apart; without it, nothing.
TEST_F(Cli, ProfilePrintsTheForwardPassPhasesOnlyWhenAsked) {
  Result on = tern::testing::run_cli("bench -m " + model_ + " -p 8 -n 2 -r 1 -t 2", "TERN_PROFILE=1");
  ASSERT_EQ(on.code, 0) << on.out;
  for (const char* s : {"profile: forward passes of 2+ tokens", "profile: forward passes of 1 token", "gate_up", "attention", "output"}) {
    EXPECT_NE(on.out.find(s), std::string::npos) << s << "\n" << on.out;
  }
  Result off = run("bench -m " + model_ + " -p 8 -n 2 -r 1 -t 2");
  ASSERT_EQ(off.code, 0) << off.out;
  EXPECT_EQ(off.out.find("profile:"), std::string::npos) << off.out;
}

// --cache-type: f16 runs (and gives text), anything else is rejected naming the flag.
TEST_F(Cli, CacheTypeF16RunsAndUnknownTypesAreRejected) {
  Result r = run("run -m " + model_ + " -p hello -n 4 -temp 0 -t 1 --cache-type f16");
  ASSERT_EQ(r.code, 0) << r.out;
  Result b = run("bench -m " + model_ + " -p 8 -n 2 -r 1 -t 1 --cache-type f16");
  ASSERT_EQ(b.code, 0) << b.out;
  EXPECT_NE(b.out.find("f16 kv cache"), std::string::npos) << b.out;
  Result bad = run("run -m " + model_ + " -p hello -n 4 --cache-type q4");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("--cache-type"), std::string::npos) << bad.out;
}

TEST_F(Cli, LayoutFlagChoosesTheWeightLayoutWithIdenticalResults) {
  Result tr = run("bench -m " + model_ + " -p 8 -n 2 -r 1 -t 1 --layout tr16");
  Result tn = run("bench -m " + model_ + " -p 8 -n 2 -r 1 -t 1 --layout tn16");
  ASSERT_EQ(tr.code, 0) << tr.out;
  ASSERT_EQ(tn.code, 0) << tn.out;
  EXPECT_EQ(tr.out.find("(as tn16)"), std::string::npos) << tr.out;
  EXPECT_NE(tn.out.find("(as tn16)"), std::string::npos) << tn.out;
  Result a = run("logits -m " + model_ + " --tokens 1,2,3,4 --batch --layout tr16");
  Result b = run("logits -m " + model_ + " --tokens 1,2,3,4 --batch --layout tn16");
  ASSERT_EQ(a.code, 0) << a.out;
  EXPECT_EQ(a.out, b.out);
  Result bad = run("run -m " + model_ + " -p hi -n 1 --layout tq1");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("--layout"), std::string::npos) << bad.out;
}

TEST_F(Cli, UnreadableTlConfigIsAClearError) {
  Result r = run("run -m " + model_ + " -p hi -n 1 --tl-config " + (dir_ / "no-such-kernel_config.ini").string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("--tl-config"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cannot read"), std::string::npos) << r.out;
}

TEST_F(Cli, LogitsBatchEqualsSequentialAndHasOneLinePerToken) {
  Result a = run("logits -m " + model_ + " --tokens 1,2,3,4 --batch");
  Result b = run("logits -m " + model_ + " --tokens 1,2,3,4");
  ASSERT_EQ(a.code, 0) << a.out;
  ASSERT_EQ(b.code, 0) << b.out;
  std::istringstream sa(a.out), sb(b.out);
  std::string la, lb;
  int lines = 0;
  while (std::getline(sa, la) && std::getline(sb, lb)) {
    ++lines;
    std::istringstream xa(la), xb(lb);
    float va, vb;
    int n = 0;
    while (xa >> va && xb >> vb) {
      EXPECT_NEAR(va, vb, 1e-3f * (1.0f + std::fabs(va)));
      ++n;
    }
    EXPECT_EQ(n, 512);
  }
  EXPECT_EQ(lines, 4);
}

TEST_F(Cli, TokenizePrintsTheTokenizersIdsAndPieces) {
  auto f = tern::gguf::File::open(model_);
  auto tok = tern::Tokenizer::from_gguf(*f);
  const std::string text = "hello world, 12345";
  std::string want;
  for (int32_t id : tok->encode(text, tok->add_bos_default(), true)) {
    if (!want.empty()) want += ',';
    want += std::to_string(id);
  }
  Result r = run("tokenize -m " + model_ + " -p '" + text + "' --ids");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, want + "\n");
  // The table form names every piece; the pieces concatenate back to the text.
  Result t = run("tokenize -m " + model_ + " -p '" + text + "' --no-bos");
  ASSERT_EQ(t.code, 0) << t.out;
  std::string joined;
  std::istringstream lines(t.out);
  for (std::string line; std::getline(lines, line);) {
    const size_t a = line.find("-> '");
    if (a != std::string::npos) joined += line.substr(a + 4, line.rfind('\'') - a - 4);
  }
  EXPECT_EQ(joined, text);
}

TEST_F(Cli, ErrorsAreOneLineAndNonZero) {
  struct Case {
    std::string args, expect;
  };
  const std::string m = model_;
  const Case cases[] = {
      {"run -m /nonexistent/model.gguf -p hi", "cannot open"},
      {"run -m " + m + " -p hi -temp -1", "--temp"},
      {"run -m " + m + " -p hi --top-p 0", "--top-p"},
      {"run -m " + m + " -p hi -t 5000", "threads"},
      {"run -m " + m + " -p hi --isa sparc", "--isa"},
      {"run -m " + m + " -p hi --ffn-act gelu", "--ffn-act"},
      {"run -m " + m + " -p 'a b c d e f g h i j k l m n o p' -c 4", "context"},
      {"run -m " + m + " -p hi -n 50 -c 8 -temp 0 --ignore-eos", ""},
      {"logits -m " + m + " --tokens 1,x", "--tokens"},
      {"logits -m " + m + " --tokens 99999", "vocabulary"},
      {"dummy --layout nope -o " + (dir_ / "x.gguf").string(), "unknown layout"},
      {"info " + (dir_ / "missing.gguf").string(), "cannot open"},
  };
  for (const auto& c : cases) {
    Result r = run(c.args);
    if (c.expect.empty()) {
      // generation that reaches the end of the context stops cleanly
      EXPECT_EQ(r.code, 0) << c.args << "\n" << r.out;
      continue;
    }
    EXPECT_NE(r.code, 0) << c.args << "\n" << r.out;
    EXPECT_LT(r.code, 128) << "crashed: " << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.expect), std::string::npos) << c.args << "\n" << r.out;
  }
}

TEST_F(Cli, DummyPadsRowsThatDoNotFitTheBlockExactly) {
  // The 3B layout's 3200 / 8640 are not multiples of 256 (TQ) or 128 (I2_S, 8640): rows are
  // zero-padded in the file, and every type gives the same model.
  std::string first;
  for (const char* type : {"i2_s", "tq2_0", "tq1_0"}) {
    const std::string p = (dir_ / (std::string("3b-") + type + ".gguf")).string();
    ASSERT_EQ(run(std::string("dummy --layout 3B --layers 1 --vocab 1000 --type ") + type + " -o " + p).code, 0);
    Result r = run("logits -m " + p + " --tokens 1,2,3");
    ASSERT_EQ(r.code, 0) << r.out;
    if (first.empty()) first = r.out;
    EXPECT_EQ(r.out, first) << type;
  }
}

TEST_F(Cli, ForeignAndTruncatedFilesAreRejectedClearly) {
  const std::string junk = (dir_ / "junk.gguf").string();
  std::ofstream(junk) << "this is not a gguf file";
  Result r = run("run -m " + junk + " -p hi");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("junk.gguf"), std::string::npos) << r.out;
  // truncated copy of a real model
  const std::string cut = (dir_ / "cut.gguf").string();
  fs::copy_file(model_, cut, fs::copy_options::overwrite_existing);
  fs::resize_file(cut, fs::file_size(cut) / 2);
  r = run("run -m " + cut + " -p hi");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("cut.gguf"), std::string::npos) << r.out;
}

}  // namespace

#include <fcntl.h>
#include <poll.h>
#include <signal.h>

#include <chrono>
#include <thread>

namespace {

// A child process with its stdin and merged stdout/stderr on pipes.
struct Child {
  pid_t pid = -1;
  int in = -1, out = -1;
  std::string seen;
  Child(const std::vector<std::string>& argv) {
    int pin[2], pout[2];
    if (pipe(pin) != 0 || pipe(pout) != 0) return;
    pid = fork();
    if (pid == 0) {
      dup2(pin[0], 0);
      dup2(pout[1], 1);
      dup2(pout[1], 2);
      close(pin[1]);
      close(pout[0]);
      std::vector<char*> a;
      for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      execv(a[0], a.data());
      _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    in = pin[1];
    out = pout[0];
  }
  void send(const std::string& s) { (void)!write(in, s.data(), s.size()); }
  // Reads until `needle` appears (after `from`) or the timeout passes.
  bool wait_for(const std::string& needle, size_t from, int ms) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (seen.find(needle, from) == std::string::npos) {
      const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count());
      if (left <= 0) return false;
      pollfd p{out, POLLIN, 0};
      if (poll(&p, 1, left) <= 0) continue;
      char buf[4096];
      const ssize_t n = read(out, buf, sizeof buf);
      if (n <= 0) return seen.find(needle, from) != std::string::npos;
      seen.append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  int finish() {
    close(in);
    while (wait_for("\x01never\x01", 0, 200)) {
    }
    int st = 0;
    waitpid(pid, &st, 0);
    close(out);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
};

TEST_F(Cli, ChatCtrlCStopsTheAnswerNotTheProgram) {
  // A deep model generates slowly enough to be interrupted mid-answer.
  const std::string deep = (dir_ / "deep.gguf").string();
  ASSERT_EQ(run("dummy --layout tiny --layers 48 --seed 2 -o " + deep).code, 0);
  Child c({TERN_CLI_PATH, "run", "-m", deep, "-cnv", "-n", "-1", "-c", "4096", "--ignore-eos", "-t", "1", "-temp", "0"});
  ASSERT_GT(c.pid, 0);
  ASSERT_TRUE(c.wait_for("Ctrl-C stops an answer", 0, 10000)) << c.seen;
  c.send("tell me a long story\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  kill(c.pid, SIGINT);
  ASSERT_TRUE(c.wait_for("[answer stopped]", 0, 10000)) << c.seen.substr(0, 2000);
  // Still alive: a second question gets an answer (bounded this time by the context).
  const size_t mark = c.seen.size();
  c.send("and another\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(c.pid, SIGINT);
  ASSERT_TRUE(c.wait_for("[answer stopped]", mark, 10000)) << c.seen.substr(mark, 2000);
  EXPECT_EQ(c.finish(), 0) << c.seen.substr(0, 2000);  // end of input exits cleanly
}

}  // namespace
