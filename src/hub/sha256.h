// SHA-256 (OpenSSL's libcrypto) of memory or of a file, as lowercase hex.
#pragma once

#include <string>
#include <string_view>

namespace tern {

std::string sha256_hex(std::string_view data);
// Throws tern::Error when the file cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace tern
