#include "http/tls_certificate.h"

#include "support/process.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace mirror::http {
namespace {

namespace fs = std::filesystem;

TEST(TlsIdentity, GeneratesAP256SelfSignedCertificateForLocalhost) {
  auto dir = testing::make_temp_dir("mirror-tls");
  auto id = ensure_tls_identity("", "", dir);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_TRUE(id->generated);
  EXPECT_TRUE(fs::exists(id->cert_file));
  EXPECT_EQ(fs::status(id->key_file).permissions() & fs::perms::others_read, fs::perms::none);
  EXPECT_EQ(id->spki_sha256.size(), 44u);  // base64 of 32 bytes

  auto text = testing::run({"/usr/bin/openssl", "x509", "-in", id->cert_file, "-noout", "-text"});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("prime256v1"), std::string::npos);
  EXPECT_NE(text.out.find("IP Address:127.0.0.1"), std::string::npos);
  EXPECT_NE(text.out.find("DNS:localhost"), std::string::npos);
}

TEST(TlsIdentity, ReusesTheGeneratedCertificate) {
  auto dir = testing::make_temp_dir("mirror-tls");
  auto first = ensure_tls_identity("", "", dir);
  auto second = ensure_tls_identity("", "", dir);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->spki_sha256, second->spki_sha256);
}

TEST(TlsIdentity, SpkiHashMatchesOpenssl) {
  auto dir = testing::make_temp_dir("mirror-tls");
  auto id = ensure_tls_identity("", "", dir);
  ASSERT_TRUE(id);
  // The recipe browsers are given for --ignore-certificate-errors-spki-list.
  auto r = testing::run({"/bin/sh", "-c",
                         "openssl x509 -in " + id->cert_file +
                             " -pubkey -noout | openssl pkey -pubin -outform der | "
                             "openssl dgst -sha256 -binary | base64"});
  ASSERT_EQ(r.status, 0);
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), id->spki_sha256);
}

TEST(TlsIdentity, ConfiguredPairMustExistAndMatch) {
  auto dir = testing::make_temp_dir("mirror-tls");
  auto a = ensure_tls_identity("", "", dir + "/a");
  auto b = ensure_tls_identity("", "", dir + "/b");
  ASSERT_TRUE(a && b);
  auto ok = ensure_tls_identity(a->cert_file, a->key_file, dir);
  ASSERT_TRUE(ok);
  EXPECT_FALSE(ok->generated);
  EXPECT_FALSE(ensure_tls_identity(a->cert_file, b->key_file, dir));
  EXPECT_FALSE(ensure_tls_identity(dir + "/missing.crt", a->key_file, dir));
  EXPECT_FALSE(ensure_tls_identity(a->cert_file, "", dir));
}

TEST(TlsIdentity, GarbageFileIsRejected) {
  auto dir = testing::make_temp_dir("mirror-tls");
  testing::write_file(dir + "/bad.crt", "not a certificate");
  auto a = ensure_tls_identity("", "", dir + "/a");
  ASSERT_TRUE(a);
  auto r = ensure_tls_identity(dir + "/bad.crt", a->key_file, dir);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("bad.crt"), std::string::npos);
}

}  // namespace
}  // namespace mirror::http
