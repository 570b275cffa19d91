#include "model/io/AtomicFile.h"

#include "model/Error.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace prisma::io {

namespace {

namespace fs = std::filesystem;

// Temporary names are <path>.tmp-<pid>-<thread>-<n>; created with O_EXCL, so a leftover of
// a killed process with a recycled pid (or another thread) only moves us to the next n.
constexpr int kTempNameTries = 64;
constexpr size_t kWriteChunk = size_t(1) << 20;  // well under any single write() limit
constexpr mode_t kNewFileMode = 0666;             // narrowed by the umask, as fopen does

std::string errnoText(int err) { return std::strerror(err); }

// write() until done, retrying on EINTR; false (errno set) on failure.
bool writeAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, std::min(size, kWriteChunk));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      errno = EIO;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

std::string folderOf(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

}  // namespace

void syncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the data files themselves are already on disk
  ::fsync(fd);
  ::close(fd);
}

void writeFileAtomically(const std::string& path,
                         const std::function<void(const std::function<void(const void*, size_t)>&)>& write) {
  const size_t thread = std::hash<std::thread::id>()(std::this_thread::get_id());
  std::string tmp;
  int fd = -1;
  for (int n = 0; n < kTempNameTries && fd < 0; ++n) {
    tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(thread % 100000) + "-" + std::to_string(n);
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kNewFileMode);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) throw Error(path, "", "cannot create: " + errnoText(errno));

  int failure = 0;  // the first errno, once a write failed; later appends are skipped
  try {
    write([&](const void* data, size_t size) {
      if (failure == 0 && size > 0 && !writeAll(fd, static_cast<const char*>(data), size)) failure = errno;
    });
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (failure == 0 && ::fsync(fd) != 0) failure = errno;
  if (::close(fd) != 0 && failure == 0) failure = errno;
  if (failure != 0) {
    ::unlink(tmp.c_str());
    throw Error(path, "", "write failed: " + errnoText(failure) + " (nothing was written under this name)");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error(path, "", "cannot rename into place: " + errnoText(err));
  }
  syncDirectory(folderOf(path));
}

void writeTextAtomically(const std::string& path, const std::string& text) {
  writeFileAtomically(path, [&](const auto& append) { append(text.data(), text.size()); });
}

AppendFile::AppendFile(std::string path, bool truncate) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), kNewFileMode);
  if (fd_ < 0) throw Error(path_, "", "cannot open for appending: " + errnoText(errno));
}

AppendFile::~AppendFile() {
  if (fd_ >= 0) ::close(fd_);
}

void AppendFile::append(const std::string& bytes) {
  const off_t before = ::lseek(fd_, 0, SEEK_END);
  if (writeAll(fd_, bytes.data(), bytes.size()) && ::fdatasync(fd_) == 0) return;
  const int err = errno;
  // Cut the torn tail so the file stays a sequence of whole records.
  if (before >= 0 && ::ftruncate(fd_, before) == 0) ::fdatasync(fd_);
  throw Error(path_, "", "write failed: " + errnoText(err));
}

}  // namespace prisma::io
