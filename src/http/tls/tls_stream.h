// The TLS stream every TLS transport speaks over: OpenSSL through Asio, on a
// Beast TCP stream (which carries the read and write deadlines).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace mirror::http {

using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

}  // namespace mirror::http
