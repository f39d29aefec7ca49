// Edits of a JSON document for sweeps over untrusted inputs (config.json, tokenizer.json,
// tokenizer_config.json): every sampled node replaced by a value of each JSON type, numbers also
// by their neighbours and edge values, object members removed.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tern::testing {

// Every node of root's tree; for arrays and objects longer than 64 (vocabularies, merges), the first three and last
// two members (and their subtrees).
inline std::vector<nlohmann::json::json_pointer> sampled_nodes(const nlohmann::json& root) {
  using json = nlohmann::json;
  std::vector<json::json_pointer> nodes;
  std::function<void(const json&, const json::json_pointer&)> walk = [&](const json& j, const json::json_pointer& at) {
    nodes.push_back(at);
    const size_t n = j.size();
    size_t i = 0;
    auto pick = [&](size_t k) { return n <= 64 || k < 3 || k + 2 >= n; };
    if (j.is_object()) {
      for (const auto& [key, child] : j.items()) {
        if (pick(i++)) walk(child, at / key);
      }
    } else if (j.is_array()) {
      for (size_t k = 0; k < n; ++k) {
        if (pick(k)) walk(j[k], at / k);
      }
    }
  };
  walk(root, json::json_pointer());
  return nodes;
}

// Calls try_one(label, edited) for each sampled node of orig (the root excepted) replaced by a
// value of each JSON type; a number also by 0..3, its neighbours, half, double and edge values;
// an object member also removed. Labels read "/path = value" or "/path removed".
inline void for_each_json_edit(const nlohmann::json& orig,
                               const std::function<void(const std::string&, const nlohmann::json&)>& try_one) {
  using json = nlohmann::json;
  const std::vector<json> values = {nullptr, "x", "", 7, -1, 4294967296LL, 1e30, 0.5, true, json::array(), json::object(),
                                    json::array({"a b", 3}), json::object({{"a", 1}})};
  for (const auto& at : sampled_nodes(orig)) {
    if (at.empty()) continue;
    std::vector<json> vs = values;
    const json& cur = orig[at];
    if (cur.is_number_integer()) {
      const int64_t c = cur.get<int64_t>();
      for (int64_t x : {int64_t{0}, int64_t{1}, int64_t{2}, int64_t{3}, c - 1, c + 1, c / 2, 2 * c, int64_t{65536},
                        int64_t{2147483647}}) {
        if (x != c) vs.emplace_back(x);
      }
    } else if (cur.is_number()) {
      const double c = cur.get<double>();
      for (double x : {0.0, 1.0, 2.0, -c, c / 2, 2 * c, 1e-30}) {
        if (x != c) vs.emplace_back(x);
      }
    }
    for (const json& v : vs) {
      json e = orig;
      e[at] = v;
      try_one(at.to_string() + " = " + v.dump(), e);
    }
    json e = orig;
    json& parent = e[at.parent_pointer()];
    if (parent.is_object()) {
      parent.erase(at.back());
      try_one(at.to_string() + " removed", e);
    }
  }
}

}  // namespace tern::testing
