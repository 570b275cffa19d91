#include "model/train/RunLock.h"

#include "model/Error.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/file.h>
#include <unistd.h>

namespace prisma::train {

namespace {

namespace fs = std::filesystem;

constexpr mode_t kLockFileMode = 0666;
constexpr size_t kPidTextMax = 32;

// The pid the holder wrote into the file, for the message; "" when unreadable.
std::string holderPid(int fd) {
  char buf[kPidTextMax] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "";
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

RunFolderLock::RunFolderLock(const std::string& runDir) : path_((fs::path(runDir) / kLockFile).string()) {
  std::error_code ec;
  fs::create_directories(runDir, ec);
  if (ec) throw Error(runDir, "", "cannot create the run folder: " + ec.message());
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kLockFileMode);
  if (fd_ < 0) throw Error(path_, "", std::string("cannot open the run folder's lock file: ") + std::strerror(errno));
  int rc;
  do {
    rc = ::flock(fd_, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    const std::string pid = holderPid(fd_);
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw Error(runDir, "", "another training process" + (pid.empty() ? std::string() : " (pid " + pid + ")") +
                                  " is using this run folder; wait for it to finish, or choose another folder");
    throw Error(path_, "", std::string("cannot lock the run folder: ") + std::strerror(err));
  }
  // Only for the message a second trainer prints; the lock is the flock, not this text.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] const ssize_t written = ::pwrite(fd_, pid.data(), pid.size(), 0);
  }
}

RunFolderLock::~RunFolderLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace prisma::train
