#include "api/stream_routes.h"

#include "ingest/rtp_ingest.h"
#include "ingest/stream_id.h"

#include <set>

namespace mirror::api {
namespace {

core::Error not_found(std::string_view name) {
  return core::Error(core::ErrorCode::kNotFound, "no such stream",
                     {{"name", std::string(name.substr(0, 64))}});
}

// {"name": "...", "sdp": "..."} or {"name": "...", "ssrc": 305419896 | "0x12345678"}.
void declare_stream(const http::ExchangePtr& ex, ingest::RtpIngest* rtp) {
  auto bad = [&](std::string message) {
    ex->respond_error(core::Error(core::ErrorCode::kInvalidInput, std::move(message)));
  };
  const auto content_type = ex->request().headers.get("Content-Type").value_or("");
  if (!content_type.starts_with("application/json")) {
    bad("Content-Type must be application/json");
    return;
  }
  auto body = nlohmann::json::parse(ex->request().body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    bad("body is not a JSON object");
    return;
  }
  if (!body.contains("name") || !body["name"].is_string()) {
    bad("\"name\" (string) is required");
    return;
  }
  const std::string name = body["name"];
  if (!ingest::is_valid_stream_name(name)) {
    bad("stream name must be 1-64 characters of A-Z a-z 0-9 _ -");
    return;
  }
  if (rtp == nullptr) {
    ex->respond_error(core::Error(core::ErrorCode::kServiceUnavailable,
                                  "RTP ingest is disabled (ingestion.rtp.enabled)"));
    return;
  }
  if (body.contains("sdp")) {
    if (!body["sdp"].is_string()) {
      bad("\"sdp\" must be a string");
      return;
    }
    // Answered from the RTP thread: this event-loop thread does not wait.
    rtp->declare(name, body["sdp"].get<std::string>(), [ex, name](core::Result<std::vector<int>> ports) {
      if (!ports) {
        ex->respond_error(ports.error());
        return;
      }
      ex->respond(http::json_response(
          201, nlohmann::json{{"name", name}, {"protocol", "rtp"}, {"ports", *ports}}.dump()));
    });
    return;
  }
  if (body.contains("ssrc")) {
    std::uint32_t ssrc = 0;
    const auto& v = body["ssrc"];
    if (v.is_number_unsigned() && v.get<std::uint64_t>() <= 0xffffffffu) {
      ssrc = static_cast<std::uint32_t>(v.get<std::uint64_t>());
    } else if (v.is_string()) {
      const std::string text = v;
      char* end = nullptr;
      const unsigned long long parsed = std::strtoull(text.c_str(), &end, 0);
      if (text.empty() || end == nullptr || *end != '\0' || parsed > 0xffffffffULL) {
        bad("\"ssrc\" must be a 32-bit number");
        return;
      }
      ssrc = static_cast<std::uint32_t>(parsed);
    } else {
      bad("\"ssrc\" must be a 32-bit number");
      return;
    }
    rtp->bind_ssrc(ssrc, name, [ex, name, ssrc](core::Status st) {
      if (!st) {
        ex->respond_error(st.error());
        return;
      }
      ex->respond(http::json_response(201, nlohmann::json{{"name", name}, {"ssrc", ssrc}}.dump()));
    });
    return;
  }
  bad("give \"sdp\" to declare a raw RTP stream or \"ssrc\" to name an MPEG-TS source");
}

// Another node's stream as the registry knows it.
nlohmann::json remote_json(const state::StreamRecord& r) {
  auto j = r.to_json();
  j["state"] = r.status;
  j.erase("status");
  j["remote"] = true;
  return j;
}

}  // namespace

void register_stream_routes(http::Router& router, ingest::IngestService& ingest, state::StreamRegistry& registry,
                            StreamDetails details) {
  ingest::StreamTable& streams = ingest.streams();
  router.post("/api/v1/streams",
              [&ingest](const http::ExchangePtr& ex) { declare_stream(ex, ingest.rtp()); });

  router.get("/api/v1/streams", [&streams, &registry](const http::ExchangePtr& ex) {
    nlohmann::json list = nlohmann::json::array();
    std::set<std::string> here;
    for (const auto& s : streams.list()) {
      auto j = s->to_json(false);
      j["node"] = registry.node_id();
      here.insert(s->name());
      list.push_back(std::move(j));
    }
    for (const auto& r : registry.list()) {
      if (!here.contains(r.name)) list.push_back(remote_json(r));
    }
    auto res = http::json_response(200, nlohmann::json{{"streams", std::move(list)}}.dump());
    res.headers.set("Cache-Control", "no-store");
    ex->respond(std::move(res));
  });

  router.get("/api/v1/streams/{name}", [&streams, &registry, details](const http::ExchangePtr& ex) {
    const auto name = std::string(ex->request().path_param("name"));
    const bool valid = ingest::is_valid_stream_name(name);
    auto s = valid ? streams.find(name) : nullptr;
    if (!s) {
      auto r = valid ? registry.find(name) : std::nullopt;
      if (!r || r->node == registry.node_id()) {
        ex->respond_error(not_found(name));
        return;
      }
      auto res = http::json_response(200, remote_json(*r).dump());
      res.headers.set("Cache-Control", "no-store");
      ex->respond(std::move(res));
      return;
    }
    auto doc = s->to_json(true);
    doc["node"] = registry.node_id();
    if (details) details(name, doc);
    auto res = http::json_response(200, doc.dump());
    res.headers.set("Cache-Control", "no-store");
    ex->respond(std::move(res));
  });

  router.del("/api/v1/streams/{name}", [&streams, &registry](const http::ExchangePtr& ex) {
    const auto name = std::string(ex->request().path_param("name"));
    if (!ingest::is_valid_stream_name(name)) {
      ex->respond_error(not_found(name));
      return;
    }
    auto st = streams.end_stream(name);
    if (st) {
      ex->respond(http::json_response(200, nlohmann::json{{"name", name}, {"state", "ended"}}.dump()));
      return;
    }
    if (st.error().code != core::ErrorCode::kNotFound) {
      ex->respond_error(st.error());
      return;
    }
    // Not here: the node that holds it is asked over the cluster.
    const auto owner = registry.find(name);
    if (auto asked = registry.request_end(name); !asked) {
      ex->respond_error(asked.error());
      return;
    }
    ex->respond(http::json_response(
        202, nlohmann::json{{"name", name}, {"state", "ending"}, {"node", owner ? owner->node : ""}}.dump()));
  });

  router.get("/api/v1/nodes", [&registry](const http::ExchangePtr& ex) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& n : registry.nodes()) {
      auto j = n.to_json();
      j["self"] = n.id == registry.node_id() && list.empty();
      list.push_back(std::move(j));
    }
    auto res = http::json_response(200, nlohmann::json{{"node", registry.node_id()}, {"nodes", std::move(list)}}.dump());
    res.headers.set("Cache-Control", "no-store");
    ex->respond(std::move(res));
  });
}

}  // namespace mirror::api
