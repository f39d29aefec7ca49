// The converter's JSON readers check the shapes they rely on, but a field of an unexpected type
// that reaches nlohmann's own accessors (e.g. json::value("type", "") on a number) throws its
// type_error. Public entry points run through this, so that becomes one tern::Error line naming
// the file: "WHERE: a field has an unexpected type or value (...)".
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"

namespace tern::convert {

template <class F>
auto json_errors_named(const std::string& where, F&& f) {
  try {
    return f();
  } catch (const nlohmann::json::exception& e) {
    fail(where, ": a field has an unexpected type or value (", e.what(), ")");
  }
}

}  // namespace tern::convert
