// The sessions a TLS connection becomes once its handshake is done, by the
// protocol ALPN chose: HTTP/2 ("h2"), or HTTP/1.1 ("http/1.1" or none).
//
// Threads: as for every session (listener.h): each lives on the io_context
// its connection was accepted on.
#pragma once

#include "http/h1_session.h"
#include "http/h2/h2_session.h"
#include "http/tls/tls_stream.h"

#include <memory>

namespace mirror::http {

std::shared_ptr<Session> make_h1_session(std::shared_ptr<const H1Context> context, TlsStream stream,
                                         std::unique_ptr<ConnectionSlot> slot);

std::shared_ptr<Session> make_h2_session(std::shared_ptr<const H2Context> context, TlsStream stream,
                                         std::unique_ptr<ConnectionSlot> slot);

}  // namespace mirror::http
