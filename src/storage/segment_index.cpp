#include "storage/segment_index.h"

#include <sqlite3.h>

#include <fmt/format.h>

#include <algorithm>

namespace mirror::storage {
namespace {

constexpr int kSchemaVersion = 1;
constexpr std::size_t kMaxSessionPlaylist = 64 * 1024;

// Statements are prepared once, in these slots.
enum Slot : int {
  kOpenSession,
  kEndSession,
  kDescribeSession,
  kSessions,
  kAdd,
  kSetPlaces,
  kTouch,
  kRemove,
  kWindow,
  kLruLocal,
  kLruArchived,
  kOlderThan,
  kLocalBytes,
  kCount,
  kFind,
  kEachLocal,
  kUnarchived,
  kMarkArchived,
  kIdleArchived,
  kUnarchivedCount,
  kAddRemoteInit,
  kRemoveRemoteInit,
  kSlots
};

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS segments(
  stream TEXT NOT NULL,
  rendition TEXT NOT NULL,
  session INTEGER NOT NULL,
  msn INTEGER NOT NULL,
  dsn INTEGER NOT NULL,
  init INTEGER NOT NULL,
  pdt_ms INTEGER NOT NULL,
  duration_us INTEGER NOT NULL,
  size INTEGER NOT NULL,
  places INTEGER NOT NULL,
  accessed_ms INTEGER NOT NULL,
  PRIMARY KEY(stream, rendition, session, msn)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS segments_by_time ON segments(stream, rendition, pdt_ms);
CREATE INDEX IF NOT EXISTS segments_by_age ON segments(pdt_ms);
CREATE INDEX IF NOT EXISTS local_by_use ON segments(accessed_ms) WHERE places & 1;
CREATE INDEX IF NOT EXISTS unarchived_by_time ON segments(pdt_ms) WHERE places = 1;
CREATE TABLE IF NOT EXISTS remote_inits(
  stream TEXT NOT NULL,
  session INTEGER NOT NULL,
  object_key TEXT NOT NULL,
  PRIMARY KEY(stream, session, object_key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions(
  stream TEXT NOT NULL,
  id INTEGER NOT NULL,
  started_ms INTEGER NOT NULL,
  ended_ms INTEGER,
  playlist TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(stream, id)) WITHOUT ROWID;
)sql";

constexpr const char* kColumns =
    "stream, rendition, session, msn, dsn, init, pdt_ms, duration_us, size, places, accessed_ms";

// A name as Mirror makes them (streams, renditions): what a row must hold.
bool plausible_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

bool plausible_record(const SegmentRecord& r) {
  return plausible_name(r.key.stream) && plausible_name(r.key.rendition) && r.key.session >= 0 &&
         r.key.media_sequence >= 0 && r.discontinuity_sequence >= 0 && r.init_version >= 0 &&
         r.program_date_time_ms > 0 && r.duration_us > 0 && r.duration_us <= 3'600'000'000LL &&
         r.size_bytes >= 0 && r.places <= (kLocal | kRemote);
}

std::string_view text_column(sqlite3_stmt* stmt, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
  return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt, i))) : std::string_view();
}

void bind_text(sqlite3_stmt* stmt, int i, std::string_view s) {
  sqlite3_bind_text(stmt, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
}

// A segment's key: the first four parameters of every statement about one segment.
constexpr const char* kWhereKey = "stream = ?1 AND rendition = ?2 AND session = ?3 AND msn = ?4";

void bind_key(sqlite3_stmt* stmt, const SegmentKey& key) {
  bind_text(stmt, 1, key.stream);
  bind_text(stmt, 2, key.rendition);
  sqlite3_bind_int64(stmt, 3, key.session);
  sqlite3_bind_int64(stmt, 4, key.media_sequence);
}

// Resets a statement when it goes out of scope, whatever happened.
struct Reset {
  sqlite3_stmt* stmt;
  ~Reset() {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
  }
};

}  // namespace

core::Result<std::unique_ptr<SegmentIndex>> SegmentIndex::open(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  const int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return core::Error(core::ErrorCode::kServiceUnavailable, "cannot open the segment index: " + why,
                       {{"path", path}});
  }
  std::unique_ptr<SegmentIndex> index(new SegmentIndex(db));
  sqlite3_busy_timeout(db, 2000);
  sqlite3_extended_result_codes(db, 1);
  const char* setup = read_only ? "PRAGMA query_only=ON;"
                                : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;";
  if (auto s = index->exec(setup); !s) return s.error();
  // A file that is not a database, or a damaged one, says so here.
  sqlite3_stmt* check = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &check, nullptr) != SQLITE_OK) {
    return index->error("the segment index is not readable");
  }
  std::string verdict;
  if (sqlite3_step(check) == SQLITE_ROW) verdict = std::string(text_column(check, 0));
  sqlite3_finalize(check);
  if (verdict != "ok") {
    return core::Error(core::ErrorCode::kInternal, "the segment index is damaged",
                       {{"path", path}, {"check", verdict.empty() ? sqlite3_errmsg(db) : verdict}});
  }
  if (!read_only) {
    if (auto s = index->exec(kSchema); !s) return s.error();
    if (auto s = index->exec(fmt::format("PRAGMA user_version={}", kSchemaVersion).c_str()); !s) return s.error();
  }
  return index;
}

bool SegmentIndex::plausible(const SegmentRecord& record) { return plausible_record(record); }

SegmentIndex::SegmentIndex(sqlite3* db) : db_(db), statements_(kSlots, nullptr) {}

SegmentIndex::~SegmentIndex() {
  for (auto* s : statements_) sqlite3_finalize(s);
  sqlite3_close(db_);
}

core::Error SegmentIndex::error(std::string_view what) const {
  return core::Error(core::ErrorCode::kServiceUnavailable, fmt::format("{}: {}", what, sqlite3_errmsg(db_)),
                     {{"sqlite_code", sqlite3_extended_errcode(db_)}});
}

core::Status SegmentIndex::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string why = message ? message : "unknown";
    sqlite3_free(message);
    return core::Error(core::ErrorCode::kServiceUnavailable, "segment index: " + why);
  }
  return core::Ok{};
}

core::Result<sqlite3_stmt*> SegmentIndex::prepared(int slot, const char* sql) {
  auto& stmt = statements_[static_cast<std::size_t>(slot)];
  if (!stmt && sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
    return error("segment index: cannot prepare a statement");
  }
  return stmt;
}

core::Status SegmentIndex::open_session(std::string_view stream, std::int64_t id, std::int64_t started_ms) {
  if (!plausible_name(stream) || id <= 0 || started_ms <= 0) {
    return core::Error(core::ErrorCode::kInvalidInput, "recording session with impossible values",
                       {{"stream", stream}, {"session", id}});
  }
  auto stmt = prepared(kOpenSession, "INSERT OR IGNORE INTO sessions(stream, id, started_ms) VALUES(?1, ?2, ?3)");
  if (!stmt) return stmt.error();
  Reset reset{*stmt};
  bind_text(*stmt, 1, stream);
  sqlite3_bind_int64(*stmt, 2, id);
  sqlite3_bind_int64(*stmt, 3, started_ms);
  if (sqlite3_step(*stmt) != SQLITE_DONE) return error("segment index: cannot begin a session");
  return core::Ok{};
}

core::Status SegmentIndex::describe_session(std::string_view stream, std::int64_t id, std::string_view playlist) {
  if (playlist.size() > kMaxSessionPlaylist || !playlist.starts_with("#EXTM3U")) {
    return core::Error(core::ErrorCode::kInvalidInput, "a session's playlist must be a playlist of at most 64 KiB",
                       {{"stream", stream}, {"session", id}});
  }
  auto stmt = prepared(kDescribeSession, "UPDATE sessions SET playlist = ?3 WHERE stream = ?1 AND id = ?2");
  if (!stmt) return stmt.error();
  Reset reset{*stmt};
  bind_text(*stmt, 1, stream);
  sqlite3_bind_int64(*stmt, 2, id);
  bind_text(*stmt, 3, playlist);
  if (sqlite3_step(*stmt) != SQLITE_DONE) return error("segment index: cannot describe a session");
  return core::Ok{};
}

core::Result<std::int64_t> SegmentIndex::close_open_sessions() {
  if (auto s = exec("UPDATE sessions SET ended_ms = MAX(started_ms, COALESCE((SELECT MAX(pdt_ms + duration_us / 1000) "
                    "FROM segments WHERE segments.stream = sessions.stream AND segments.session = sessions.id), "
                    "started_ms)) WHERE ended_ms IS NULL");
      !s) {
    return s.error();
  }
  return static_cast<std::int64_t>(sqlite3_changes(db_));
}

core::Status SegmentIndex::drop_sessions_ended_before(std::int64_t cutoff_ms) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, "DELETE FROM sessions WHERE ended_ms < ?1", -1, &stmt, nullptr) != SQLITE_OK) {
    return error("segment index: cannot prepare a statement");
  }
  sqlite3_bind_int64(stmt, 1, cutoff_ms);
  const int rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return error("segment index: cannot drop old sessions");
  return core::Ok{};
}

core::Status SegmentIndex::end_session(std::string_view stream, std::int64_t id, std::int64_t ended_ms) {
  auto stmt = prepared(kEndSession, "UPDATE sessions SET ended_ms = ?3 WHERE stream = ?1 AND id = ?2");
  if (!stmt) return stmt.error();
  Reset reset{*stmt};
  bind_text(*stmt, 1, stream);
  sqlite3_bind_int64(*stmt, 2, id);
  sqlite3_bind_int64(*stmt, 3, ended_ms);
  if (sqlite3_step(*stmt) != SQLITE_DONE) return error("segment index: cannot end a session");
  return core::Ok{};
}

core::Result<std::vector<RecordingSession>> SegmentIndex::sessions(std::string_view stream) {
  auto stmt = prepared(kSessions,
                       "SELECT id, started_ms, ended_ms, playlist FROM sessions WHERE stream = ?1 ORDER BY id");
  if (!stmt) return stmt.error();
  Reset reset{*stmt};
  bind_text(*stmt, 1, stream);
  std::vector<RecordingSession> out;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    RecordingSession s;
    s.id = sqlite3_column_int64(*stmt, 0);
    s.started_ms = sqlite3_column_int64(*stmt, 1);
    if (sqlite3_column_type(*stmt, 2) != SQLITE_NULL) s.ended_ms = sqlite3_column_int64(*stmt, 2);
    s.playlist = std::string(text_column(*stmt, 3));
    if (s.id <= 0 || s.started_ms <= 0 || (s.ended_ms && *s.ended_ms < s.started_ms) ||
        s.playlist.size() > kMaxSessionPlaylist || (!s.playlist.empty() && !s.playlist.starts_with("#EXTM3U"))) {
      ++rejected_rows_;
      continue;
    }
    out.push_back(s);
  }
  if (rc != SQLITE_DONE) return error("segment index: cannot read sessions");
  return out;
}

core::Status SegmentIndex::add(std::span<const SegmentRecord> segments) {
  for (const auto& r : segments) {
    if (!plausible_record(r)) {
      return core::Error(core::ErrorCode::kInvalidInput, "segment record with impossible values",
                         {{"stream", r.key.stream}, {"rendition", r.key.rendition}, {"msn", r.key.media_sequence}});
    }
  }
  auto stmt = prepared(kAdd, "INSERT OR REPLACE INTO segments VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  if (!stmt) return stmt.error();
  if (auto s = exec("BEGIN IMMEDIATE"); !s) return s;
  for (const auto& r : segments) {
    Reset reset{*stmt};
    bind_key(*stmt, r.key);
    sqlite3_bind_int64(*stmt, 5, r.discontinuity_sequence);
    sqlite3_bind_int64(*stmt, 6, r.init_version);
    sqlite3_bind_int64(*stmt, 7, r.program_date_time_ms);
    sqlite3_bind_int64(*stmt, 8, r.duration_us);
    sqlite3_bind_int64(*stmt, 9, r.size_bytes);
    sqlite3_bind_int(*stmt, 10, r.places);
    sqlite3_bind_int64(*stmt, 11, r.accessed_ms ? r.accessed_ms : r.program_date_time_ms);
    if (sqlite3_step(*stmt) != SQLITE_DONE) {
      auto e = error("segment index: cannot add a segment");
      exec("ROLLBACK");
      return e;
    }
  }
  return exec("COMMIT");
}

core::Status SegmentIndex::set_places(const SegmentKey& key, std::uint8_t places) {
  static const std::string sql = fmt::format("UPDATE segments SET places = ?5 WHERE {}", kWhereKey);
  auto stmt = prepared(kSetPlaces, sql.c_str());
  if (!stmt) return stmt.error();
  Reset reset{*stmt};
  bind_key(*stmt, key);
  sqlite3_bind_int(*stmt, 5, places);
  if (sqlite3_step(*stmt) != SQLITE_DONE) return error("segment index: cannot record where a segment is");
  return core::Ok{};
}

namespace {

// Runs `stmt` once per key inside one transaction; `bind_more` binds the
// parameters after the key's four.
template <class BindMore>
core::Status for_each_key(sqlite3* db, sqlite3_stmt* stmt, std::span<const SegmentKey> keys, BindMore bind_more,
                          const char* what) {
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return core::Error(core::ErrorCode::kServiceUnavailable, fmt::format("{}: {}", what, sqlite3_errmsg(db)));
  }
  for (const auto& key : keys) {
    Reset reset{stmt};
    bind_key(stmt, key);
    bind_more(stmt);
    if (sqlite3_step(stmt) != SQLITE_DONE) {
      auto e = core::Error(core::ErrorCode::kServiceUnavailable, fmt::format("{}: {}", what, sqlite3_errmsg(db)));
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return e;
    }
  }
  if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return core::Error(core::ErrorCode::kServiceUnavailable, fmt::format("{}: {}", what, sqlite3_errmsg(db)));
  }
  return core::Ok{};
}

}  // namespace

core::Status SegmentIndex::touch(std::span<const SegmentKey> keys, std::int64_t now_ms) {
  static const std::string sql =
      fmt::format("UPDATE segments SET accessed_ms = MAX(accessed_ms, ?5) WHERE {}", kWhereKey);
  auto stmt = prepared(kTouch, sql.c_str());
  if (!stmt) return stmt.error();
  return for_each_key(db_, *stmt, keys, [now_ms](sqlite3_stmt* s) { sqlite3_bind_int64(s, 5, now_ms); },
                      "segment index: cannot mark segments read");
}

core::Status SegmentIndex::remove(std::span<const SegmentKey> keys) {
  static const std::string sql = fmt::format("DELETE FROM segments WHERE {}", kWhereKey);
  auto stmt = prepared(kRemove, sql.c_str());
  if (!stmt) return stmt.error();
  return for_each_key(db_, *stmt, keys, [](sqlite3_stmt*) {}, "segment index: cannot remove segments");
}

core::Result<std::vector<SegmentRecord>> SegmentIndex::records(sqlite3_stmt* stmt, std::size_t limit) {
  std::vector<SegmentRecord> out;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    SegmentRecord r;
    r.key.stream = std::string(text_column(stmt, 0));
    r.key.rendition = std::string(text_column(stmt, 1));
    r.key.session = sqlite3_column_int64(stmt, 2);
    r.key.media_sequence = sqlite3_column_int64(stmt, 3);
    r.discontinuity_sequence = sqlite3_column_int64(stmt, 4);
    r.init_version = sqlite3_column_int64(stmt, 5);
    r.program_date_time_ms = sqlite3_column_int64(stmt, 6);
    r.duration_us = sqlite3_column_int64(stmt, 7);
    r.size_bytes = sqlite3_column_int64(stmt, 8);
    const auto places = sqlite3_column_int64(stmt, 9);
    r.places = places >= 0 && places <= (kLocal | kRemote) ? static_cast<std::uint8_t>(places) : 0xff;
    r.accessed_ms = sqlite3_column_int64(stmt, 10);
    if (!plausible_record(r)) {
      ++rejected_rows_;
      continue;
    }
    out.push_back(std::move(r));
    if (out.size() >= limit) return out;
  }
  if (rc != SQLITE_DONE) return error("segment index: cannot read segments");
  return out;
}

core::Result<std::vector<SegmentRecord>> SegmentIndex::window(std::string_view stream, std::string_view rendition,
                                                              std::int64_t from_ms, std::int64_t to_ms,
                                                              std::size_t limit) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM segments WHERE stream = ?1 AND rendition = ?2 AND pdt_ms >= ?3 AND pdt_ms < ?4 "
      "ORDER BY pdt_ms, session, msn",
      kColumns);
  auto stmt = prepared(kWindow, sql.c_str());
  if (!stmt) return stmt.error();
  Reset reset{*stmt};
  bind_text(*stmt, 1, stream);
  bind_text(*stmt, 2, rendition);
  sqlite3_bind_int64(*stmt, 3, from_ms);
  sqlite3_bind_int64(*stmt, 4, to_ms);
  return records(*stmt, limit);
}

core::Result<std::vector<SegmentRecord>> SegmentIndex::least_recently_used_local(std::size_t limit,
                                                                                 bool archived_only) {
  static const std::string any =
      fmt::format("SELECT {} FROM segments WHERE places & 1 ORDER BY accessed_ms LIMIT ?1", kColumns);
  static const std::string archived = fmt::format(
      "SELECT {} FROM segments WHERE places & 1 AND places & 2 ORDER BY accessed_ms LIMIT ?1", kColumns);
  auto stmt = archived_only ? prepared(kLruArchived, archived.c_str()) : prepared(kLruLocal, any.c_str());
  if (!stmt) return stmt.error();
  Reset reset{*stmt};
  sqlite3_bind_int64(*stmt, 1, static_cast<std::int64_t>(limit));
  return records(*stmt, limit);
}

core::Result<std::vector<SegmentRecord>> SegmentIndex::older_than(std::int64_t cutoff_ms, std::size_t limit) {
  static const std::string sql =
      fmt::format("SELECT {} FROM segments WHERE pdt_ms < ?1 ORDER BY pdt_ms LIMIT ?2", kColumns);
  auto stmt = prepared(kOlderThan, sql.c_str());
  if (!stmt) return stmt.error();
  Reset reset{*stmt};
  sqlite3_bind_int64(*stmt, 1, cutoff_ms);
  sqlite3_bind_int64(*stmt, 2, static_cast<std::int64_t>(limit));
  return records(*stmt, limit);
}

core::Result<std::vector<SegmentRecord>> SegmentIndex::unarchived(std::size_t limit) {
  static const std::string sql =
      fmt::format("SELECT {} FROM segments WHERE places = 1 ORDER BY pdt_ms LIMIT ?1", kColumns);
  auto stmt = prepared(kUnarchived, sql.c_str());
  if (!stmt) return stmt.error();
  Reset reset{*stmt};
  sqlite3_bind_int64(*stmt, 1, static_cast<std::int64_t>(limit));
  return records(*stmt, limit);
}

core::Status SegmentIndex::mark_archived(std::span<const SegmentKey> keys) {
  static const std::string sql = fmt::format("UPDATE segments SET places = places | 2 WHERE {}", kWhereKey);
  auto stmt = prepared(kMarkArchived, sql.c_str());
  if (!stmt) return stmt.error();
  return for_each_key(db_, *stmt, keys, [](sqlite3_stmt*) {}, "segment index: cannot mark segments archived");
}

core::Result<std::vector<SegmentRecord>> SegmentIndex::idle_archived(std::int64_t cutoff_ms, std::size_t limit) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM segments WHERE places & 1 AND places & 2 AND accessed_ms < ?1 ORDER BY accessed_ms LIMIT ?2",
      kColumns);
  auto stmt = prepared(kIdleArchived, sql.c_str());
  if (!stmt) return stmt.error();
  Reset reset{*stmt};
  sqlite3_bind_int64(*stmt, 1, cutoff_ms);
  sqlite3_bind_int64(*stmt, 2, static_cast<std::int64_t>(limit));
  return records(*stmt, limit);
}

core::Result<std::int64_t> SegmentIndex::unarchived_count() {
  auto stmt = prepared(kUnarchivedCount, "SELECT COUNT(*) FROM segments WHERE places = 1");
  if (!stmt) return stmt.error();
  Reset reset{*stmt};
  if (sqlite3_step(*stmt) != SQLITE_ROW) return error("segment index: cannot count unarchived segments");
  return sqlite3_column_int64(*stmt, 0);
}

core::Status SegmentIndex::add_remote_init(std::string_view stream, std::int64_t session, std::string_view object_key) {
  auto stmt = prepared(kAddRemoteInit, "INSERT OR IGNORE INTO remote_inits VALUES(?1, ?2, ?3)");
  if (!stmt) return stmt.error();
  Reset reset{*stmt};
  bind_text(*stmt, 1, stream);
  sqlite3_bind_int64(*stmt, 2, session);
  bind_text(*stmt, 3, object_key);
  if (sqlite3_step(*stmt) != SQLITE_DONE) return error("segment index: cannot record an archived init segment");
  return core::Ok{};
}

core::Status SegmentIndex::remove_remote_inits(std::string_view stream, std::int64_t session,
                                               std::span<const std::string> object_keys) {
  auto stmt = prepared(kRemoveRemoteInit,
                       "DELETE FROM remote_inits WHERE stream = ?1 AND session = ?2 AND object_key = ?3");
  if (!stmt) return stmt.error();
  if (auto s = exec("BEGIN IMMEDIATE"); !s) return s;
  for (const auto& k : object_keys) {
    Reset reset{*stmt};
    bind_text(*stmt, 1, stream);
    sqlite3_bind_int64(*stmt, 2, session);
    bind_text(*stmt, 3, k);
    if (sqlite3_step(*stmt) != SQLITE_DONE) {
      auto e = error("segment index: cannot forget archived init segments");
      exec("ROLLBACK");
      return e;
    }
  }
  return exec("COMMIT");
}

core::Result<std::vector<SegmentIndex::RemoteInits>> SegmentIndex::orphaned_remote_inits() {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "SELECT stream, session, object_key FROM remote_inits r WHERE NOT EXISTS "
                         "(SELECT 1 FROM sessions s WHERE s.stream = r.stream AND s.id = r.session) "
                         "ORDER BY stream, session LIMIT 10000",
                         -1, &stmt, nullptr) != SQLITE_OK) {
    return error("segment index: cannot prepare a statement");
  }
  std::vector<RemoteInits> out;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const std::string stream(text_column(stmt, 0));
    const std::int64_t session = sqlite3_column_int64(stmt, 1);
    std::string key(text_column(stmt, 2));
    if (!plausible_name(stream) || key.empty() || key.size() > 1024) {
      ++rejected_rows_;
      continue;
    }
    if (out.empty() || out.back().stream != stream || out.back().session != session) out.push_back({stream, session, {}});
    out.back().object_keys.push_back(std::move(key));
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return error("segment index: cannot read archived init segments");
  return out;
}

core::Result<std::optional<SegmentRecord>> SegmentIndex::find(const SegmentKey& key) {
  static const std::string sql = fmt::format("SELECT {} FROM segments WHERE {}", kColumns, kWhereKey);
  auto stmt = prepared(kFind, sql.c_str());
  if (!stmt) return stmt.error();
  Reset reset{*stmt};
  bind_key(*stmt, key);
  auto rows = records(*stmt, 1);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<SegmentRecord>();
  return std::optional<SegmentRecord>(std::move(rows->front()));
}

core::Status SegmentIndex::each_local(const std::function<void(const SegmentRecord&)>& visit) {
  static const std::string sql = fmt::format("SELECT {} FROM segments WHERE places & 1", kColumns);
  auto stmt = prepared(kEachLocal, sql.c_str());
  if (!stmt) return stmt.error();
  Reset reset{*stmt};
  // In pages, so that memory stays bounded on a large index.
  for (;;) {
    auto page = records(*stmt, 4096);
    if (!page) return page.error();
    for (const auto& r : *page) visit(r);
    if (page->size() < 4096) return core::Ok{};
  }
}

core::Result<std::int64_t> SegmentIndex::local_bytes() {
  auto stmt = prepared(kLocalBytes, "SELECT COALESCE(SUM(size), 0) FROM segments WHERE places & 1");
  if (!stmt) return stmt.error();
  Reset reset{*stmt};
  if (sqlite3_step(*stmt) != SQLITE_ROW) return error("segment index: cannot sum the local bytes");
  return sqlite3_column_int64(*stmt, 0);
}

core::Result<std::int64_t> SegmentIndex::count() {
  auto stmt = prepared(kCount, "SELECT COUNT(*) FROM segments");
  if (!stmt) return stmt.error();
  Reset reset{*stmt};
  if (sqlite3_step(*stmt) != SQLITE_ROW) return error("segment index: cannot count segments");
  return sqlite3_column_int64(*stmt, 0);
}

}  // namespace mirror::storage
