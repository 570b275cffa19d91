#include "model/io/AtomicFile.h"

#include "model/Error.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <unistd.h>

namespace prisma::io {

void writeFileAtomically(const std::string& path,
                         const std::function<void(const std::function<void(const void*, size_t)>&)>& write) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw Error(path, "", std::string("cannot create: ") + std::strerror(errno));
  bool ok = true;
  try {
    write([&](const void* data, size_t size) {
      if (ok && size > 0 && std::fwrite(data, 1, size, f) != size) ok = false;
    });
  } catch (...) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  ok = ok && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  const int saved = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    throw Error(path, "", std::string("write failed: ") + std::strerror(saved));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw Error(path, "", "cannot rename into place: " + ec.message());
  }
}

void writeTextAtomically(const std::string& path, const std::string& text) {
  writeFileAtomically(path, [&](const auto& append) { append(text.data(), text.size()); });
}

}  // namespace prisma::io
