// ensure_tls_identity: creates a CA + loopback leaf, reuses a valid set, repairs a broken one.
#include "support/temp_dir.hpp"
#include "vidq/net/tls_identity.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct x509_free {
  void operator()(X509* p) const { X509_free(p); }
};
using x509_ptr = std::unique_ptr<X509, x509_free>;

x509_ptr load(const fs::path& p) {
  const std::string text = slurp(p);
  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
  x509_ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

// Verifies the leaf against the CA as a TLS client would, for an IP or a host name.
bool chain_verifies(const vidq::net::tls_identity& id, const char* ip, const char* host) {
  x509_ptr ca = load(id.ca_cert);
  x509_ptr leaf = load(id.server_cert);
  if (!ca || !leaf) return false;
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf.get(), nullptr);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  if (ip != nullptr) X509_VERIFY_PARAM_set1_ip_asc(param, ip);
  if (host != nullptr) X509_VERIFY_PARAM_set1_host(param, host, 0);
  const bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  ERR_clear_error();
  return ok;
}

TEST(SimTlsIdentity, CreatesVerifiableLoopbackChain) {
  vidq::test::temp_dir dir;
  auto id = vidq::net::ensure_tls_identity(dir.path() / "tls");
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_EQ(id->ca_cert, dir.path() / "tls" / "ca.pem");
  EXPECT_TRUE(fs::exists(dir.path() / "tls" / "ca-key.pem"));
  EXPECT_TRUE(chain_verifies(*id, "127.0.0.1", nullptr));
  EXPECT_TRUE(chain_verifies(*id, nullptr, "localhost"));
  EXPECT_FALSE(chain_verifies(*id, "10.0.0.1", nullptr));
  EXPECT_FALSE(chain_verifies(*id, nullptr, "example.com"));
  for (const char* key : {"ca-key.pem", "server-key.pem"}) {
    const auto perms = fs::status(dir.path() / "tls" / key).permissions();
    EXPECT_EQ(perms & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write) << key;
  }
}

TEST(SimTlsIdentity, ReusesValidFilesAndRepairsBrokenOnes) {
  vidq::test::temp_dir dir;
  auto first = vidq::net::ensure_tls_identity(dir.path());
  ASSERT_TRUE(first);
  const std::string ca1 = slurp(first->ca_cert);
  const std::string leaf1 = slurp(first->server_cert);

  auto second = vidq::net::ensure_tls_identity(dir.path());
  ASSERT_TRUE(second);
  EXPECT_EQ(slurp(second->ca_cert), ca1);
  EXPECT_EQ(slurp(second->server_cert), leaf1);

  std::ofstream(first->server_key, std::ios::trunc) << "not a key";
  auto third = vidq::net::ensure_tls_identity(dir.path());
  ASSERT_TRUE(third);
  EXPECT_NE(slurp(third->server_cert), leaf1);
  EXPECT_NE(slurp(third->ca_cert), ca1);
  EXPECT_TRUE(chain_verifies(*third, "127.0.0.1", nullptr));
}

TEST(SimTlsIdentity, UnwritableDirectoryIsIoError) {
  vidq::test::temp_dir dir;
  std::ofstream(dir.path() / "file") << "x";
  auto id = vidq::net::ensure_tls_identity(dir.path() / "file" / "tls");
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error(), vidq::make_error_code(vidq::errc::io_error));
}

}  // namespace
