#include "vidq/net/tls_identity.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>

namespace vidq::net {
namespace {

namespace fs = std::filesystem;

struct pkey_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct x509_free {
  void operator()(X509* p) const { X509_free(p); }
};
struct bio_free {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct bn_free {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using bn_ptr = std::unique_ptr<BIGNUM, bn_free>;

constexpr long ca_days = 3650;
// 397 days: the longest leaf lifetime that current browsers and macOS accept; curl does not
// care, but the README tells operators they may point any client at the simulator.
constexpr long leaf_days = 397;
constexpr long reuse_margin_s = 86'400;

// Asio's SSL engine reads the thread's OpenSSL error queue after each operation: an error we
// leave behind could be reported by an unrelated handshake later. Every exit path clears it.
struct error_queue_guard {
  ~error_queue_guard() { ERR_clear_error(); }
};

class fd_guard {
 public:
  explicit fd_guard(int fd) : fd_(fd) {}
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error_code(errc::io_error);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Writes `data` to a temporary sibling created with `mode`, then renames it over `path`, so
// a concurrent reader sees the old file or the new one, never a prefix.
result<void> write_file_atomic(const fs::path& path, const std::string& data, mode_t mode) {
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  {
    fd_guard fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (fd.get() < 0) return make_error_code(errc::io_error);
    // open() honours the umask; a key must be exactly 0600 whatever the umask is.
    if (::fchmod(fd.get(), mode) != 0) return make_error_code(errc::io_error);
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return make_error_code(errc::io_error);
      done += static_cast<std::size_t>(n);
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return make_error_code(errc::io_error);
  }
  return {};
}

result<std::string> bio_contents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  if (len < 0 || data == nullptr) return make_error_code(errc::tls_error);
  return std::string(data, static_cast<std::size_t>(len));
}

result<std::string> cert_pem(X509* cert) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return make_error_code(errc::tls_error);
  return bio_contents(bio.get());
}

result<std::string> key_pem(EVP_PKEY* key) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return make_error_code(errc::tls_error);
  return bio_contents(bio.get());
}

x509_ptr load_cert(const fs::path& path) {
  auto text = read_file(path);
  if (!text) return nullptr;
  bio_ptr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  if (!bio) return nullptr;
  return x509_ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

pkey_ptr load_key(const fs::path& path) {
  auto text = read_file(path);
  if (!text) return nullptr;
  bio_ptr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  if (!bio) return nullptr;
  return pkey_ptr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

bool valid_for_a_day(X509* cert) {
  std::time_t horizon = std::time(nullptr) + reuse_margin_s;
  return X509_cmp_current_time(X509_get0_notBefore(cert)) < 0 &&
         X509_cmp_time(X509_get0_notAfter(cert), &horizon) > 0;
}

bool reusable(const tls_identity& id, const fs::path& ca_key_path) {
  auto ca = load_cert(id.ca_cert);
  auto ca_key = load_key(ca_key_path);
  auto leaf = load_cert(id.server_cert);
  auto leaf_key = load_key(id.server_key);
  if (!ca || !ca_key || !leaf || !leaf_key) return false;
  if (!valid_for_a_day(ca.get()) || !valid_for_a_day(leaf.get())) return false;
  if (X509_check_private_key(ca.get(), ca_key.get()) != 1) return false;
  if (X509_check_private_key(leaf.get(), leaf_key.get()) != 1) return false;
  EVP_PKEY* ca_pub = X509_get0_pubkey(ca.get());
  return ca_pub != nullptr && X509_verify(leaf.get(), ca_pub) == 1;
}

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate with a random positive 63-bit serial (RFC 5280 wants unique serials per CA;
// a regenerated leaf must not collide with an old one a client may have cached).
x509_ptr new_cert(EVP_PKEY* subject_key, const char* common_name, long days) {
  x509_ptr cert(X509_new());
  if (!cert) return nullptr;
  bn_ptr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) return nullptr;
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr ||
      // Backdated by an hour so a client with a slightly slow clock accepts it at once.
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(days), 0, nullptr) == nullptr ||
      X509_set_pubkey(cert.get(), subject_key) != 1)
    return nullptr;
  X509_NAME* name = X509_get_subject_name(cert.get());
  const auto* o = reinterpret_cast<const unsigned char*>("vidq");
  const auto* cn = reinterpret_cast<const unsigned char*>(common_name);
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, o, -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) != 1)
    return nullptr;
  return cert;
}

result<void> generate(const tls_identity& id, const fs::path& ca_key_path) {
  pkey_ptr ca_key(EVP_EC_gen("P-256"));
  pkey_ptr leaf_key(EVP_EC_gen("P-256"));
  if (!ca_key || !leaf_key) return make_error_code(errc::tls_error);

  x509_ptr ca = new_cert(ca_key.get(), "vidq simulator local CA", ca_days);
  if (!ca || X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get())) != 1 ||
      !add_ext(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
      !add_ext(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !add_ext(ca.get(), ca.get(), NID_subject_key_identifier, "hash") ||
      X509_sign(ca.get(), ca_key.get(), EVP_sha256()) <= 0)
    return make_error_code(errc::tls_error);

  x509_ptr leaf = new_cert(leaf_key.get(), "localhost", leaf_days);
  if (!leaf || X509_set_issuer_name(leaf.get(), X509_get_subject_name(ca.get())) != 1 ||
      !add_ext(leaf.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_ext(leaf.get(), ca.get(), NID_key_usage, "critical,digitalSignature") ||
      !add_ext(leaf.get(), ca.get(), NID_ext_key_usage, "serverAuth") ||
      !add_ext(leaf.get(), ca.get(), NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost") ||
      !add_ext(leaf.get(), ca.get(), NID_subject_key_identifier, "hash") ||
      !add_ext(leaf.get(), ca.get(), NID_authority_key_identifier, "keyid:always") ||
      X509_sign(leaf.get(), ca_key.get(), EVP_sha256()) <= 0)
    return make_error_code(errc::tls_error);

  auto ca_pem = cert_pem(ca.get());
  auto ca_key_text = key_pem(ca_key.get());
  auto leaf_pem = cert_pem(leaf.get());
  auto leaf_key_text = key_pem(leaf_key.get());
  if (!ca_pem || !ca_key_text || !leaf_pem || !leaf_key_text) return make_error_code(errc::tls_error);

  // Keys first: a reader that sees a new certificate must find its key already in place.
  if (auto r = write_file_atomic(ca_key_path, *ca_key_text, 0600); !r) return r;
  if (auto r = write_file_atomic(id.server_key, *leaf_key_text, 0600); !r) return r;
  if (auto r = write_file_atomic(id.ca_cert, *ca_pem, 0644); !r) return r;
  if (auto r = write_file_atomic(id.server_cert, *leaf_pem, 0644); !r) return r;
  return {};
}

}  // namespace

result<tls_identity> ensure_tls_identity(const fs::path& dir) {
  error_queue_guard clear_errors;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error_code(errc::io_error);

  // Two processes (e.g. parallel tests sharing a dir) must not interleave their writes.
  fd_guard lock(::open((dir / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (lock.get() < 0) return make_error_code(errc::io_error);
  while (::flock(lock.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return make_error_code(errc::io_error);
  }

  tls_identity id{dir / "ca.pem", dir / "server.pem", dir / "server-key.pem"};
  const fs::path ca_key_path = dir / "ca-key.pem";
  if (reusable(id, ca_key_path)) return id;
  if (auto r = generate(id, ca_key_path); !r) return r.error();
  return id;
}

}  // namespace vidq::net
