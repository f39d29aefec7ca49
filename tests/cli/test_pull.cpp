// tern pull against a local server with the Hugging Face Hub's URL layout: listing, LFS
// redirects, resume with Range, checksums, gated repositories, hostile file names.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/run_cli.h"
#include "hub/sha256.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using Result = tern::testing::CliResult;
Result run(const std::string& env, const std::string& args) { return tern::testing::run_cli(args, env); }

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path hf_dir() { return fs::path(TERN_FIXTURES_DIR) / "golden" / "hf_bitnet_tiny"; }

class FakeHub : public ::testing::Test {
 protected:
  void SetUp() override {
    big_.resize(300000);
    for (size_t i = 0; i < big_.size(); ++i) big_[i] = static_cast<char>((i * 131) % 251);
    dir_ = fs::temp_directory_path() / ("tern_pull_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    srv_.Get(R"(/api/models/([^/]+)/([^/]+)/tree/main)", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string repo = req.matches[1].str() + "/" + req.matches[2].str();
      if (repo == "owner/gated" && req.get_header_value("Authorization") != "Bearer secret") {
        res.status = 401;
        return;
      }
      if (repo == "owner/checkpoint") {  // a Hugging Face checkpoint: tests/fixtures/golden/hf_bitnet_tiny
        json files = json::array();
        for (const auto& e : fs::directory_iterator(hf_dir())) {
          const std::string body = slurp(e.path());
          files.push_back({{"type", "file"}, {"path", e.path().filename().string()}, {"size", body.size()},
                           {"lfs", {{"oid", tern::sha256_hex(body)}, {"size", body.size()}}}});
        }
        res.set_content(files.dump(), "application/json");
        return;
      }
      if (repo == "owner/missing") {
        res.status = 404;
        return;
      }
      json files = json::array();
      files.push_back({{"type", "file"}, {"path", "config.json"}, {"size", 2}});
      files.push_back({{"type", "directory"}, {"path", "sub"}});
      files.push_back({{"type", "file"}, {"path", "sub/notes.txt"}, {"size", 5}});
      const std::string sha = repo == "owner/corrupt" ? std::string(64, 'a') : tern::sha256_hex(big_);
      files.push_back({{"type", "file"}, {"path", "model-i2_s.gguf"}, {"size", big_.size()},
                       {"lfs", {{"oid", sha}, {"size", big_.size()}}}});
      if (repo == "owner/evil") files.push_back({{"type", "file"}, {"path", "../escape.txt"}, {"size", 1}});
      res.set_content(files.dump(), "application/json");
    });
    srv_.Get(R"(/([^/]+)/([^/]+)/resolve/main/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string repo = req.matches[1].str() + "/" + req.matches[2].str();
      const std::string path = req.matches[3].str();
      if (repo == "owner/gated" && req.get_header_value("Authorization") != "Bearer secret") {
        res.status = 401;
        return;
      }
      if (path == "model-i2_s.gguf") {  // LFS files redirect to another host (a CDN), as the Hub does
        res.status = 302;
        res.set_header("Location", "http://localhost:" + std::to_string(port_) + "/cdn/blob");
        return;
      }
      if (repo == "owner/checkpoint") return res.set_content(slurp(hf_dir() / path), "application/octet-stream");
      if (path == "config.json") return res.set_content("{}", "application/json");
      if (path == "sub/notes.txt") return res.set_content("notes", "text/plain");
      res.status = 404;
    });
    srv_.Get("/cdn/blob", [this](const httplib::Request& req, httplib::Response& res) {
      if (req.has_header("Range")) ++range_requests_;
      if (!req.get_header_value("Authorization").empty()) ++leaked_auth_;
      res.set_content(big_, "application/octet-stream");  // httplib answers Range with 206
    });
    port_ = srv_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    th_ = std::thread([this] { srv_.listen_after_bind(); });
    while (!srv_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  void TearDown() override {
    srv_.stop();
    th_.join();
    fs::remove_all(dir_);
  }
  std::string env(const std::string& token = "") const {
    return "HF_ENDPOINT=http://127.0.0.1:" + std::to_string(port_) + (token.empty() ? " HF_TOKEN=" : " HF_TOKEN=" + token);
  }
  httplib::Server srv_;
  std::thread th_;
  int port_ = 0;
  std::string big_;
  fs::path dir_;
  std::atomic<int> range_requests_{0}, leaked_auth_{0};
};

TEST_F(FakeHub, DownloadsGgufFilesByDefaultAndVerifiesChecksum) {
  Result r = run(env(), "pull owner/repo --dir " + dir_.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(slurp(dir_ / "model-i2_s.gguf"), big_);
  EXPECT_FALSE(fs::exists(dir_ / "config.json"));  // GGUF repos: only the GGUF by default
  EXPECT_NE(r.out.find("sha256 verified"), std::string::npos) << r.out;
  // A second pull keeps the verified file without downloading again.
  Result again = run(env(), "pull owner/repo --dir " + dir_.string());
  ASSERT_EQ(again.code, 0) << again.out;
}

TEST_F(FakeHub, IncludeGlobsSelectFilesInSubfolders) {
  Result r = run(env(), "pull owner/repo --no-convert --include '*.txt' --include config.json --dir " + dir_.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(slurp(dir_ / "sub" / "notes.txt"), "notes");
  EXPECT_EQ(slurp(dir_ / "config.json"), "{}");
  EXPECT_FALSE(fs::exists(dir_ / "model-i2_s.gguf"));
}

TEST_F(FakeHub, ResumesAPartialDownloadWithARangeRequest) {
  fs::create_directories(dir_);
  {
    std::ofstream part(dir_ / "model-i2_s.gguf.incomplete", std::ios::binary);
    part.write(big_.data(), 123457);
  }
  Result r = run(env(), "pull owner/repo --dir " + dir_.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(range_requests_.load(), 1);
  EXPECT_EQ(slurp(dir_ / "model-i2_s.gguf"), big_);
  EXPECT_FALSE(fs::exists(dir_ / "model-i2_s.gguf.incomplete"));
}

TEST_F(FakeHub, ChecksumMismatchIsAnErrorAndLeavesNoFile) {
  Result r = run(env(), "pull owner/corrupt --dir " + dir_.string());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("corrupt"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "model-i2_s.gguf"));
  EXPECT_FALSE(fs::exists(dir_ / "model-i2_s.gguf.incomplete"));
}

TEST_F(FakeHub, GatedRepositoriesNeedHfTokenWhichNeverLeavesTheHost) {
  Result denied = run(env(), "pull owner/gated --dir " + dir_.string());
  EXPECT_EQ(denied.code, 1) << denied.out;
  EXPECT_NE(denied.out.find("HF_TOKEN"), std::string::npos) << denied.out;
  Result ok = run(env("secret"), "pull owner/gated --dir " + dir_.string());
  ASSERT_EQ(ok.code, 0) << ok.out;
  EXPECT_EQ(slurp(dir_ / "model-i2_s.gguf"), big_);
  EXPECT_EQ(leaked_auth_.load(), 0) << "the token was sent to the redirect's host";
}

TEST_F(FakeHub, ASafetensorsCheckpointIsDownloadedAndConverted) {
  Result r = run(env(), "pull owner/checkpoint --dir " + dir_.string());
  ASSERT_EQ(r.code, 0) << r.out;
  const fs::path gguf = dir_ / "model-i2_s.gguf";
  ASSERT_TRUE(fs::exists(gguf)) << r.out;
  // The same weights as the golden I2_S file the reference engine's layout was checked against.
  Result a = run("", "logits -m " + gguf.string() + " --tokens 1,2,3");
  Result b = run("", "logits -m " + (fs::path(TERN_FIXTURES_DIR) / "golden" / "bitnet_tiny_i2_s.gguf").string() + " --tokens 1,2,3");
  ASSERT_EQ(a.code, 0) << a.out;
  EXPECT_EQ(a.out, b.out);
}

TEST_F(FakeHub, BadInputIsRejectedClearly) {
  Result r = run(env(), "pull owner/missing --dir " + dir_.string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("not found"), std::string::npos) << r.out;
  r = run(env(), "pull owner/evil --dir " + (dir_ / "inner").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("unsafe file name"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "escape.txt"));
  r = run(env(), "pull not-a-repo-id");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("owner/name"), std::string::npos) << r.out;
  r = run("HF_ENDPOINT=http://127.0.0.1:1", "pull owner/repo --dir " + dir_.string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("HF_ENDPOINT"), std::string::npos) << r.out;
}

}  // namespace
