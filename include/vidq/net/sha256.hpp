#pragma once
// Incremental SHA-256 (OpenSSL EVP), so a download is hashed as it streams to disk.

#include <cstddef>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace vidq::net {

class sha256 {
 public:
  sha256();  // throws std::bad_alloc when OpenSSL cannot allocate (a bug-class failure)
  sha256(const sha256&) = delete;
  sha256& operator=(const sha256&) = delete;
  ~sha256();

  void update(const void* data, std::size_t n) noexcept;
  // Lowercase hex of the digest of everything updated so far; the hasher is spent afterwards.
  std::string hex_digest();

 private:
  evp_md_ctx_st* ctx_;
};

std::string sha256_hex(std::string_view data);

}  // namespace vidq::net
