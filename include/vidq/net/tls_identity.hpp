#pragma once
// A local certificate authority and a server certificate for loopback, so that the simulator
// (and tests) speak real, verified TLS: clients keep peer verification on and trust only
// `ca_cert` (STYLE.md §9: TLS verification always on).

#include "vidq/core/error.hpp"

#include <filesystem>

namespace vidq::net {

struct tls_identity {
  std::filesystem::path ca_cert;      // dir/ca.pem: what a vidq config's [tls] ca_file names
  std::filesystem::path server_cert;  // dir/server.pem: leaf for 127.0.0.1 and localhost
  std::filesystem::path server_key;   // dir/server-key.pem (mode 0600)
};

// Creates in `dir` (or reuses when present and valid for >1 day) a self-signed CA (ca.pem,
// ca-key.pem) and a server certificate + key for IP 127.0.0.1 and DNS localhost signed by
// that CA (server.pem, server-key.pem), with the OpenSSL 3 C API (EVP_PKEY EC P-256, X509v3
// SAN, basicConstraints, keyUsage). Key files are written 0600.
//
// Reuse requires every file to parse, both certificates to stay valid for more than one more
// day, the leaf to be signed by the CA, and each key to match its certificate; otherwise all
// four files are regenerated. Concurrent callers (processes) on the same directory serialize
// on an advisory lock file `dir/.lock`, and files are replaced by rename, so a caller never
// reads a half-written file.
//
// Errors: errc::io_error (cannot create `dir`, lock, write or rename a file),
//         errc::tls_error (OpenSSL failed to generate, sign or encode).
result<tls_identity> ensure_tls_identity(const std::filesystem::path& dir);

}  // namespace vidq::net
