# Varnish in front of Mirror: an edge for LL-HLS (Varnish 7.1, Debian 12).
#
#   varnishd -F -a :6081 -f /etc/varnish/mirror.vcl -s malloc,256m
#
# Set the backend to Mirror's delivery port (server.http_port). Mirror says
# what may be cached and for how long (Cache-Control), and this file keeps
# to it:
#   - parts, segments and init segments: immutable, a year;
#   - a playlist answered to a blocking request (_HLS_msn/_HLS_part): three
#     target durations, since its URL names that version;
#   - a plain playlist: not kept (no-cache);
#   - errors (a part not produced yet): not kept (no-store).
# Identical requests that arrive while one is on its way to Mirror wait for
# it and are all answered the moment it returns (Varnish's waiting list), so
# a thousand viewers blocked on the next part cost Mirror one request. A
# part requested through its preload hint is streamed to every waiter as
# Mirror writes it.
vcl 4.1;

import std;

backend mirror {
  .host = "127.0.0.1";
  .port = "8000";
  # A blocking playlist request or a preload-hinted part is held by Mirror
  # until the part exists (at most a few target durations).
  .first_byte_timeout = 15s;
  .between_bytes_timeout = 15s;
  .connect_timeout = 1s;
}

sub vcl_recv {
  if (req.method != "GET" && req.method != "HEAD") {
    return (pass);
  }
  # Only the delivery routes are cacheable; anything else goes through.
  if (req.url !~ "^/streams/") {
    return (pass);
  }
  # One cache object per playlist version, whatever the query's order.
  set req.url = std.querysort(req.url);
  # Players send no credentials for playback; cookies would split the cache.
  unset req.http.Cookie;
  return (hash);
}

sub vcl_backend_response {
  if (beresp.http.Cache-Control ~ "(no-store|no-cache)") {
    # Not kept, and not remembered as uncacheable either: the same URL (a
    # part that did not exist a moment ago) must coalesce again as soon as
    # it does. A zero-TTL object still answers the requests waiting on it.
    set beresp.ttl = 0s;
    set beresp.grace = 0s;
    return (deliver);
  }
  # Playlists are never served stale; media never changes.
  if (bereq.url ~ "\.m3u8") {
    set beresp.grace = 0s;
  }
  # Stream bodies to every waiter as Mirror writes them (preload hints).
  set beresp.do_stream = true;
  return (deliver);
}

sub vcl_deliver {
  # Tell players and operators whether the edge answered by itself.
  if (obj.hits > 0) {
    set resp.http.X-Cache = "HIT";
  } else {
    set resp.http.X-Cache = "MISS";
  }
}
