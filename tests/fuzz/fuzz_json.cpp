// libFuzzer target for the project's one JSON reader (model/core/Json.h) on its own, so the
// fuzzer spends every execution on it: any text must parse within the depth and size
// limits or throw prisma::Error naming the source, and a parsed value must survive what
// callers do with it (copy, dump, compare). Anything else aborts. Run with
// -dict=tests/fuzz/json.dict and a -max_len large enough for deep nesting.

#include "model/Error.h"
#include "model/core/Json.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const bool strict : {false, true}) {
    prisma::JsonLimits limits;
    limits.reject_duplicate_keys = strict;
    try {
      const nlohmann::json j = prisma::parseJson(text, "fuzz.json", limits);
      const nlohmann::json copy = j;
      if (copy != j) std::abort();
      (void)copy.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } catch (const prisma::Error&) {
    } catch (const std::exception& e) {
      std::fprintf(stderr, "parseJson threw something other than prisma::Error: %s\n", e.what());
      std::abort();
    }
  }
  return 0;
}
