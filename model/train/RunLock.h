#pragma once
// One trainer per run folder. Two `prisma train --out D` started together would both pass
// the "already holds a run" check and then interleave their logs and checkpoints; so the
// trainer holds an exclusive flock() on D/.lock for the run's whole life, and a second one
// fails at once with a message naming the folder and the holder's pid. The lock belongs to
// the open file, so a killed trainer releases it with its last file descriptor (no stale
// lock to clean up), and the file itself stays (removing it would race a new holder).

#include <string>

namespace prisma::train {

class RunFolderLock {
public:
  static constexpr const char* kLockFile = ".lock";

  // Creates `runDir` if needed and takes the lock; throws prisma::Error naming the folder
  // when another process (or another RunFolderLock in this one) holds it.
  explicit RunFolderLock(const std::string& runDir);
  ~RunFolderLock();
  RunFolderLock(const RunFolderLock&) = delete;
  RunFolderLock& operator=(const RunFolderLock&) = delete;

  const std::string& path() const { return path_; }

private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace prisma::train
