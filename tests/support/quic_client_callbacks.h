// The callbacks every ngtcp2 client of Mirror's tests and benchmarks
// installs alike: ngtcp2_crypto's for keys, packet protection, key updates
// and Retry, and GnuTLS's random bytes for new connection IDs, their
// stateless reset tokens and path challenges. The caller adds its own
// (handshake, stream data, ...). Header-only: the benchmark tools use it
// without linking the test support library.
#pragma once

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <cstddef>
#include <cstdint>

namespace mirror::testing {

inline void quic_random_bytes(std::uint8_t* data, std::size_t size) {
  gnutls_rnd(GNUTLS_RND_RANDOM, data, size);
}

inline ngtcp2_callbacks quic_client_callbacks() {
  ngtcp2_callbacks cb{};
  cb.client_initial = ngtcp2_crypto_client_initial_cb;
  cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb.encrypt = ngtcp2_crypto_encrypt_cb;
  cb.decrypt = ngtcp2_crypto_decrypt_cb;
  cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
  cb.update_key = ngtcp2_crypto_update_key_cb;
  cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb.rand = [](std::uint8_t* dest, std::size_t len, const ngtcp2_rand_ctx*) {
    quic_random_bytes(dest, len);
  };
  cb.get_new_connection_id = [](ngtcp2_conn*, ngtcp2_cid* cid, std::uint8_t* token,
                                std::size_t len, void*) {
    cid->datalen = len;
    quic_random_bytes(cid->data, len);
    quic_random_bytes(token, NGTCP2_STATELESS_RESET_TOKENLEN);
    return 0;
  };
  return cb;
}

}  // namespace mirror::testing
