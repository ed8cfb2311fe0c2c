#include "web/web_assets.h"

#include "web/embedded_assets.h"

#include <algorithm>

namespace mirror::web {

const Asset* find_asset(std::string_view site, std::string_view path) {
  // A handful of entries: a linear scan beats any index.
  auto assets = detail::embedded_assets();
  auto it = std::find_if(assets.begin(), assets.end(),
                         [site, path](const Asset& a) { return a.site == site && a.path == path; });
  return it == assets.end() ? nullptr : &*it;
}

std::span<const Asset> all_assets() {
  return detail::embedded_assets();
}

}  // namespace mirror::web
